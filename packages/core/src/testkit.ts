/**
 * Test kit: throwaway CAs, intermediates and client/server certificates for tests and demos,
 * and XFCC headers built the way Envoy builds them.
 *
 * Generation uses @peculiar/x509 over WebCrypto. It needs the `reflect-metadata` polyfill, which is
 * why the kit is its own entry point (`@clientcert/core/testkit`): importing the middleware never
 * loads it.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyType = 'ec' | 'rsa';

export interface SubjectAltNameInput {
  dns?: string[];
  uri?: string[];
  email?: string[];
  ip?: string[];
}

/** Extended key usage by name or dotted OID. */
export type ExtKeyUsageInput = 'clientAuth' | 'serverAuth' | 'codeSigning' | 'emailProtection' | 'any' | (string & {});

export interface IssueOptions {
  /** Distinguished name in RFC 4514 form, e.g. `CN=alice,O=Acme`. */
  subject?: string;
  san?: SubjectAltNameInput;
  /** Extended key usage; `null` omits the extension. Leaves default to `['clientAuth']`. */
  eku?: ExtKeyUsageInput[] | null;
  keyType?: KeyType;
  /** RSA modulus length (default 2048). */
  rsaBits?: number;
  notBefore?: Date;
  notAfter?: Date;
  /** Validity from now when `notAfter` is not given (default 30 days; may be negative for expired). */
  validDays?: number;
  /** Hex serial number; random 16 bytes by default. */
  serialNumber?: string;
  /** Extra @peculiar/x509 extensions, for unusual test certificates. */
  extensions?: x509.Extension[];
}

export interface CAOptions extends Omit<IssueOptions, 'eku'> {
  /** basicConstraints pathLenConstraint; unlimited by default. */
  pathLength?: number;
  eku?: ExtKeyUsageInput[] | null;
}

/** A generated certificate with its private key, in the shapes `tls` and the middleware take. */
export interface TestCertificate {
  /** PEM of this certificate. */
  readonly cert: string;
  /** PKCS#8 PEM private key. */
  readonly key: string;
  readonly der: Buffer;
  readonly x509: X509Certificate;
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
  /** Issue a subordinate CA. */
  intermediate(options?: CAOptions): Promise<TestCA>;
}

const EKU_OIDS: Record<string, string> = {
  clientAuth: '1.3.6.1.5.5.7.3.2',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  any: '2.5.29.37.0',
};

const DAY_MS = 86_400_000;

function algorithm(keyType: KeyType, rsaBits: number): webcrypto.RsaHashedKeyGenParams | (webcrypto.EcKeyGenParams & { hash: string }) {
  return keyType === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: rsaBits, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }
    : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
}

async function generateKeys(keyType: KeyType, rsaBits: number): Promise<{ keys: CryptoKeyPair; alg: ReturnType<typeof algorithm> }> {
  const alg = algorithm(keyType, rsaBits);
  const keys = (await webcrypto.subtle.generateKey(alg as never, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { keys, alg };
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as never));
  const lines = pkcs8.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive and without a leading zero byte
  return Buffer.from(bytes).toString('hex');
}

function validity(options: IssueOptions): { notBefore: Date; notAfter: Date } {
  // Whole seconds: X.509 times carry no fractions, and tests compare them exactly.
  const now = Math.floor(Date.now() / 1000) * 1000;
  const notBefore = options.notBefore ?? new Date(now - 60_000);
  const notAfter = options.notAfter ?? new Date(now + (options.validDays ?? 30) * DAY_MS);
  return { notBefore, notAfter };
}

function sanExtension(san: SubjectAltNameInput | undefined): x509.Extension[] {
  if (!san) return [];
  const names: x509.JsonGeneralName[] = [
    ...(san.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(san.uri ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(san.email ?? []).map((value) => ({ type: 'email' as const, value })),
    ...(san.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  return names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : [];
}

function ekuExtension(eku: ExtKeyUsageInput[] | null | undefined, fallback: ExtKeyUsageInput[] | null): x509.Extension[] {
  const list = eku === undefined ? fallback : eku;
  if (!list) return [];
  return [new x509.ExtendedKeyUsageExtension(list.map((name) => EKU_OIDS[name] ?? name), false)];
}

/**
 * The kit takes names as RFC 4514 strings (most specific RDN first, as `ClientCertificate.subject`
 * prints them); @peculiar/x509 keeps a string's order as DER order, so reverse it.
 */
function dn(rfc4514: string): x509.Name {
  return new x509.Name(new x509.Name(rfc4514).toJSON().reverse());
}

function toTestCertificate(cert: x509.X509Certificate, key: string, chain: string[]): TestCertificate {
  const pem = cert.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
  const der = Buffer.from(cert.rawData);
  return {
    cert: pem,
    key,
    der,
    x509: new X509Certificate(der),
    chain,
    sha256: createHash('sha256').update(der).digest('hex'),
    fullChain: pem + chain.join(''),
  };
}

interface Signer {
  name: string;
  keys: CryptoKeyPair;
  alg: ReturnType<typeof algorithm>;
  certificate: x509.X509Certificate;
  /** This CA's PEM followed by its own chain (excluding the root). */
  chainBelow: string[];
}

async function makeCA(options: CAOptions, signer: Signer | undefined): Promise<TestCA> {
  const keyType = options.keyType ?? 'ec';
  const { keys, alg } = await generateKeys(keyType, options.rsaBits ?? 2048);
  const name = options.subject ?? (signer ? 'CN=clientcert test intermediate CA' : 'CN=clientcert test root CA');
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(true, options.pathLength, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(signer ? [await x509.AuthorityKeyIdentifierExtension.create(signer.certificate)] : []),
    ...ekuExtension(options.eku, null),
    ...sanExtension(options.san),
    ...(options.extensions ?? []),
  ];
  const { notBefore, notAfter } = validity({ validDays: 3650, ...options });
  const serialNumber = options.serialNumber ?? randomSerial();
  const certificate = signer
    ? await x509.X509CertificateGenerator.create({
        serialNumber, subject: dn(name), issuer: signer.certificate.subjectName, notBefore, notAfter,
        publicKey: keys.publicKey, signingKey: signer.keys.privateKey, signingAlgorithm: signer.alg, extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber, name: dn(name), notBefore, notAfter, keys, signingAlgorithm: alg, extensions,
      });
  const key = await keyToPem(keys.privateKey);
  const chain = signer ? signer.chainBelow : [];
  const base = toTestCertificate(certificate, key, chain);
  const self: Signer = {
    name, keys, alg, certificate,
    chainBelow: signer ? [base.cert, ...signer.chainBelow] : [],
  };
  return {
    ...base,
    issue: (issueOptions = {}) => issue(issueOptions, self),
    intermediate: (caOptions = {}) => makeCA(caOptions, self),
  };
}

async function issue(options: IssueOptions, signer: Signer): Promise<TestCertificate> {
  const { keys } = await generateKeys(options.keyType ?? 'ec', options.rsaBits ?? 2048);
  const { notBefore, notAfter } = validity(options);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: options.serialNumber ?? randomSerial(),
    subject: dn(options.subject ?? 'CN=clientcert test client'),
    issuer: signer.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: signer.alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      await x509.AuthorityKeyIdentifierExtension.create(signer.certificate),
      ...ekuExtension(options.eku, ['clientAuth']),
      ...sanExtension(options.san),
      ...(options.extensions ?? []),
    ],
  });
  return toTestCertificate(certificate, await keyToPem(keys.privateKey), signer.chainBelow);
}

/** Create a self-signed root CA (ECDSA P-256 unless `keyType: 'rsa'`). */
export function createCA(options: CAOptions = {}): Promise<TestCA> {
  return makeCA(options, undefined);
}

/** Create a self-signed end-entity certificate (not a CA), e.g. for "pinned leaf" or "untrusted" tests. */
export async function createSelfSigned(options: IssueOptions = {}): Promise<TestCertificate> {
  const { keys, alg } = await generateKeys(options.keyType ?? 'ec', options.rsaBits ?? 2048);
  const { notBefore, notAfter } = validity(options);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: options.serialNumber ?? randomSerial(),
    name: dn(options.subject ?? 'CN=clientcert self-signed'),
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...ekuExtension(options.eku, ['clientAuth']),
      ...sanExtension(options.san),
      ...(options.extensions ?? []),
    ],
  });
  return toTestCertificate(certificate, await keyToPem(keys.privateKey), []);
}

/** Which details an Envoy `set_current_client_cert_details` would add. */
export interface EnvoyXfccOptions {
  /** The proxy's own URI SANs (`By=`), one pair each. */
  by?: string[];
  /** Default: Cert, Chain, Subject, URI, DNS (everything Envoy can add, in Envoy's order). */
  details?: Array<'Cert' | 'Chain' | 'Subject' | 'URI' | 'DNS'>;
  /** Certificates the client presented after its leaf (PEM); default: the leaf's own chain. */
  presentedChain?: string[];
  /** A header value already on the request, for APPEND_FORWARD. */
  appendTo?: string;
}

/** Envoy's URL encoding: every byte except `A-Z a-z 0-9 * - . _` becomes `%XX`. */
export function envoyUrlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9*\-._]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Build one XFCC element exactly as Envoy's `mutateXfccRequestHeader` does (`SANITIZE_SET`,
 * or `APPEND_FORWARD` with `appendTo`): By, Hash, then the selected details; Cert/Chain/Subject
 * quoted, By/URI/DNS bare, `Subject=""` and a bare `URI=` kept when empty. Written independently
 * of the core's `formatXfcc` so that tests of the parser are not checked against itself.
 */
export function envoyXfcc(client: TestCertificate, options: EnvoyXfccOptions = {}): string {
  const details = options.details ?? ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];
  const parts: string[] = (options.by ?? []).map((uri) => `By=${uri}`);
  parts.push(`Hash=${client.sha256}`);
  const uris: string[] = [];
  const dns: string[] = [];
  for (const entry of (client.x509.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('URI:')) uris.push(entry.slice(4));
    if (entry.startsWith('DNS:')) dns.push(entry.slice(4));
  }
  for (const detail of details) {
    if (detail === 'Cert') parts.push(`Cert="${envoyUrlEncode(client.cert)}"`);
    if (detail === 'Chain') {
      const presented = [client.cert, ...(options.presentedChain ?? client.chain)];
      parts.push(`Chain="${presented.map(envoyUrlEncode).join('')}"`);
    }
    if (detail === 'Subject') parts.push(`Subject="${rfc2253(client.x509)}"`);
    if (detail === 'URI') parts.push(...(uris.length ? uris.map((u) => `URI=${u}`) : ['URI=']));
    if (detail === 'DNS') parts.push(...dns.map((d) => `DNS=${d}`));
  }
  const element = parts.join(';');
  return options.appendTo ? `${options.appendTo},${element}` : element;
}

/** OpenSSL's XN_FLAG_RFC2253 order (most specific first) from Node's one-per-line subject. */
function rfc2253(cert: X509Certificate): string {
  return cert.subject.split('\n').filter(Boolean).reverse().join(',');
}
