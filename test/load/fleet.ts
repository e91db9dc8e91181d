/**
 * A fleet of client certificates, made fast. The test kit issues one leaf as a template; every
 * other leaf is that template with its own serial number, CN and URI SAN written over the
 * template's (same lengths, so no DER length changes), re-signed by the issuing CA with
 * node:crypto. That costs ~0.2 ms a leaf instead of ~4 ms through the kit, which is what makes
 * 20,000 certificates affordable in a test. All of them share the template's key pair: nothing
 * here proves key possession, and the certificate path does not look at the key.
 */
import { createHash, createPrivateKey, type KeyObject, sign, X509Certificate } from 'node:crypto';
import type { TestCA, TestCertificate } from '../../packages/core/src/testkit/index.js';

/** Leaves are numbered 0..999,999: six digits in the CN and the URI SAN. */
const DIGITS = 6;
const MAX_LEAVES = 10 ** DIGITS;
/** Four bytes of a 16-byte serial carry the number; the rest is fixed and positive. */
const SERIAL = `40${'5a'.repeat(15)}`;

export interface Fleet {
  readonly size: number;
  /** Leaf `index`, as the test kit would have issued it (one X509Certificate each: make them one at a time). */
  leaf(index: number): TestCertificate;
  /** The CN of leaf `index`, e.g. `fleet client 000042`. */
  cn(index: number): string;
}

interface Tlv {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  readonly end: number;
}

/** One DER TLV at `offset` (definite lengths only: the kit writes nothing else). */
function tlvAt(der: Buffer, offset: number): Tlv {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[start + i]!;
    start += octets;
  }
  return { tag, start, end: start + length };
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Where `marker` is in `tbs`; it must be there exactly once, or the copies would not differ where meant. */
function onlyOffset(tbs: Buffer, marker: string): number {
  const bytes = Buffer.from(marker, 'latin1');
  const offset = tbs.indexOf(bytes);
  if (offset < 0 || tbs.indexOf(bytes, offset + 1) >= 0) {
    throw new Error(`fleet: the template must contain "${marker}" exactly once`);
  }
  return offset + bytes.length - DIGITS;
}

/**
 * `size` leaves issued by `issuer` (a P-256 CA, the kit's default: its leaves are signed with
 * SHA-256), all sharing one key pair. Leaf `i` has CN `fleet client <i, six digits>`, URI SAN
 * `spiffe://fleet.test/client/<i>`, and a serial number that carries `i`.
 */
export async function issueFleet(issuer: TestCA, size: number): Promise<Fleet> {
  if (!Number.isInteger(size) || size < 1 || size > MAX_LEAVES) {
    throw new RangeError(`fleet: size must be an integer from 1 to ${MAX_LEAVES}`);
  }
  const key: KeyObject = createPrivateKey(issuer.key);
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('fleet: the issuer must be a P-256 CA (createCA() without keyType), whose leaves use SHA-256');
  }
  const zero = '0'.repeat(DIGITS);
  const template = await issuer.issue({
    subject: `CN=fleet client ${zero}`,
    san: { uri: [`spiffe://fleet.test/client/${zero}`] },
    serialNumber: SERIAL,
  });
  const certificate = tlvAt(template.der, 0);
  const tbsField = tlvAt(template.der, certificate.start);
  // The TBSCertificate with its own tag and length: what the signature covers.
  const tbsDer = template.der.subarray(certificate.start, tbsField.end);
  const algorithm = template.der.subarray(tbsField.end, tlvAt(template.der, tbsField.end).end);
  const version = tlvAt(tbsDer, tlvAt(tbsDer, 0).start);
  const serial = tlvAt(tbsDer, version.end);
  if (serial.tag !== 0x02 || serial.end - serial.start !== SERIAL.length / 2) {
    throw new Error('fleet: unexpected template layout (serial number)');
  }
  const places = [onlyOffset(tbsDer, `client ${zero}`), onlyOffset(tbsDer, `client/${zero}`)];
  const digits = (index: number): string => String(index).padStart(DIGITS, '0');

  const leaf = (index: number): TestCertificate => {
    if (!Number.isInteger(index) || index < 0 || index >= size) throw new RangeError(`fleet: no leaf ${index}`);
    const body = Buffer.from(tbsDer);
    body.writeUInt32BE(index, serial.end - 4);
    for (const place of places) body.write(digits(index), place, 'latin1');
    const signature = sign('sha256', body, { key, dsaEncoding: 'der' });
    const der = tlv(0x30, body, algorithm, tlv(0x03, Buffer.from([0]), signature));
    const cert = toPem(der);
    return {
      cert,
      key: template.key,
      keys: template.keys,
      der,
      x509: new X509Certificate(der),
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      chain: template.chain,
      sha256: createHash('sha256').update(der).digest('hex'),
      fullChain: cert + template.chain.join(''),
    };
  };
  return {
    size,
    leaf,
    cn: (index) => `fleet client ${digits(index)}`,
  };
}
