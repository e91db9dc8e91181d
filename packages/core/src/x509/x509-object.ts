/**
 * node:crypto's `X509Certificate`, kept at the edge: the decision path reads certificates from
 * their DER (facts.ts), and Node's object is made only for a caller that asks for it (a handler
 * reading `cert.x509`, a public API that returns one) or for a signature OpenSSL must judge itself
 * (signature.ts). Making one costs ~100 µs and keeps ~10 KB of OpenSSL memory per certificate.
 */
import { X509Certificate } from 'node:crypto';
import { malformed } from './der.js';

/**
 * A copy of `bytes` in memory of its own. `Buffer.from` may slice a shared pool, whose other
 * slices anyone holding one can reach through `.buffer`; the bytes a certificate is derived from
 * must not be reachable that way.
 */
export function privateCopy(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

/** `new X509Certificate` with OpenSSL's error reported as `certificate_malformed`. */
export function x509FromDer(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (error) {
    throw malformed('not a valid X.509 certificate', error);
  }
}

/** Getters that Node's X509Certificate has on some versions only (22.10+). */
const DATE_GETTERS = (['validFromDate', 'validToDate'] as const).filter(
  (name) => Object.getOwnPropertyDescriptor(X509Certificate.prototype, name)?.get !== undefined,
);
const issuerCertificateGetter = Object.getOwnPropertyDescriptor(X509Certificate.prototype, 'issuerCertificate')?.get;
const lockedX509s = new WeakSet<X509Certificate>();

/**
 * Makes Node's certificate object safe to share between requests. Node caches what its getters
 * return and hands out the same object each time: `raw` is one Buffer, `keyUsage` one array,
 * `validFromDate`/`validToDate` (Node 22.10+) one Date each, `issuerCertificate` one more
 * X509Certificate — all writable. So the object is frozen (no getter can be shadowed, nothing
 * added), `raw` and the dates become own getters that return copies, the key usage list is
 * frozen, and the issuer certificate (a TLS peer's chain) is locked the same way when it is first
 * read. Node's getters keep working on a frozen object: they cache in an internal Map, not in
 * properties. `publicKey` (a KeyObject) is left as Node made it: freezing it would break the lazy
 * caches Node keeps on it. `der` is the certificate's private copy of its bytes.
 */
export function lockX509(x509: X509Certificate, der: Buffer): void {
  if (lockedX509s.has(x509) || Object.isFrozen(x509)) return;
  lockedX509s.add(x509);
  const usage = x509.keyUsage;
  if (usage) Object.freeze(usage);
  const own = (name: string, get: () => unknown): void => {
    Object.defineProperty(x509, name, { get, enumerable: false, configurable: false });
  };
  own('raw', () => Buffer.from(der));
  for (const name of DATE_GETTERS) {
    const time = ((x509 as unknown as Record<string, Date>)[name] as Date).getTime(); // read before the getter is replaced
    own(name, () => new Date(time));
  }
  if (issuerCertificateGetter) {
    own('issuerCertificate', () => {
      const issuer = issuerCertificateGetter.call(x509) as X509Certificate | undefined;
      if (issuer && !lockedX509s.has(issuer)) lockX509(issuer, privateCopy(issuer.raw));
      return issuer;
    });
  }
  Object.freeze(x509);
}
