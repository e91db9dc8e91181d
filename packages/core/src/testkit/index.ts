/**
 * Test kit: throwaway CAs, intermediates and client/server certificates for tests and demos,
 * and XFCC headers built the way Envoy builds them.
 *
 * Generation uses @peculiar/x509 over WebCrypto. It needs the `reflect-metadata` polyfill, which is
 * why the kit is its own entry point (`@clientcert/core/testkit`): importing the middleware never
 * loads it.
 *
 * Every certificate starts from ordinary defaults that conform to the RFC 5280 profile (ECDSA
 * P-256, whole-second validity around now, key identifiers, critical basicConstraints, a critical
 * subjectAltName for an empty subject, clientAuth for leaves) and each option changes one
 * property, so that a test can make exactly the odd certificate it is about: a re-issued or
 * cross-signed CA (`keyPair`), a "CA" that is not one (`ca: false`), a name no RFC 4514 string can
 * spell (a `JsonName`), a CA without key identifiers (`subjectKeyId`, `authorityKeyId`), an
 * unusual subjectAltName or a deliberately broken extension (`extensions`). Options take plain
 * values, so tests need not depend on @peculiar/x509 themselves (it is a dependency of this
 * package, not of yours).
 */
import 'reflect-metadata';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { nameConstraintsExtension, resign } from './raw.js';
import { pem, signingAlgorithm } from './shared.js';

type CryptoKey = webcrypto.CryptoKey;

/** A WebCrypto key pair, as `generateKeyPair()` makes it and `TestCertificate.keys` holds it. */
export type KeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyType = 'ec' | 'rsa';

export interface KeyPairOptions {
  /** ECDSA P-256 (default) or RSASSA-PKCS1-v1_5. */
  keyType?: KeyType;
  /** RSA modulus length (default 2048). */
  rsaBits?: number;
}

/**
 * A distinguished name as structured JSON, for what an RFC 4514 string cannot say: the ASN.1
 * string type of a value, multi-valued RDNs, raw DER values, an empty name (`[]`). It is
 * @peculiar/x509's JSON name, re-exported so that callers can type it without that package.
 *
 * Unlike the string form, RDNs are listed in DER order (least specific first, e.g. C before CN):
 * JSON is for tests that care about the encoding, and this is the encoding's order. Each array
 * element is one RDN; several keys in one element make a multi-valued RDN. Keys are short names
 * (`CN`, `O`, `DC`, `E`, ...) or dotted OIDs. A value is
 * - an object choosing the string type: `{ utf8String }`, `{ printableString }`, `{ ia5String }`,
 *   `{ bmpString }` or `{ universalString }`;
 * - `#` and hex: the DER of the whole value, written verbatim (any tag, even a non-string);
 * - any other string: PrintableString when it fits, else UTF8String (IA5String for E and DC).
 */
export type JsonName = x509.JsonNameParams;

/** A name: an RFC 4514 string (most specific RDN first, e.g. `CN=alice,O=Acme`) or a `JsonName`. */
export type NameInput = string | JsonName;

export interface SubjectAltNameInput {
  dns?: string[];
  uri?: string[];
  email?: string[];
  ip?: string[];
}

/**
 * One GeneralName as @peculiar/x509 writes it, for kinds the object form of `san` leaves out:
 * `dn` (directoryName; its string is written in the order given, i.e. DER order), `upn` (an
 * otherName), `guid`, `id` (registeredID), besides `dns`, `url`, `email` and `ip`.
 */
export type GeneralNameInput = x509.JsonGeneralName;

/** Extended key usage by name or dotted OID. */
export type ExtKeyUsageInput = 'clientAuth' | 'serverAuth' | 'codeSigning' | 'emailProtection' | 'any' | (string & {});

/** keyUsage bits by their RFC 5280 names. */
export type KeyUsageInput =
  | 'digitalSignature'
  | 'nonRepudiation'
  | 'keyEncipherment'
  | 'dataEncipherment'
  | 'keyAgreement'
  | 'keyCertSign'
  | 'cRLSign'
  | 'encipherOnly'
  | 'decipherOnly';

/**
 * An extension given by OID and DER value (the contents of the extnValue OCTET STRING). It lets
 * tests write extensions the kit has no option for, or deliberately malformed ones, without
 * importing @peculiar/x509.
 */
export interface RawExtension {
  oid: string;
  critical?: boolean;
  value: Uint8Array;
}

/**
 * Names for one list of name constraints (RFC 5280 §4.2.1.10), by form. `ip` entries are CIDR
 * blocks (`192.0.2.0/24`, `2001:db8::/32`), written as address and mask. `raw` entries are the DER
 * of a whole GeneralName, for forms (or deliberately broken values) the others cannot express.
 */
export interface GeneralSubtreesInput {
  dns?: string[];
  email?: string[];
  uri?: string[];
  ip?: string[];
  /** directoryName subtrees: RFC 4514 strings (most specific RDN first) or `JsonName`s. */
  dn?: NameInput[];
  raw?: Uint8Array[];
}

/** A nameConstraints extension: permitted and/or excluded subtrees, critical unless told otherwise. */
export interface NameConstraintsInput {
  permitted?: GeneralSubtreesInput;
  excluded?: GeneralSubtreesInput;
  critical?: boolean;
}

/** The digest the issuer signs with; MD5 only with an RSA issuer. */
export type SignatureHashInput = 'MD5' | 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface IssueOptions extends KeyPairOptions {
  /**
   * Distinguished name: an RFC 4514 string such as `CN=alice,O=Acme` (most specific first, as
   * `ClientCertificate.subject` prints it), or a `JsonName` for exact control of the encoding.
   */
  subject?: NameInput;
  /** subjectAltName: the usual kinds by kind, or a list of GeneralNames written in order as given. */
  san?: SubjectAltNameInput | GeneralNameInput[];
  /**
   * Mark subjectAltName critical. Default: critical exactly when the subject is empty, as RFC 5280
   * §4.2.1.6 requires (and forbids otherwise in the CA/Browser Forum profile).
   */
  sanCritical?: boolean;
  /** Extended key usage; `null` omits the extension. Leaves default to `['clientAuth']`. */
  eku?: ExtKeyUsageInput[] | null;
  /**
   * keyUsage (critical); `null` omits the extension. Defaults: digitalSignature and
   * keyEncipherment for issued leaves, keyCertSign, cRLSign and digitalSignature for CAs, none for
   * `createSelfSigned`.
   */
  keyUsage?: KeyUsageInput[] | null;
  /**
   * Certify this existing key pair instead of generating one (`keyType` and `rsaBits` are then
   * ignored): re-issued and cross-signed CAs, or twins of one certificate that differ in one
   * property. Take it from `generateKeyPair()` or another certificate's `keys`; the private key
   * must be extractable, since the kit returns it as PEM.
   */
  keyPair?: KeyPair;
  /**
   * Write subjectKeyIdentifier (CAs) and authorityKeyIdentifier (issued certificates); default
   * true. With `false` an issuer is matched by name alone, as for certificates from CAs that omit
   * them, so that e.g. a look-alike issuer is rejected by its signature rather than by a key-id
   * mismatch. Such certificates break the RFC 5280 profile: verification refuses them unless
   * the policy allows it (`allowMissingAuthorityKeyId`, `allowMissingSubjectKeyId`).
   */
  keyIdentifiers?: boolean;
  /**
   * Write subjectKeyIdentifier; overrides `keyIdentifiers` for this one. Default: CAs only (RFC
   * 5280 §4.2.1.2 requires it of CA certificates), so `false` on a CA makes one that breaks the
   * profile, and `true` on a leaf adds one.
   */
  subjectKeyId?: boolean;
  /**
   * Write authorityKeyIdentifier; overrides `keyIdentifiers` for this one. Default: on every
   * certificate with an issuer (RFC 5280 §4.2.1.1); self-signed ones have none.
   */
  authorityKeyId?: boolean;
  /** Mark basicConstraints critical (default true, as RFC 5280 §4.2.1.9 requires of CAs). */
  basicConstraintsCritical?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** Validity from now when `notAfter` is not given (default 30 days; may be negative for expired). */
  validDays?: number;
  /** Hex serial number; random 16 bytes by default. */
  serialNumber?: string;
  /**
   * Extra extensions, added after the kit's own: @peculiar/x509 `Extension` objects or
   * `RawExtension`s. Nothing is de-duplicated, so one of a kind the kit already writes makes a
   * (deliberately) invalid certificate with that extension twice.
   */
  extensions?: Array<x509.Extension | RawExtension>;
  /** A nameConstraints extension (meant for CAs; on a leaf it makes a non-conforming certificate). */
  nameConstraints?: NameConstraintsInput;
  /**
   * The digest the issuer signs this certificate with. Default: SHA-256 (SHA-384 / SHA-512 for
   * P-384 / P-521 issuers, the RSA key's own hash for RSA issuers).
   */
  signatureHash?: SignatureHashInput;
  /**
   * 1 writes a version 1 certificate: no version field and no extensions at all (the kit's own
   * included), as legacy roots are. Default 3.
   */
  version?: 1 | 3;
}

export interface CAOptions extends Omit<IssueOptions, 'eku'> {
  /** basicConstraints pathLenConstraint; unlimited by default. */
  pathLength?: number;
  /** Extended key usage; CAs have none by default. */
  eku?: ExtKeyUsageInput[] | null;
  /**
   * The basicConstraints cA flag (default true). `false` makes a certificate that is not a CA but
   * can still be used to issue, for testing that verification refuses such an issuer; everything
   * else (key usage included) stays as given, so combine with `keyUsage: null` to leave the CA
   * flag as the only thing wrong. `null` leaves basicConstraints out altogether (a v3 "CA" that
   * never says it is one).
   */
  ca?: boolean | null;
}

/** A generated certificate with its private key, in the shapes `tls` and the middleware take. */
export interface TestCertificate {
  /** PEM of this certificate (LF line ends, with a final newline). */
  readonly cert: string;
  /** PKCS#8 PEM private key. */
  readonly key: string;
  /** The key pair itself, to certify the same key again (`keyPair`) or sign with it directly. */
  readonly keys: KeyPair;
  readonly der: Buffer;
  readonly x509: X509Certificate;
  /** Validity as encoded (whole seconds), for tests that check times against it. */
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Issuing certificates above this one, nearest first, excluding the root. */
  readonly chain: string[];
  /** Lower-case hex SHA-256 of the DER. */
  readonly sha256: string;
  /** `cert` followed by `chain`, as a TLS client or server presents it. */
  readonly fullChain: string;
}

export interface TestCA extends TestCertificate {
  /** Issue an end-entity certificate (clientAuth EKU unless told otherwise). */
  issue(options?: IssueOptions): Promise<TestCertificate>;
  /** Issue a subordinate CA (or, with `ca: false`, a non-CA that can still sign). */
  intermediate(options?: CAOptions): Promise<TestCA>;
}

const EKU_OIDS: Record<string, string> = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  any: '2.5.29.37.0',
};

const KEY_USAGE_FLAGS: Record<KeyUsageInput, number> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
  dataEncipherment: x509.KeyUsageFlags.dataEncipherment,
  keyAgreement: x509.KeyUsageFlags.keyAgreement,
  keyCertSign: x509.KeyUsageFlags.keyCertSign,
  cRLSign: x509.KeyUsageFlags.cRLSign,
  encipherOnly: x509.KeyUsageFlags.encipherOnly,
  decipherOnly: x509.KeyUsageFlags.decipherOnly,
};

const DAY_MS = 86_400_000;

/**
 * Generate an extractable key pair of a kind the kit signs with. Use it with `keyPair` when
 * several certificates must share one key before any of them exists, e.g. two CAs that
 * cross-sign each other.
 */
export async function generateKeyPair(options: KeyPairOptions = {}): Promise<KeyPair> {
  const alg =
    options.keyType === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: options.rsaBits ?? 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        }
      : { name: 'ECDSA', namedCurve: 'P-256' };
  return (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as KeyPair;
}

async function keyToPem(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as never)));
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and without a leading zero byte
  return Buffer.from(bytes).toString('hex');
}

function validity(options: IssueOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  // Whole seconds: X.509 times carry no fractions, and tests compare them exactly.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const notBefore = options.notBefore ?? new Date(now - 60_000);
  const notAfter = options.notAfter ?? new Date(now + (options.validDays ?? defaultDays) * DAY_MS);
  return { notBefore, notAfter };
}

function sanExtension(san: SubjectAltNameInput | GeneralNameInput[] | undefined, critical: boolean): x509.Extension[] {
  if (!san) return [];
  const names: x509.JsonGeneralName[] = Array.isArray(san)
    ? san
    : [
        ...(san.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(san.uri ?? []).map((value) => ({ type: 'url' as const, value })),
        ...(san.email ?? []).map((value) => ({ type: 'email' as const, value })),
        ...(san.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names, critical)] : [];
}

function ekuExtension(
  eku: ExtKeyUsageInput[] | null | undefined,
  fallback: ExtKeyUsageInput[] | null,
): x509.Extension[] {
  const list = eku === undefined ? fallback : eku;
  if (!list) return [];
  return [
    new x509.ExtendedKeyUsageExtension(
      list.map((name) => EKU_OIDS[name] ?? name),
      false,
    ),
  ];
}

function keyUsageExtension(
  usage: KeyUsageInput[] | null | undefined,
  fallback: KeyUsageInput[] | null,
): x509.Extension[] {
  const list = usage === undefined ? fallback : usage;
  if (!list) return [];
  return [
    new x509.KeyUsagesExtension(
      list.reduce((flags, name) => flags | KEY_USAGE_FLAGS[name], 0),
      true,
    ),
  ];
}

/** @peculiar/x509 extensions pass through; raw ones are wrapped (their value is written as given). */
function extraExtensions(extensions: Array<x509.Extension | RawExtension> | undefined): x509.Extension[] {
  // Told apart by shape, not `instanceof`: a caller's copy of @peculiar/x509 may not be the kit's.
  return (extensions ?? []).map((e) => ('rawData' in e ? e : new x509.Extension(e.oid, e.critical ?? false, e.value)));
}

/**
 * RFC 4514 strings list the most specific RDN first (as `ClientCertificate.subject` prints them);
 * @peculiar/x509 keeps a string's order as DER order, so reverse it. JSON names are already in
 * DER order and are taken as they are.
 */
export function toName(name: NameInput): x509.Name {
  return typeof name === 'string' ? new x509.Name(new x509.Name(name).toJSON().reverse()) : new x509.Name(name);
}

function toTestCertificate(cert: x509.X509Certificate, key: string, keys: KeyPair, chain: string[]): TestCertificate {
  const pem = `${cert.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n`;
  const der = Buffer.from(cert.rawData);
  return {
    cert: pem,
    key,
    keys,
    der,
    x509: new X509Certificate(der),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    chain,
    sha256: createHash('sha256').update(der).digest('hex'),
    fullChain: pem + chain.join(''),
  };
}

interface Signer {
  keys: KeyPair;
  certificate: x509.X509Certificate;
  /** This CA's PEM followed by its own chain (excluding the root). */
  chainBelow: string[];
}

/** What tells the kinds of certificate apart, before options override it. */
interface Profile {
  subject: string;
  ca: boolean;
  keyUsage: KeyUsageInput[] | null;
  eku: ExtKeyUsageInput[] | null;
  /** CAs carry a subjectKeyIdentifier for their children's authorityKeyIdentifier to match. */
  subjectKeyId: boolean;
  validDays: number;
}

const CA_KEY_USAGE: KeyUsageInput[] = ['digitalSignature', 'keyCertSign', 'cRLSign'];

/** Build one certificate, signed by `signer` or, without one, by its own key (self-signed). */
async function build(
  options: CAOptions,
  signer: Signer | undefined,
  profile: Profile,
): Promise<{ certificate: x509.X509Certificate; keys: KeyPair; key: string }> {
  const keys = options.keyPair ?? (await generateKeyPair(options));
  const keyIds = options.keyIdentifiers ?? true;
  const subjectKeyId = options.subjectKeyId ?? (keyIds && profile.subjectKeyId);
  const authorityKeyId = options.authorityKeyId ?? keyIds;
  const ca = options.ca === undefined ? profile.ca : options.ca;
  const subject = toName(options.subject ?? profile.subject);
  const sanCritical = options.sanCritical ?? subject.toJSON().length === 0;
  const { notBefore, notAfter } = validity(options, profile.validDays);
  const signingKey = (signer?.keys ?? keys).privateKey;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? randomSerial(),
    subject,
    // The issuer's encoded subject, not a re-rendering of it: names must match byte for byte.
    issuer: signer ? signer.certificate.subjectName : subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: signingAlgorithm(signingKey),
    extensions: [
      ...(ca === null
        ? []
        : [new x509.BasicConstraintsExtension(ca, options.pathLength, options.basicConstraintsCritical ?? true)]),
      ...keyUsageExtension(options.keyUsage, profile.keyUsage),
      ...(subjectKeyId ? [await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)] : []),
      ...(signer && authorityKeyId ? [await x509.AuthorityKeyIdentifierExtension.create(signer.certificate)] : []),
      ...ekuExtension(options.eku, profile.eku),
      ...sanExtension(options.san, sanCritical),
      ...nameConstraintsExtension(options.nameConstraints),
      ...extraExtensions(options.extensions),
    ],
  });
  const version1 = options.version === 1;
  if (!version1 && options.signatureHash === undefined)
    return { certificate, keys, key: await keyToPem(keys.privateKey) };
  const hash = options.signatureHash ?? (signingAlgorithm(signingKey).hash as SignatureHashInput);
  const resigned = resign(Buffer.from(certificate.rawData), signingKey, hash, version1);
  return { certificate: new x509.X509Certificate(resigned), keys, key: await keyToPem(keys.privateKey) };
}

async function makeCA(options: CAOptions, signer: Signer | undefined): Promise<TestCA> {
  const { certificate, keys, key } = await build(options, signer, {
    subject: signer ? 'CN=clientcert test intermediate CA' : 'CN=clientcert test root CA',
    ca: true,
    keyUsage: CA_KEY_USAGE,
    eku: null,
    subjectKeyId: true,
    validDays: 3650,
  });
  const base = toTestCertificate(certificate, key, keys, signer ? signer.chainBelow : []);
  const self: Signer = { keys, certificate, chainBelow: signer ? [base.cert, ...signer.chainBelow] : [] };
  return {
    ...base,
    issue: (issueOptions = {}) => issue(issueOptions, self),
    intermediate: (caOptions = {}) => makeCA(caOptions, self),
  };
}

async function issue(options: IssueOptions, signer: Signer): Promise<TestCertificate> {
  const { certificate, keys, key } = await build(options, signer, {
    subject: 'CN=clientcert test client',
    ca: false,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    eku: ['clientAuth'],
    subjectKeyId: false,
    validDays: 30,
  });
  return toTestCertificate(certificate, key, keys, signer.chainBelow);
}

/** Create a self-signed root CA (ECDSA P-256 unless `keyType: 'rsa'`). */
export function createCA(options: CAOptions = {}): Promise<TestCA> {
  return makeCA(options, undefined);
}

/** Create a self-signed end-entity certificate (not a CA), e.g. for "pinned leaf" or "untrusted" tests. */
export async function createSelfSigned(options: IssueOptions = {}): Promise<TestCertificate> {
  const { certificate, keys, key } = await build(options, undefined, {
    subject: 'CN=clientcert self-signed',
    ca: false,
    keyUsage: null,
    eku: ['clientAuth'],
    subjectKeyId: false,
    validDays: 30,
  });
  return toTestCertificate(certificate, key, keys, []);
}

export * from './envoy.js';
export * from './revocation.js';
