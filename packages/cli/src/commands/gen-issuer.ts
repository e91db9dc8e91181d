/**
 * `gen --ca --ca-key`: issue from a CA that exists already (one `gen` made, or any other PEM CA
 * with an EC P-256/P-384/P-521 or RSA key), instead of hand-written `openssl ca` configuration.
 *
 * The test kit issues from CAs it made itself, so the CA is rebuilt around its own key: a
 * stand-in with the same key and the very same subject bytes signs the certificates, which then
 * name the real CA as issuer and carry its key identifier. The stand-in is never written.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { parseCertificateChain } from '@clientcert/core';
import type { IssueOptions, TestCA, TestCertificate } from '@clientcert/core/testkit';
import { inputError, usageError } from '../errors.js';
import { readFile } from '../input.js';

export interface ExistingIssuer {
  /** Issues a certificate signed by the CA's key, naming the CA as issuer. */
  issue(options: IssueOptions): Promise<TestCertificate>;
  /** PEM of the CA's certificates a client presents after its own: all but self-signed roots. */
  readonly presented: string;
}

export async function loadIssuer(certFile: string, keyFile: string): Promise<ExistingIssuer> {
  const certificates = readCertificates(certFile);
  const ca = certificates[0]!;
  if (!ca.ca) {
    throw usageError(
      `--ca ${certFile} is not a CA certificate (basicConstraints cA is not set): give the CA's certificate`,
    );
  }
  const key = readKey(keyFile);
  const spki = ca.publicKey.export({ type: 'spki', format: 'der' });
  if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(spki)) {
    throw usageError(`--ca-key ${keyFile} is not the key of --ca ${certFile}: give the key the CA was made with`);
  }
  const algorithm = keyAlgorithm(key, keyFile);
  const keyPair = {
    privateKey: await webcrypto.subtle.importKey(
      'pkcs8',
      key.export({ type: 'pkcs8', format: 'der' }),
      algorithm,
      true,
      ['sign'],
    ),
    publicKey: await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']),
  };
  const tbs = certificateFields(ca.raw);
  const { createCA } = await import('@clientcert/core/testkit');
  // A DER Name is taken as is by the kit's name reader: the issuer bytes match the real CA's.
  const standIn: TestCA = await createCA({ keyPair, subject: tbs.subject as never, validDays: 1 });
  // The real CA's key identifier (RFC 5280's SHA-1 of its key when it carries none).
  const given = tbs.subjectKeyId;
  const keyId = given && given.length < 64 ? given : createHash('sha1').update(tbs.publicKeyBits).digest();
  const authorityKeyId = { oid: '2.5.29.35', critical: false, value: derTlv(0x30, derTlv(0x80, keyId)) };
  const roots = (c: X509Certificate) => c.issuer === c.subject && c.verify(c.publicKey);
  return {
    issue: (options) =>
      standIn.issue({
        ...options,
        authorityKeyId: false,
        extensions: [...(options.extensions ?? []), authorityKeyId],
      }),
    presented: certificates
      .filter((c) => !roots(c))
      .map((c) => c.toString())
      .join(''),
  };
}

function readCertificates(file: string): X509Certificate[] {
  try {
    const certificates = parseCertificateChain(readFile(file).toString('utf8')).map((c) => new X509Certificate(c.raw));
    if (certificates.length > 0) return certificates;
  } catch (error) {
    if ((error as { name?: unknown }).name === 'CliError') throw error;
  }
  throw inputError(`--ca ${file} has no PEM certificate`);
}

function readKey(file: string): KeyObject {
  try {
    return createPrivateKey(readFile(file));
  } catch (error) {
    if ((error as { name?: unknown }).name === 'CliError') throw error;
    throw inputError(
      `--ca-key ${file} is not an unencrypted private key (PEM or DER): decrypt it first, e.g. openssl pkey -in <key> -out <plain key>`,
    );
  }
}

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function keyAlgorithm(key: KeyObject, file: string): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const curve = key.asymmetricKeyType === 'ec' ? CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] : undefined;
  if (!curve) throw usageError(`--ca-key ${file}: the CA key must be RSA or EC P-256, P-384 or P-521`);
  return { name: 'ECDSA', namedCurve: curve };
}

// ---------------------------------------------------------------------------------------------
// The few fields of the CA certificate needed above, read from its DER.

interface Tlv {
  tag: number;
  start: number;
  valueStart: number;
  end: number;
}

function tlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let valueStart = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + buf[valueStart + i]!;
    valueStart += bytes;
  }
  return { tag, start: at, valueStart, end: valueStart + length };
}

/** Children of a constructed value. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const list: Tlv[] = [];
  for (let at = parent.valueStart; at < parent.end; at = list[list.length - 1]!.end) list.push(tlv(buf, at));
  return list;
}

const SUBJECT_KEY_ID = Buffer.from('551d0e', 'hex'); // 2.5.29.14

/** The subject Name's DER, the public key's bits, and the subjectKeyIdentifier if present. */
function certificateFields(der: Buffer): { subject: Buffer; publicKeyBits: Buffer; subjectKeyId: Buffer | null } {
  const tbs = children(der, tlv(der, 0))[0]!;
  const fields = children(der, tbs);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = fields[offset + 4]!;
  const spki = children(der, fields[offset + 5]!);
  const bits = spki[1]!;
  let subjectKeyId: Buffer | null = null;
  const extensions = fields.find((field) => field.tag === 0xa3);
  if (extensions) {
    for (const extension of children(der, children(der, extensions)[0]!)) {
      const [oid, ...rest] = children(der, extension);
      if (!der.subarray(oid!.valueStart, oid!.end).equals(SUBJECT_KEY_ID)) continue;
      const value = rest[rest.length - 1]!; // extnValue, after an optional critical flag
      const keyId = tlv(der, value.valueStart);
      subjectKeyId = der.subarray(keyId.valueStart, keyId.end);
    }
  }
  return {
    subject: der.subarray(subject.start, subject.end),
    publicKeyBits: der.subarray(bits.valueStart + 1, bits.end), // after the unused-bits octet
    subjectKeyId,
  };
}

/** A short DER element (content under 128 bytes, as a key identifier's is). */
function derTlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag, content.length]), content]);
}
