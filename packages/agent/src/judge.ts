/**
 * What a server would hold against a client certificate, judged when it is loaded the way
 * clientcert's middleware judges a leaf under its default options: the key policy on the leaf and
 * the chain sent with it, the clientAuth purpose (extended key usage and key usage), and the
 * certificate's structure. The core's own checks do the judging (no second parser here).
 *
 * Each finding is a warning, not a refusal: a server with other settings (a laxer `verifyPolicy`,
 * `purpose: 'any'`) may still accept the certificate. What can never work (a key that does not
 * match the certificate, an unreadable file) the loader refuses itself; validity is its own check
 * (`allowExpired`).
 */
import { type ClientCertificate, checkCertificate, checkKeyPolicy } from '@clientcert/core';

/** The core's failure messages name the certificate `certificate at depth N ...`, N from the leaf. */
const AT_DEPTH = /^certificate at depth (\d+) (.*)$/s;

const PURPOSE_FIX: Readonly<Record<string, string>> = {
  wrong_purpose:
    'has an extended key usage without clientAuth: TLS servers refuse it as a client certificate (OpenSSL during the ' +
    "handshake, clientcert's middleware with client_certificate_rejected) unless they accept any purpose; issue it with " +
    'extendedKeyUsage clientAuth',
  bad_key_usage:
    'has a key usage that does not allow client authentication: TLS servers refuse it as a client certificate ' +
    "(clientcert's middleware with client_certificate_rejected); issue it with keyUsage digitalSignature",
};

/** The warnings a server with clientcert's default options would give rise to, each naming the fix. */
export function serverObjections(
  leaf: ClientCertificate,
  chain: readonly ClientCertificate[],
  origin: string,
  now: Date,
): string[] {
  const path = [leaf, ...chain];
  const name = (depth: number): string => {
    const certificate = path[depth] ?? leaf;
    const which = depth === 0 ? 'the certificate' : `certificate ${depth} of the chain`;
    return `${which} in ${origin} (${certificate.subject.rfc4514 || 'empty subject'})`;
  };
  const found: string[] = [];
  // Judged at a moment the certificate is valid: an expired one is the loader's concern (allowExpired).
  const valid = now >= leaf.notBefore && now <= leaf.notAfter;
  const own = checkCertificate(leaf.x509, { at: valid ? now : leaf.notBefore, purpose: 'clientAuth' });
  if (!own.ok) {
    const problem = AT_DEPTH.exec(own.message)?.[2] ?? own.message;
    found.push(
      `${name(0)} ${PURPOSE_FIX[own.code] ?? `${problem}: clientcert's middleware refuses it as client_certificate_malformed; issue it again`}`,
    );
  }
  const keys = checkKeyPolicy(path.map((certificate) => certificate.x509));
  if (!keys.ok) {
    const [, depth = '0', problem = keys.message] = AT_DEPTH.exec(keys.message) ?? [];
    found.push(
      `${name(Number(depth))} ${problem}: a server with clientcert's default verifyPolicy refuses it ` +
        '(client_certificate_untrusted); issue it with an RSA key of 2048 to 8192 bits or an EC key on P-256, P-384 ' +
        'or P-521 (or relax verifyPolicy on a server you run)',
    );
  }
  return found;
}
