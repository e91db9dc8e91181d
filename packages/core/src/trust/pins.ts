/**
 * Pins: accept a client certificate because it *is* a known certificate or key, or because its
 * verified path runs through a known CA.
 *
 * A pin is one of
 * - a certificate (PEM text, DER or PEM bytes, or an `X509Certificate`): the leaf must be
 *   byte-for-byte that certificate (Couper's `leaf_certificate`);
 * - `sha256:<hex>`: the SHA-256 fingerprint of the leaf's DER (Envoy's `verify_certificate_hash`;
 *   64 hex digits with or without colons/spaces, any case, also bare or as OpenSSL prints it,
 *   `SHA256 Fingerprint=AB:CD:…`);
 * - `spki-sha256:<base64 or hex>` or `sha256/<base64>` (OkHttp / HPKP): the SHA-256 of the leaf's
 *   DER SubjectPublicKeyInfo (Envoy's `verify_certificate_spki`, which is also accepted bare as
 *   44 characters of base64). A key pin survives renewal as long as the key is kept;
 * - `{ issuer: <pin> }`: some certificate *above* the leaf in the verified path (an intermediate
 *   or the trust anchor, at any depth) matches. Unlike Couper, which looks only at the immediate
 *   issuer, this works through intermediates. A CA given as a certificate stands for its key
 *   (compared by SPKI), so a re-issued or cross-signed copy of the same CA matches too; pin
 *   `sha256:` of the CA certificate to require one exact certificate;
 * - `{ leaf: <pin>, issuer: <pin> }`: both (a CA restricted to specific leaves); `name` labels
 *   any object form in results.
 *
 * The list is any-of. SHA-1 fingerprints are refused here: a pin decides trust, and SHA-1 is not
 * collision resistant (identities in rules.ts accept SHA-1 thumbprints, as Azure shows them,
 * because they only narrow an already trusted certificate).
 *
 * An issuer pin never makes a certificate trusted on its own: it narrows the paths that chain
 * verification already accepted. It is only meaningful when the caller passes the *verified*
 * path (`context.chain`, leaf first), never the chain a client merely presented.
 *
 * Digests are compared with `crypto.timingSafeEqual` on equal-length buffers.
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto';
import { isClientCertError } from '../errors.js';
import type { ClientCertificate } from '../model.js';
import { invalidOption, knownKeys } from '../validate.js';
import { certificateRecord, recordOf, splitCertificates, toX509Certificate } from '../x509/certificate.js';
import { CertificateRecord, factsOf } from '../x509/facts.js';
import { pathRecords } from '../x509/path-view.js';

// ---------------------------------------------------------------------------------------------
// Shared with rules.ts: the context, digests and fingerprint notations

/**
 * What rules and pins may need besides the leaf. `chain` is the *verified* certification path,
 * leaf first and trust anchor last (as `verifyChain` returns it); `[]` when no path is known.
 */
export interface RuleContext {
  readonly chain: readonly X509Certificate[];
}

export type DigestAlgorithm = 'sha1' | 'sha256';

/** A digest of a certificate's DER or of its public key. */
export interface Digest {
  readonly of: 'certificate' | 'spki';
  readonly algorithm: DigestAlgorithm;
  readonly bytes: Buffer;
}

/** A certificate as the digest functions take it: its record, Node's object, or the model. */
export type DigestSubject = CertificateRecord | X509Certificate | ClientCertificate;

function recordFrom(cert: DigestSubject): CertificateRecord {
  if (cert instanceof CertificateRecord) return cert;
  return cert instanceof X509Certificate ? factsOf(cert) : recordOf(cert);
}

/**
 * SHA-1/SHA-256 of the certificate's DER, or SHA-256 of its SubjectPublicKeyInfo as encoded.
 * Kept on the certificate's record: anchors and cached leaves are seen again and again. Pass the
 * model or the record rather than `cert.x509`, which makes Node's object.
 */
export function certificateDigest(cert: DigestSubject, kind: 'sha1' | 'sha256' | 'spki'): Buffer {
  return recordFrom(cert).digest(kind);
}

/** Does `cert` have this digest? Constant time in the digest bytes. */
export function digestMatches(digest: Digest, cert: DigestSubject): boolean {
  const actual = certificateDigest(cert, digest.of === 'spki' ? 'spki' : digest.algorithm);
  return actual.length === digest.bytes.length && timingSafeEqual(actual, digest.bytes);
}

/**
 * The verified path as records, checked to start with `leaf`; the certificates above the leaf are
 * at indices 1 and up. A path that starts elsewhere is a bug in the caller (issuer checks would
 * look at the wrong certificates), so it throws rather than quietly failing or passing. The
 * pipeline's `context.chain` is a view (x509/path-view.ts): reading it here makes no Node object.
 */
export function verifiedPath(leaf: ClientCertificate, context: RuleContext | undefined): readonly CertificateRecord[] {
  const path = pathRecords(context?.chain ?? []);
  checkStartsWith(recordOf(leaf), path);
  return path;
}

function checkStartsWith(leaf: CertificateRecord, path: readonly CertificateRecord[]): void {
  const first = path[0];
  if (first !== undefined && first !== leaf && !first.der.equals(leaf.der)) {
    throw new TypeError('clientcert: context.chain must be the verified path starting with the leaf certificate');
  }
}

// Invisible marks that Windows' certificate dialog puts in copied thumbprints (U+200E, U+200F, U+FEFF).
const INVISIBLE_MARKS = /[\u200e\u200f\ufeff]/g;
/** `sha256:`, `SHA-256:`, `sha1:`, and OpenSSL's `SHA256 Fingerprint=` (anchored, linear). */
const FINGERPRINT_PREFIX = /^(sha-?256|sha-?1)(?: fingerprint)?\s*[:=]\s*/i;
const SPKI_PREFIX = /^spki-sha-?256\s*:\s*/i;
const OKHTTP_PREFIX = /^sha256\//i;
const SEPARATORS = /[\s:]/g;
const HEX = /^[0-9a-f]*$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Config text as written, minus surrounding whitespace and invisible marks. */
function clean(text: string): string {
  return text.replace(INVISIBLE_MARKS, '').trim();
}

/** Hex digits with colons/whitespace removed, or undefined when it is not hex. */
function hexBytes(text: string): Buffer | undefined {
  const digits = text.replace(SEPARATORS, '');
  return digits.length > 0 && digits.length % 2 === 0 && HEX.test(digits) ? Buffer.from(digits, 'hex') : undefined;
}

/** Strict standard base64 of exactly 32 bytes (padding optional), or undefined. */
function base64Sha256(text: string): Buffer | undefined {
  if (!BASE64.test(text) || (text.length !== 44 && text.length !== 43)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === 32 && bytes.toString('base64').replace(/=+$/, '') === text.replace(/=+$/, '')
    ? bytes
    : undefined;
}

function algorithmOfLength(bytes: Buffer): DigestAlgorithm | undefined {
  return bytes.length === 32 ? 'sha256' : bytes.length === 20 ? 'sha1' : undefined;
}

/**
 * Parses a certificate fingerprint ("thumbprint") in any common notation: hex in any case, with
 * or without colons or spaces, optionally prefixed `sha256:` / `sha1:` (or `SHA-256:`, or
 * OpenSSL's `SHA256 Fingerprint=`). 40 hex digits are SHA-1 (Azure's `Thumbprint`), 64 are
 * SHA-256. Throws `invalid_option` naming `option`.
 */
export function parseThumbprint(text: unknown, option: string, allowSha1: boolean): Digest {
  if (typeof text !== 'string') throw invalidOption(option, 'must be a fingerprint string');
  const value = clean(text);
  const prefix = FINGERPRINT_PREFIX.exec(value);
  const named = prefix ? (prefix[1]!.replace('-', '').toLowerCase() as DigestAlgorithm) : undefined;
  const bytes = hexBytes(prefix ? value.slice(prefix[0].length) : value);
  const algorithm = bytes && algorithmOfLength(bytes);
  if (bytes === undefined || algorithm === undefined) {
    throw invalidOption(
      option,
      'must be a hex fingerprint: 64 hex digits for SHA-256' +
        (allowSha1 ? ' or 40 for SHA-1' : '') +
        ' (colons, spaces and a "sha256:" prefix are allowed)',
    );
  }
  if (named !== undefined && named !== algorithm) {
    throw invalidOption(option, `says ${named} but has the length of a ${algorithm} fingerprint`);
  }
  if (algorithm === 'sha1' && !allowSha1) {
    throw invalidOption(
      option,
      'is a SHA-1 fingerprint; pins need SHA-256 ' +
        '(the certificate itself, "sha256:<hex>" of it, or "spki-sha256:<base64>" of its key)',
    );
  }
  return { of: 'certificate', algorithm, bytes };
}

const SPKI_FORMS =
  'must give the SHA-256 of the SubjectPublicKeyInfo as base64 (44 characters) or 64 hex digits, ' +
  'optionally prefixed "spki-sha256:"';

/** `spki-sha256:<base64|hex>` or `sha256/<base64>`; undefined when `value` has neither prefix. */
function parsePrefixedSpki(value: string, option: string): Digest | undefined {
  const prefix = SPKI_PREFIX.exec(value) ?? OKHTTP_PREFIX.exec(value);
  if (prefix === null) return undefined;
  const body = value.slice(prefix[0].length).trim();
  const hex = hexBytes(body);
  const bytes = hex?.length === 32 ? hex : base64Sha256(body);
  if (bytes === undefined) throw invalidOption(option, SPKI_FORMS);
  return { of: 'spki', algorithm: 'sha256', bytes };
}

/**
 * Parses the SHA-256 of a SubjectPublicKeyInfo: `spki-sha256:` or `sha256/` followed by base64 or
 * hex, or the bare base64 (Envoy's `verify_certificate_spki`) or 64 hex digits. Throws
 * `invalid_option` naming `option`.
 */
export function parseSpkiHash(text: unknown, option: string): Digest {
  if (typeof text !== 'string') throw invalidOption(option, SPKI_FORMS);
  const value = clean(text);
  const prefixed = parsePrefixedSpki(value, option);
  if (prefixed) return prefixed;
  const hex = hexBytes(value);
  const bytes = hex?.length === 32 ? hex : base64Sha256(value);
  if (bytes === undefined) throw invalidOption(option, SPKI_FORMS);
  return { of: 'spki', algorithm: 'sha256', bytes };
}

// ---------------------------------------------------------------------------------------------
// Pins

/**
 * One pin value: a certificate (PEM text, DER/PEM bytes, `X509Certificate`), `sha256:<hex>` of
 * the certificate, or `spki-sha256:<base64|hex>` / `sha256/<base64>` of its public key.
 */
export type PinValue = string | Uint8Array | X509Certificate;

/** The object form: a CA pin (`issuer`), a leaf pin, or both together; `name` labels results. */
export interface PinSpec {
  readonly name?: string;
  /** The leaf itself. */
  readonly leaf?: PinValue;
  /** A certificate above the leaf in the verified path, at any depth (anchor included). */
  readonly issuer?: PinValue;
}

export type PinInput = PinValue | PinSpec;

/** The `pins` option: one pin or a list (any-of). A PEM bundle string counts as one leaf pin per certificate. */
export type PinsOption = PinInput | readonly PinInput[];

export type PinResult =
  | { readonly ok: true /** The pin's `name`, or its option path such as `pins[2]`. */; readonly matched: string }
  | { readonly ok: false; readonly failed: 'pins'; readonly message: string };

/** How one pin value is matched against one certificate. */
type Matcher =
  | { readonly kind: 'digest'; readonly digest: Digest }
  /** DER equality: the SHA-256 narrows in constant time, then the bytes are compared. */
  | { readonly kind: 'der'; readonly digest: Digest; readonly der: Buffer };

interface CompiledPin {
  readonly leaf: Matcher | null;
  readonly issuer: Matcher | null;
  readonly result: PinResult;
}

/** Compiled `pins`; opaque apart from what an integrator needs to know. */
export interface CompiledPins {
  /** True when some pin is an `issuer` pin: `matchPins` then needs the verified path. */
  readonly usesChain: boolean;
  readonly size: number;
  /** @internal */
  readonly entries: readonly CompiledPin[];
}

const NO_PIN_MATCHED: PinResult = Object.freeze({
  ok: false,
  failed: 'pins',
  message: 'The client certificate does not match any pinned certificate or key.',
});

function derMatcher(der: Buffer): Matcher {
  return {
    kind: 'der',
    der,
    digest: { of: 'certificate', algorithm: 'sha256', bytes: createHash('sha256').update(der).digest() },
  };
}

/** DER of every certificate in a certificate-shaped input, or undefined when it is text that is not PEM. */
function certificatesIn(value: PinValue, option: string): Buffer[] | undefined {
  if (typeof value === 'string' && !value.includes('-----BEGIN')) return undefined;
  try {
    if (value instanceof X509Certificate) return [value.raw];
    const ders = splitCertificates(
      typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    );
    for (const der of ders) toX509Certificate(der); // a pin that is not a certificate must fail now, not never match
    if (ders.length === 0) throw invalidOption(option, 'contains no certificate');
    return ders;
  } catch (error) {
    if (isClientCertError(error) && error.code === 'invalid_option') throw error;
    throw invalidOption(option, 'is not a readable certificate');
  }
}

/**
 * A fingerprint or key-hash text pin. Bare hex is a certificate fingerprint and bare 44-character
 * base64 a key hash, as in Envoy's `verify_certificate_hash` and `verify_certificate_spki`; the
 * two cannot be confused (64 hex digits are not the base64 of 32 bytes).
 */
function parseTextPin(text: string, option: string): Matcher {
  const value = clean(text);
  const spki = parsePrefixedSpki(value, option);
  if (spki) return { kind: 'digest', digest: spki };
  if (FINGERPRINT_PREFIX.test(value) || hexBytes(value) !== undefined) {
    return { kind: 'digest', digest: parseThumbprint(value, option, false) };
  }
  const envoySpki = base64Sha256(value);
  if (envoySpki) return { kind: 'digest', digest: { of: 'spki', algorithm: 'sha256', bytes: envoySpki } };
  throw invalidOption(
    option,
    'is not a certificate, a "sha256:<hex>" fingerprint or an "spki-sha256:<base64>" key hash',
  );
}

/** Matchers for one value; a bundle gives several (only where `many` allows it). */
function compileValue(value: unknown, option: string, role: 'leaf' | 'issuer', many: boolean): Matcher[] {
  if (typeof value !== 'string' && !(value instanceof Uint8Array) && !(value instanceof X509Certificate)) {
    throw invalidOption(option, 'must be a certificate (PEM, DER or X509Certificate) or a fingerprint string');
  }
  const ders = certificatesIn(value, option);
  if (ders === undefined) return [parseTextPin(value as string, option)];
  if (ders.length > 1 && !many) throw invalidOption(option, 'must hold exactly one certificate');
  // A CA stands for its key (see the module comment); a leaf for its exact bytes.
  return ders.map((der) =>
    role === 'leaf'
      ? derMatcher(der)
      : {
          kind: 'digest',
          digest: { of: 'spki', algorithm: 'sha256', bytes: certificateDigest(certificateRecord(der), 'spki') },
        },
  );
}

const PIN_FIELDS: ReadonlySet<string> = new Set(['leaf', 'issuer', 'name']);

function compileSpec(
  spec: PinSpec,
  option: string,
): { name: string | undefined; leaf: Matcher | null; issuer: Matcher | null } {
  knownKeys(spec, PIN_FIELDS, option);
  if (spec.name !== undefined && (typeof spec.name !== 'string' || spec.name === ''))
    throw invalidOption(`${option}.name`, 'must be a non-empty string');
  if (spec.leaf === undefined && spec.issuer === undefined)
    throw invalidOption(option, 'must have a leaf or an issuer pin');
  return {
    name: spec.name,
    leaf: spec.leaf === undefined ? null : compileValue(spec.leaf, `${option}.leaf`, 'leaf', false)[0]!,
    issuer: spec.issuer === undefined ? null : compileValue(spec.issuer, `${option}.issuer`, 'issuer', false)[0]!,
  };
}

function isPinValue(value: unknown): value is PinValue {
  return typeof value === 'string' || value instanceof Uint8Array || value instanceof X509Certificate;
}

/**
 * Validates the `pins` option once and returns the matcher. Every problem throws
 * `invalid_option` naming the exact entry, e.g. `pins[2].issuer`.
 */
export function compilePins(input: PinsOption, option = 'pins'): CompiledPins {
  const list: readonly unknown[] = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw invalidOption(option, 'must list at least one pin');
  const entries: CompiledPin[] = [];
  const names = new Set<string>();
  list.forEach((item, index) => {
    const path = Array.isArray(input) ? `${option}[${index}]` : option;
    if (isPinValue(item)) {
      for (const leaf of compileValue(item, path, 'leaf', true)) {
        entries.push({ leaf, issuer: null, result: Object.freeze({ ok: true, matched: path }) });
      }
      return;
    }
    if (typeof item !== 'object' || item === null)
      throw invalidOption(path, 'must be a certificate, a fingerprint string or { leaf, issuer, name }');
    const spec = compileSpec(item as PinSpec, path);
    const name = spec.name ?? path;
    if (names.has(name)) throw invalidOption(`${path}.name`, 'must be unique');
    names.add(name);
    entries.push({ leaf: spec.leaf, issuer: spec.issuer, result: Object.freeze({ ok: true, matched: name }) });
  });
  return Object.freeze({ usesChain: entries.some((entry) => entry.issuer !== null), size: entries.length, entries });
}

function matcherMatches(matcher: Matcher, record: CertificateRecord): boolean {
  if (!digestMatches(matcher.digest, record)) return false;
  if (matcher.kind === 'digest') return true;
  const der = record.der;
  return der.length === matcher.der.length && timingSafeEqual(der, matcher.der);
}

/**
 * Does the leaf match any pin? `context.chain` (the verified path, leaf first) is needed for
 * `issuer` pins only; without it they do not match. Synchronous; never throws for a certificate,
 * only for a `context.chain` that does not start with the leaf.
 */
export function matchPins(pins: CompiledPins, cert: ClientCertificate, context?: RuleContext): PinResult {
  const leaf = recordOf(cert);
  const path = pins.usesChain ? pathRecords(context?.chain ?? []) : [];
  return matchPinsOnPath(pins, leaf, path);
}

/** `matchPins` over records: `path` is the verified path (leaf first), or empty. */
export function matchPinsOnPath(
  pins: CompiledPins,
  leaf: CertificateRecord,
  path: readonly CertificateRecord[],
): PinResult {
  if (pins.usesChain) checkStartsWith(leaf, path);
  for (const pin of pins.entries) {
    if (pin.leaf !== null && !matcherMatches(pin.leaf, leaf)) continue;
    if (pin.issuer !== null && !aboveLeafMatches(pin.issuer, path)) continue;
    return pin.result;
  }
  return NO_PIN_MATCHED;
}

/** Does any certificate above the leaf (index 1 and up) match? */
function aboveLeafMatches(matcher: Matcher, path: readonly CertificateRecord[]): boolean {
  for (let i = 1; i < path.length; i++) {
    if (matcherMatches(matcher, path[i]!)) return true;
  }
  return false;
}
