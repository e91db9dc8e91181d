/**
 * Reading PKCS#12 / PFX files (RFC 7292) as OpenSSL 1.1 and 3, Java and NSS write them.
 *
 * One passphrase becomes different bytes depending on the scheme that uses it:
 * - the integrity MAC and the PKCS#12 PBE ciphers (3DES, RC2: OpenSSL 1.1's default, `-legacy`)
 *   derive their keys from the passphrase as a BMPString, UTF-16BE plus two zero bytes. An empty
 *   passphrase has two BMP forms: `00 00` (what `openssl pkcs12 -passout pass:` writes) and no
 *   bytes at all (a NULL password); like OpenSSL's PKCS12_parse, both are tried, and the MAC
 *   tells which one the file uses.
 * - PBES2 (PBKDF2 with AES: OpenSSL 3's default) takes the passphrase as its UTF-8 bytes.
 * Each part is decrypted with the form its scheme prescribes; there is no trying of other forms.
 *
 * A MAC mismatch means a wrong passphrase, unless that passphrase opens an encrypted part: then
 * the passphrase is right and the file was damaged. Without a MAC (`-nomac`) only decryption can
 * tell, and a damaged ciphertext looks like a wrong passphrase.
 *
 * node-forge parses the (BER) structure, runs the PKCS#12 key derivation and decrypts RC2, which
 * Node's OpenSSL 3 has only in its legacy provider; node:crypto runs PBKDF2, the HMAC and the
 * other ciphers, so that PBES2 gets the UTF-8 bytes as bytes and its iterations run natively.
 */
import { createDecipheriv, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import forge from 'node-forge';

/** What a PKCS#12 file holds, as DER. */
export interface Pkcs12Contents {
  /** PKCS#8 PrivateKeyInfo, decrypted. */
  keys: Buffer[];
  /** X.509 certificates, in file order. */
  certs: Buffer[];
}

/** Why a file cannot be read: a wrong or missing passphrase, or anything else. The message names the file and the fix. */
export class Pkcs12Error extends Error {
  constructor(
    readonly kind: 'malformed' | 'passphrase',
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

type Asn1 = forge.asn1.Asn1;

/**
 * Above what tools write (OpenSSL 2048, Windows 2000, Java 10000, NSS 600000); bounds the work a
 * damaged or hostile file can ask for (the PKCS#12 key derivation runs about 1 µs per iteration).
 */
export const MAX_ITERATIONS = 1_000_000;
const MAX_NESTING = 4;

const OID = {
  data: '1.2.840.113549.1.7.1',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
};

/** PKCS#12 PBE (RFC 7292 appendix C): SHA-1 key derivation over the BMPString passphrase. */
const PKCS12_PBE: Record<string, { name: string; cipher: string; keyLength: number; rc2Bits?: number }> = {
  '1.2.840.113549.1.12.1.3': { name: 'PKCS#12 PBE SHA-1/3DES', cipher: 'des-ede3-cbc', keyLength: 24 },
  '1.2.840.113549.1.12.1.4': { name: 'PKCS#12 PBE SHA-1/2-key 3DES', cipher: 'des-ede-cbc', keyLength: 16 },
  '1.2.840.113549.1.12.1.5': { name: 'PKCS#12 PBE SHA-1/RC2-128', cipher: 'rc2', keyLength: 16, rc2Bits: 128 },
  '1.2.840.113549.1.12.1.6': { name: 'PKCS#12 PBE SHA-1/RC2-40', cipher: 'rc2', keyLength: 5, rc2Bits: 40 },
};

/** Names of schemes recognised but not read, for the message. */
const UNSUPPORTED: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'PKCS#12 PBE SHA-1/RC4-128',
  '1.2.840.113549.1.12.1.2': 'PKCS#12 PBE SHA-1/RC4-40',
  '1.2.840.113549.1.5.3': 'PBES1 MD5/DES',
  '1.2.840.113549.1.5.10': 'PBES1 SHA-1/DES',
  '1.3.14.3.2.7': 'DES-CBC',
  '1.3.6.1.4.1.11591.4.11': 'scrypt',
  '1.2.840.113549.1.5.14': 'PBMAC1',
  '2.16.840.1.101.3.4.2.4': 'SHA-224',
  '1.2.840.113549.2.5': 'MD5',
};

/** PBES2 ciphers (all CBC with a 16- or 8-byte IV) that Node's default OpenSSL provider has. */
const PBES2_CIPHERS: Record<string, { name: string; keyLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24 },
  '1.2.392.200011.61.1.1.1.2': { name: 'camellia-128-cbc', keyLength: 16 },
  '1.2.392.200011.61.1.1.1.3': { name: 'camellia-192-cbc', keyLength: 24 },
  '1.2.392.200011.61.1.1.1.4': { name: 'camellia-256-cbc', keyLength: 32 },
  '1.2.410.200046.1.1.2': { name: 'aria-128-cbc', keyLength: 16 },
  '1.2.410.200046.1.1.7': { name: 'aria-192-cbc', keyLength: 24 },
  '1.2.410.200046.1.1.12': { name: 'aria-256-cbc', keyLength: 32 },
};

/** PBKDF2 pseudo-random functions (hmacWithSHA1 is the default when the parameter is absent). */
const PBKDF2_PRFS: Record<string, string> = {
  [OID.hmacWithSHA1]: 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
  '1.2.840.113549.2.12': 'sha512-224',
  '1.2.840.113549.2.13': 'sha512-256',
};

/** MAC digests: node:crypto name for the HMAC, forge digest for the PKCS#12 key derivation. */
const MAC_DIGESTS: Record<string, { name: string; forge: () => forge.md.MessageDigest }> = {
  '1.3.14.3.2.26': { name: 'sha1', forge: () => forge.md.sha1.create() },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', forge: () => forge.md.sha256.create() },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', forge: () => forge.md.sha384.create() },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', forge: () => forge.md.sha512.create() },
};

// ---------------------------------------------------------------- ASN.1 (forge's tree, BER-tolerant)

/** The structure is not PKCS#12 as RFC 7292 defines it. */
class Bad extends Error {}

/** Readable, but not by this loader (or not within its bounds); the message follows the file's name. */
class Refused extends Error {}

function parse(bytes: string): Asn1 {
  try {
    // strict: a length longer than the data is an error, not truncation to be tolerated.
    const fromDer = forge.asn1.fromDer as unknown as (b: forge.util.ByteBuffer, o: object) => Asn1; // the types omit the options form
    return fromDer(forge.util.createBuffer(bytes), { strict: true, parseAllBytes: true, decodeBitStrings: false });
  } catch (error) {
    throw new Bad((error as Error).message);
  }
}

function children(node: Asn1 | undefined, what: string): Asn1[] {
  if (
    !node ||
    node.tagClass !== forge.asn1.Class.UNIVERSAL ||
    !node.constructed ||
    !Array.isArray(node.value) ||
    (node.type !== forge.asn1.Type.SEQUENCE && node.type !== forge.asn1.Type.SET)
  ) {
    throw new Bad(`${what} is not a SEQUENCE`);
  }
  return node.value;
}

function primitive(node: Asn1 | undefined, type: number, what: string): string {
  if (!node || node.tagClass !== forge.asn1.Class.UNIVERSAL || node.type !== type || typeof node.value !== 'string') {
    throw new Bad(`${what} has the wrong type`);
  }
  return node.value;
}

function oid(node: Asn1 | undefined, what: string): string {
  const bytes = primitive(node, forge.asn1.Type.OID, what);
  try {
    return forge.asn1.derToOid(bytes);
  } catch (error) {
    // node-forge throws a plain Error for an arc it cannot hold ("OID value too large"): damage.
    throw new Bad(`${what}: ${(error as Error).message}`);
  }
}

function integer(node: Asn1 | undefined, what: string): number {
  const bytes = primitive(node, forge.asn1.Type.INTEGER, what);
  if (bytes.length === 0 || bytes.length > 6 || bytes.charCodeAt(0) & 0x80) throw new Bad(`${what} is out of range`);
  let value = 0;
  for (let i = 0; i < bytes.length; i++) value = value * 256 + bytes.charCodeAt(i);
  return value;
}

/** An OCTET STRING's content; BER writers may split it into a constructed string of chunks. */
function octets(node: Asn1 | undefined, what: string): string {
  if (
    node?.constructed &&
    Array.isArray(node.value) &&
    (node.type === forge.asn1.Type.OCTETSTRING || node.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC)
  ) {
    return node.value.map((chunk) => octets(chunk, what)).join('');
  }
  if (node && node.type === forge.asn1.Type.OCTETSTRING && typeof node.value === 'string') return node.value;
  throw new Bad(`${what} is not an OCTET STRING`);
}

/** The content of an `[0] EXPLICIT` wrapper. */
function explicit0(node: Asn1 | undefined, what: string): Asn1 {
  if (
    !node ||
    node.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC ||
    node.type !== 0 ||
    !Array.isArray(node.value) ||
    node.value.length !== 1
  ) {
    throw new Bad(`${what} is not [0] EXPLICIT`);
  }
  return node.value[0]!;
}

function binary(bytes: string): Buffer {
  return Buffer.from(bytes, 'binary');
}

function iterations(node: Asn1 | undefined, what: string): number {
  const count = integer(node, what);
  if (count < 1) throw new Bad(`${what} is ${count}`);
  if (count > MAX_ITERATIONS) {
    throw new Refused(
      `asks for ${count} key-derivation iterations (more than ${MAX_ITERATIONS}): ` +
        'export it again with the default count (openssl pkcs12 -export)',
    );
  }
  return count;
}

// ---------------------------------------------------------------- the passphrase in each scheme's form

/**
 * The passphrase as each scheme takes it. `bmp` holds the candidate BMPStrings as forge's key
 * derivation takes them: a string (encoded as UTF-16BE plus the two terminating zero bytes) or
 * null (no bytes). More than one only for an empty passphrase, until the MAC has chosen.
 */
interface Secret {
  utf8: Buffer;
  bmp: Array<string | null>;
}

function unsupported(algorithm: string, what: string): Refused {
  const name = UNSUPPORTED[algorithm] ?? `algorithm ${algorithm}`;
  return new Refused(
    `encrypts ${what} with ${name}, which this loader does not read: ` +
      "export it again with AES (openssl pkcs12 -export, OpenSSL 3's default) or 3DES (-legacy)",
  );
}

interface Scheme {
  /** For messages: `PBES2 (PBKDF2-SHA256, AES-256-CBC)`. */
  name: string;
  /** The plaintexts the passphrase forms this scheme takes give (CBC padding intact); none when it does not decrypt. */
  decrypt(ciphertext: string, secret: Secret): Buffer[];
}

function decryptCbc(cipher: string, key: Buffer, iv: Buffer, ciphertext: string): Buffer | undefined {
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(binary(ciphertext)), decipher.final()]);
  } catch {
    return undefined; // bad padding: the wrong key
  }
}

function scheme(algorithm: Asn1 | undefined, what: string): Scheme {
  const parts = children(algorithm, 'AlgorithmIdentifier');
  const id = oid(parts[0], 'the encryption algorithm');
  const pbe = PKCS12_PBE[id];
  if (pbe) {
    const params = children(parts[1], 'PKCS#12 PBE parameters');
    const salt = primitive(params[0], forge.asn1.Type.OCTETSTRING, 'the PBE salt');
    const count = iterations(params[1], 'the PBE iteration count');
    return {
      name: pbe.name,
      decrypt(ciphertext, secret) {
        const found: Buffer[] = [];
        for (const password of secret.bmp) {
          const key = forge.pkcs12.generateKey(
            password,
            forge.util.createBuffer(salt),
            1,
            count,
            pbe.keyLength,
            forge.md.sha1.create(),
          );
          const iv = forge.pkcs12.generateKey(
            password,
            forge.util.createBuffer(salt),
            2,
            count,
            8,
            forge.md.sha1.create(),
          );
          let plain: Buffer | undefined;
          if (pbe.cipher === 'rc2') {
            const rc2 = forge.rc2.createDecryptionCipher(key, pbe.rc2Bits);
            rc2.start(iv);
            rc2.update(forge.util.createBuffer(ciphertext));
            if (rc2.finish()) plain = binary(rc2.output.getBytes());
          } else {
            plain = decryptCbc(pbe.cipher, binary(key.getBytes()), binary(iv.getBytes()), ciphertext);
          }
          if (plain) found.push(plain);
        }
        return found;
      },
    };
  }
  if (id !== OID.pbes2) throw unsupported(id, what);
  const [kdf, encryption] = children(parts[1], 'PBES2 parameters');
  const kdfParts = children(kdf, 'the PBES2 key derivation function');
  const kdfId = oid(kdfParts[0], 'the PBES2 key derivation function');
  if (kdfId !== OID.pbkdf2) throw unsupported(kdfId, what);
  const [saltNode, countNode, ...rest] = children(kdfParts[1], 'PBKDF2 parameters');
  const salt = binary(primitive(saltNode, forge.asn1.Type.OCTETSTRING, 'the PBKDF2 salt'));
  const count = iterations(countNode, 'the PBKDF2 iteration count');
  // Optional keyLength (INTEGER), then optional prf (AlgorithmIdentifier, default hmacWithSHA1).
  const keyLength =
    rest[0]?.type === forge.asn1.Type.INTEGER ? integer(rest.shift(), 'the PBKDF2 key length') : undefined;
  const prfId =
    rest[0] === undefined ? OID.hmacWithSHA1 : oid(children(rest[0], 'the PBKDF2 PRF')[0], 'the PBKDF2 PRF');
  const prf = PBKDF2_PRFS[prfId];
  if (!prf) throw unsupported(prfId, what);
  const encParts = children(encryption, 'the PBES2 encryption scheme');
  const cipherId = oid(encParts[0], 'the PBES2 cipher');
  const cipher = PBES2_CIPHERS[cipherId];
  if (!cipher) throw unsupported(cipherId, what);
  if (keyLength !== undefined && keyLength !== cipher.keyLength)
    throw new Bad(`the PBKDF2 key length ${keyLength} does not fit ${cipher.name}`);
  const iv = binary(primitive(encParts[1], forge.asn1.Type.OCTETSTRING, 'the PBES2 IV'));
  return {
    name: `PBES2 (PBKDF2-${prf.toUpperCase()}, ${cipher.name.toUpperCase()})`,
    decrypt(ciphertext, secret) {
      let key: Buffer;
      try {
        key = pbkdf2Sync(secret.utf8, salt, count, cipher.keyLength, prf);
      } catch (error) {
        throw new Bad(`PBKDF2 failed: ${(error as Error).message}`);
      }
      const plain = decryptCbc(cipher.name, key, iv, ciphertext);
      return plain ? [plain] : [];
    },
  };
}

// ---------------------------------------------------------------- walking the contents

interface Walk {
  keys: Buffer[];
  certs: Buffer[];
  /** Encrypted parts the passphrase opened / did not open, named for messages. */
  opened: string[];
  closed: string[];
}

/**
 * Decrypt one part and parse its plaintext. With a wrong key CBC padding still looks right now
 * and then, so a plaintext only counts when it is the DER it should be.
 */
function open(
  walk: Walk,
  algorithm: Asn1 | undefined,
  ciphertext: string,
  secret: Secret,
  what: string,
): Asn1 | undefined {
  const s = scheme(algorithm, what);
  for (const plain of s.decrypt(ciphertext, secret)) {
    try {
      const node = parse(plain.toString('binary'));
      children(node, what);
      walk.opened.push(`${what} (${s.name})`);
      return node;
    } catch (error) {
      if (!(error instanceof Bad)) throw error;
    }
  }
  walk.closed.push(`${what} (${s.name})`);
  return undefined;
}

function readSafeContents(walk: Walk, safeContents: Asn1, secret: Secret, depth: number): void {
  if (depth > MAX_NESTING) throw new Bad('SafeContents nested too deeply');
  for (const bag of children(safeContents, 'SafeContents')) {
    const [bagId, bagValue] = children(bag, 'SafeBag');
    const type = oid(bagId, 'the SafeBag type');
    const value = explicit0(bagValue, 'the SafeBag value');
    if (type === OID.certBag) {
      const [certId, certValue] = children(value, 'CertBag');
      if (oid(certId, 'the CertBag type') !== OID.x509Certificate) continue; // SDSI certificates: nothing to present
      walk.certs.push(binary(octets(explicit0(certValue, 'the CertBag value'), 'the certificate')));
    } else if (type === OID.keyBag) {
      children(value, 'PrivateKeyInfo');
      walk.keys.push(binary(forge.asn1.toDer(value).getBytes()));
    } else if (type === OID.shroudedKeyBag) {
      const [algorithm, data] = children(value, 'EncryptedPrivateKeyInfo');
      const key = open(walk, algorithm, octets(data, 'the encrypted private key'), secret, 'the private key');
      if (key) walk.keys.push(binary(forge.asn1.toDer(key).getBytes()));
    } else if (type === OID.safeContentsBag) {
      readSafeContents(walk, value, secret, depth + 1);
    }
    // CRL and secret bags are not part of a TLS credential.
  }
}

function readAuthenticatedSafe(authSafe: string, secret: Secret): Walk {
  const walk: Walk = { keys: [], certs: [], opened: [], closed: [] };
  for (const info of children(parse(authSafe), 'AuthenticatedSafe')) {
    const [typeNode, content] = children(info, 'ContentInfo');
    const type = oid(typeNode, 'the ContentInfo type');
    if (type === OID.data) {
      readSafeContents(
        walk,
        parse(octets(explicit0(content, 'the ContentInfo content'), 'the SafeContents')),
        secret,
        0,
      );
    } else if (type === OID.encryptedData) {
      const [, encryptedContentInfo] = children(explicit0(content, 'the ContentInfo content'), 'EncryptedData');
      const [contentType, algorithm, encrypted] = children(encryptedContentInfo, 'EncryptedContentInfo');
      if (oid(contentType, 'the encrypted content type') !== OID.data)
        throw new Bad('the encrypted content is not Data');
      // encryptedContent is [0] IMPLICIT OCTET STRING: primitive, or constructed from chunks.
      if (!encrypted || encrypted.tagClass !== forge.asn1.Class.CONTEXT_SPECIFIC || encrypted.type !== 0)
        throw new Bad('no encrypted content');
      const ciphertext = encrypted.constructed ? octets(encrypted, 'the encrypted content') : String(encrypted.value);
      const safeContents = open(walk, algorithm, ciphertext, secret, 'the certificates');
      if (safeContents) readSafeContents(walk, safeContents, secret, 0);
    } else if (type === OID.envelopedData) {
      throw new Refused(
        'protects its contents with a public key (PKCS#12 public-key privacy mode), which this ' +
          'loader does not read: export it with a passphrase (openssl pkcs12 -export)',
      );
    } else {
      throw new Bad(`unknown ContentInfo type ${type}`);
    }
  }
  return walk;
}

// ---------------------------------------------------------------- the PFX and its MAC

interface Mac {
  digest: { name: string; forge: () => forge.md.MessageDigest };
  value: Buffer;
  salt: string;
  iterations: number;
}

function macMatches(mac: Mac, authSafe: string, password: string | null): boolean {
  const key = forge.pkcs12.generateKey(
    password,
    forge.util.createBuffer(mac.salt),
    3,
    mac.iterations,
    mac.digest.forge().digestLength,
    mac.digest.forge(),
  );
  const computed = createHmac(mac.digest.name, binary(key.getBytes())).update(binary(authSafe)).digest();
  return computed.length === mac.value.length && timingSafeEqual(computed, mac.value);
}

function readPfx(data: Buffer): { authSafe: string; mac: Mac | undefined } {
  const [version, authSafeInfo, macData] = children(parse(data.toString('binary')), 'PFX');
  if (integer(version, 'the PFX version') !== 3) throw new Bad('the PFX version is not 3');
  const [contentType, content] = children(authSafeInfo, 'the PFX authSafe');
  const type = oid(contentType, 'the authSafe type');
  if (type === '1.2.840.113549.1.7.2') {
    throw new Refused(
      'is signed with a public key (PKCS#12 public-key integrity mode), which this loader ' +
        'does not read: export it with a passphrase (openssl pkcs12 -export)',
    );
  }
  if (type !== OID.data) throw new Bad(`the authSafe type is ${type}, not Data`);
  const authSafe = octets(explicit0(content, 'the authSafe content'), 'the authSafe');
  if (!macData) return { authSafe, mac: undefined };
  const [digestInfo, saltNode, countNode] = children(macData, 'MacData');
  const [algorithm, value] = children(digestInfo, 'the MAC DigestInfo');
  const [digestOid, digestParams, ...extra] = children(algorithm, 'the MAC algorithm');
  const digestId = oid(digestOid, 'the MAC algorithm');
  const digest = MAC_DIGESTS[digestId];
  if (!digest) {
    throw new Refused(
      `checks its integrity with ${UNSUPPORTED[digestId] ?? `algorithm ${digestId}`}, which ` +
        "this loader does not read: export it again with -macalg sha256 (OpenSSL 3's default)",
    );
  }
  // A digest has no parameters: absent or NULL, nothing else.
  if (
    extra.length > 0 ||
    (digestParams &&
      (digestParams.tagClass !== forge.asn1.Class.UNIVERSAL ||
        digestParams.type !== forge.asn1.Type.NULL ||
        digestParams.value !== ''))
  ) {
    throw new Bad('the MAC algorithm has parameters');
  }
  return {
    authSafe,
    mac: {
      digest,
      value: binary(primitive(value, forge.asn1.Type.OCTETSTRING, 'the MAC')),
      salt: primitive(saltNode, forge.asn1.Type.OCTETSTRING, 'the MAC salt'),
      // Absent means 1 (RFC 7292); OpenSSL's -nomaciter writes it so.
      iterations: countNode === undefined ? 1 : iterations(countNode, 'the MAC iteration count'),
    },
  };
}

function describe(parts: string[]): string {
  return parts.join(' and ');
}

const FIX_PASSPHRASE = 'set the passphrase option to the one the file was exported with';
const FIX_DAMAGED = 'export or copy it again (as binary)';

/** A hint for bytes that are not DER at all: PEM or base64 text given where the binary file belongs. */
function notDerHint(data: Buffer): string | undefined {
  const text = data.subarray(0, 4096).toString('latin1').trim();
  if (text.startsWith('-----BEGIN'))
    return 'is PEM text, not a PKCS#12 / PFX file: load it with the cert and key options';
  if (text.length >= 16 && text.startsWith('MI') && /^[A-Za-z0-9+/=\r\n]+$/.test(text)) {
    return (
      "is base64 text, not the binary PKCS#12 / PFX file: decode it first (Buffer.from(text, 'base64')), " +
      'as Key Vault and Kubernetes secrets hand it out'
    );
  }
  return undefined;
}

/**
 * Open a PKCS#12 file with its passphrase (`''` for none). Throws `Pkcs12Error` whose message
 * names the file by `label`: `passphrase` for a wrong or missing passphrase, `malformed` for
 * anything else (damaged, not PKCS#12, an algorithm this loader does not read).
 */
export function readPkcs12(data: Buffer, passphrase: string, label: string): Pkcs12Contents {
  try {
    return readChecked(data, passphrase, label);
  } catch (error) {
    if (error instanceof Refused) throw new Pkcs12Error('malformed', `${label} ${error.message}`, error);
    if (error instanceof Bad) {
      throw new Pkcs12Error(
        'malformed',
        `${label} ${
          notDerHint(data) ??
          `is not a readable PKCS#12 / PFX file (${error.message}): ${FIX_DAMAGED}, or load the certificate and key as PEM (cert and key options)`
        }`,
        error,
      );
    }
    throw error;
  }
}

function readChecked(data: Buffer, passphrase: string, label: string): Pkcs12Contents {
  const pfx = readPfx(data);
  const utf8 = Buffer.from(passphrase, 'utf8');
  if (!pfx.mac) {
    // No MAC (`-nomac`): only decryption tells. Like OpenSSL, an empty passphrase is tried as NULL first.
    const walk = readAuthenticatedSafe(pfx.authSafe, { utf8, bmp: passphrase === '' ? [null, ''] : [passphrase] });
    if (walk.closed.length === 0) return { keys: walk.keys, certs: walk.certs };
    if (walk.opened.length > 0) {
      throw new Pkcs12Error(
        'malformed',
        `${label} is damaged: the passphrase opens ${describe(walk.opened)} but not ` +
          `${describe(walk.closed)}: ${FIX_DAMAGED}`,
      );
    }
    const why = `${describe(walk.closed)} does not decrypt (the file has no integrity MAC, so damage would look the same)`;
    throw new Pkcs12Error(
      'passphrase',
      passphrase === ''
        ? `${label} needs a passphrase and none was given: ${why}; ${FIX_PASSPHRASE}`
        : `wrong passphrase for ${label}: ${why}; ${FIX_PASSPHRASE}`,
    );
  }
  const { mac } = pfx;
  const forms = passphrase === '' ? ['', null] : [passphrase];
  const form = forms.find((f) => macMatches(mac, pfx.authSafe, f));
  if (form !== undefined) {
    const walk = readAuthenticatedSafe(pfx.authSafe, { utf8, bmp: [form] });
    if (walk.closed.length === 0) return { keys: walk.keys, certs: walk.certs };
    // The bytes are as written (the MAC says so), yet the passphrase that verifies them does not decrypt them.
    throw new Pkcs12Error(
      'passphrase',
      `the passphrase verifies the integrity check (MAC) of ${label} but does not decrypt ` +
        `${describe(walk.closed)}: the file was written with separate MAC and encryption passwords (openssl pkcs12 -twopass) ` +
        'or by a tool that encodes the passphrase its own way; export it again with one passphrase (openssl pkcs12 -export)',
    );
  }
  // The MAC fails: a wrong passphrase, or a file changed since it was written. A passphrase that
  // opens an encrypted part is right, and then the file is damaged.
  let walk: Walk;
  try {
    walk = readAuthenticatedSafe(pfx.authSafe, { utf8, bmp: forms });
  } catch (error) {
    if (!(error instanceof Bad)) throw error;
    throw new Pkcs12Error(
      'malformed',
      `${label} is damaged: its integrity check (MAC) fails and its contents do not parse ` +
        `(${error.message}): ${FIX_DAMAGED}`,
      error,
    );
  }
  if (walk.opened.length > 0) {
    throw new Pkcs12Error(
      'malformed',
      `${label} is damaged: its integrity check (MAC) fails although the passphrase opens ` +
        `${describe(walk.opened)}: ${FIX_DAMAGED} (a file written with separate MAC and encryption passwords, ` +
        'openssl pkcs12 -twopass, looks the same: export it again with one passphrase)',
    );
  }
  const macName = `MAC-${mac.digest.name.toUpperCase()}`;
  if (passphrase === '') {
    throw new Pkcs12Error(
      'passphrase',
      `${label} is protected by a passphrase and none was given (its integrity check, ` +
        `${macName}, fails without one): ${FIX_PASSPHRASE}`,
    );
  }
  throw new Pkcs12Error(
    'passphrase',
    `wrong passphrase for ${label}: its integrity check (${macName}) fails with it` +
      (walk.closed.length > 0
        ? ` and ${describe(walk.closed)} does not decrypt`
        : ' (or the file was changed after it was written)') +
      `; ${FIX_PASSPHRASE}`,
  );
}
