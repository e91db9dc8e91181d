/**
 * What both halves of the test kit need: the signature algorithm for a key, PEM, and a little
 * DER writing; and the percent-encoding behind `envoyUrlEncode`, which the unit tests also use
 * for the other proxies' encodings. testkit.ts re-exports testkit-revocation.ts, so the two cannot take values from each
 * other; they take them from here. Internal: no entry point exports this module.
 */
import type { webcrypto } from 'node:crypto';

/**
 * The signature algorithm for a private key, read from the key itself rather than remembered
 * alongside it, so that a key passed in through `keyPair` signs correctly whatever made it.
 */
export function signingAlgorithm(key: webcrypto.CryptoKey): { name: string; hash: string } {
  const algorithm = key.algorithm as webcrypto.KeyAlgorithm & { namedCurve?: string; hash?: { name: string } };
  if (algorithm.name === 'ECDSA') {
    const hash =
      algorithm.namedCurve === 'P-384' ? 'SHA-384' : algorithm.namedCurve === 'P-521' ? 'SHA-512' : 'SHA-256';
    return { name: 'ECDSA', hash };
  }
  if (algorithm.name === 'RSASSA-PKCS1-v1_5') return { name: algorithm.name, hash: algorithm.hash?.name ?? 'SHA-256' };
  throw new TypeError(`testkit: cannot sign with a ${algorithm.name} key`);
}

/**
 * PEM of `der` under `label` (64-column base64, LF line ends, a final newline). Written here rather
 * than taken from the core, like the rest of the kit, so that what the kit makes for the core to
 * read is not made by the code under test.
 */
export function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Every UTF-8 byte of `text` except those whose character `keep` matches as upper-case `%XX`. */
export function percentEncode(text: string, keep: RegExp): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += keep.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// A little DER writing, for what @peculiar/x509 does not write: name constraints, version 1
// certificates, signatures with other digests, and extensions it has no class for.

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV: `tag`, the definite (shortest) length of the contents, then the contents. */
export function derTlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** An OBJECT IDENTIFIER TLV from its dotted form. */
export function derOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups: number[] = [];
    for (let n = arc; ; n = Math.floor(n / 128)) {
      groups.unshift(groups.length === 0 ? n & 0x7f : (n & 0x7f) | 0x80);
      if (n < 128) break;
    }
    bytes.push(...groups);
  }
  return derTlv(0x06, Buffer.from(bytes));
}
