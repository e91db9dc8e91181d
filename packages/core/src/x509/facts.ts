/**
 * One record per certificate: everything this package derives from a certificate's DER, each
 * value computed on first read and kept, so nothing is parsed, hashed or loaded twice, and nobody
 * needs a cache of their own. The record is made from the DER alone: node:crypto's
 * `X509Certificate` is made only when someone reads `record.x509` (x509-object.ts), never on the
 * decision path. Anchors, intermediates and certificates cached per socket or header are seen
 * again and again; a record made for a Node object is found from it in one WeakMap lookup.
 *
 * API:
 *
 *   new CertificateRecord(der: Buffer, x509?: X509Certificate)
 *                                            `der` a private copy (x509-object.ts `privateCopy`)
 *   factsOf(x509: X509Certificate): CertificateRecord
 *                                            the record of a Node object, made on first use
 *
 *   record.der: Buffer                       the private copy of the DER; read it, never write it
 *   record.shareDer(text, fromText): boolean lets go of the DER when `text` (kept elsewhere
 *                                            anyway) turns into the same bytes; read again from it
 *   record.x509: X509Certificate             made on first read (throws `certificate_malformed`
 *                                            for bytes OpenSSL refuses); locked once `lock()`ed
 *   record.hasX509: boolean                  whether it has been made (or was given)
 *   record.lock(): void                      the certificate is shared: its Node object, now or
 *                                            when made, is frozen (x509-object.ts `lockX509`)
 *   record.tbs: TbsLayout                    where every TBSCertificate field is (tbs.ts); one walk
 *   record.releaseLayout(): void             once a decision is made: `tbs`, `frames`,
 *                                            `extensions` and `path` are no longer kept (read
 *                                            again if asked)
 *   record.extensions: readonly Extension[]  { oid, critical, value } in order (strict: OIDs and
 *                                            criticality checked, duplicates malformed)
 *   record.extension(oid: string): Extension | undefined
 *   record.path: CertificateFacts            what path validation needs (extensions.ts)
 *   record.keyUsage: number | null | 'malformed'
 *                                            the keyUsage extension alone, as a KeyUsageBit mask
 *                                            (oids.ts: bit n of the BIT STRING is 1 << n)
 *   record.validity: ValidityWindow          { from, until } in ms (time.ts)
 *   record.isCA: boolean                     as node:crypto's `x509.ca` (OpenSSL's X509_check_ca)
 *   record.digest(kind: 'sha1' | 'sha256' | 'spki'): Buffer
 *                                            of the DER, or SHA-256 of the SubjectPublicKeyInfo
 *                                            as encoded
 *   record.fingerprint256: string            Node's colon form (`x509.fingerprint256`)
 *   record.publicKey: KeyObject              loaded once from the SubjectPublicKeyInfo (throws
 *                                            for a key node:crypto cannot load)
 *   record.signatureBy(issuer: CertificateRecord): boolean | undefined
 *   record.rememberSignature(issuer: CertificateRecord, valid: boolean): void
 *                                            whether `issuer`'s key verified this signature
 *   record.derived<T>(key: DerivedKey<T>, compute: (record) => T): T
 *                                            a value a higher layer derives per certificate (say
 *                                            revocation's serial key and distribution points),
 *                                            computed once; `const KEY = derivedKey<T>('name')`
 *
 * The getters that read names and SANs (`subject`, `issuer`, `san`, `frames`,
 * `subjectAltNameValue`, ...) serve the parsed model (certificate.ts); `parseCertificate`
 * validated what they read, so there they cannot fail.
 * `tbs`, `extensions` and `path` throw `certificate_malformed` for a certificate whose framing
 * cannot be read, the same error on every read.
 */
import { createHash, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { writePem } from '../encoding/pem.js';
import { isClientCertError } from '../errors.js';
import type { DistinguishedName, SubjectAltNames } from '../model.js';
import { DerCursor, decodeOid, Tag, type Tlv } from './der.js';
import { readKeyUsageMask } from './extensions.js';
import { decodeSubjectAltNames, spiffeIdOf } from './general-name.js';
import { decodeName, Name } from './name.js';
import { KeyUsageBit, Oid } from './oids.js';
import { type CertificateFacts, readPathFacts } from './path-facts.js';
import {
  type Extension,
  type ExtensionFrame,
  frameIs,
  interpretFrames,
  readExtensionFrames,
  readTbs,
  type TbsLayout,
} from './tbs.js';
import { readValidityWindow, type ValidityWindow } from './time.js';
import { lockX509, privateCopy, x509FromDer } from './x509-object.js';

export type { Extension, TbsLayout, ValidityWindow };

/** The key of a value derived per certificate by a higher layer; see `derivedKey`. */
export interface DerivedKey<T> {
  readonly name: string;
  /** Never read: carries `T`. */
  readonly type?: T;
}

/** A key for `record.derived`; make one per kind of value, at module level. */
export function derivedKey<T>(name: string): DerivedKey<T> {
  return Object.freeze({ name });
}

type Fingerprints = { readonly sha1: string; readonly sha256: string };
const NO_STRINGS: readonly string[] = Object.freeze([]);
/** The contents of the OIDs 2.5.29.17 (subjectAltName) and 2.5.29.37 (extKeyUsage), compared without decoding. */
const SUBJECT_ALT_NAME_ID = Buffer.from([0x55, 0x1d, 0x11]);
const EXT_KEY_USAGE_ID = Buffer.from([0x55, 0x1d, 0x25]);

/** Records of Node objects: those `factsOf` made, and those whose `x509` was made by the record. */
const records = new WeakMap<X509Certificate, CertificateRecord>();

/**
 * What a reading getter keeps: the value, or the error reading it threw (a broken certificate
 * fails the same way every time). Values are never Errors, so no wrapper object is needed.
 */
type Kept<T> = T | Error | undefined;

function keep<T>(read: () => T): T | Error {
  try {
    return read();
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    return error;
  }
}

function unwrap<T>(kept: T | Error): T {
  if (kept instanceof Error) throw kept;
  return kept;
}

/** See the module comment. Internal to the package: never handed to applications. */
export class CertificateRecord {
  #tbs: Kept<TbsLayout>;
  #frames: Kept<readonly ExtensionFrame[]>;
  #extensions: Kept<readonly Extension[]>;
  #path: Kept<CertificateFacts>;
  #keyUsage: number | null | 'malformed' | undefined;
  #validity: Kept<ValidityWindow>;
  #digests: { sha1?: Buffer; sha256?: Buffer; spki?: Buffer } | undefined;
  #publicKey: KeyObject | undefined;
  /** The first issuer whose key was tried on this signature, and the verdict: a leaf has one. */
  #signer: CertificateRecord | undefined;
  #signerValid = false;
  /** Verdicts for further issuers (cross-signed CAs, look-alike names). */
  #signatures: WeakMap<CertificateRecord, boolean> | undefined;
  #derived: Map<DerivedKey<unknown>, unknown> | undefined;
  // The parsed model's values (certificate.ts).
  #subject: DistinguishedName | undefined;
  #issuer: DistinguishedName | undefined;
  #san: SubjectAltNames | undefined;
  #spiffeId: string | null | undefined;
  #fingerprints: Fingerprints | undefined;
  #serialNumber: string | undefined;
  #extKeyUsage: readonly string[] | undefined;
  #isCA: boolean | undefined;
  #pem: string | undefined;
  #x509: X509Certificate | undefined;
  /** Set by `lock`: Node's object is locked whenever it exists. */
  #locked = false;
  /** Set by `releaseLayout`: the layout and extension lists are read again when needed, not kept. */
  #released = false;

  #der: Buffer | undefined;
  /** Text kept elsewhere anyway that `#derFromText` turns into the DER (see `shareDer`). */
  #derText: string | undefined;
  #derFromText: ((text: string) => Buffer) | undefined;

  /** `der` must be a private copy (x509-object.ts `privateCopy`); `x509`, Node's object for it when one exists. */
  constructor(der: Buffer, x509?: X509Certificate) {
    this.#der = der;
    this.#x509 = x509;
  }

  /** The private copy of the DER; read it, never write it. */
  get der(): Buffer {
    return this.#der ?? (this.#der = this.#derFromText!(this.#derText!));
  }

  /**
   * Lets go of the DER when `text` — kept by this process anyway (a cached header value's
   * piece, a TLS client's cache key) — turns into the very same bytes through `fromText`; it is
   * read again from the text if asked. Anything else (an error, other bytes) changes nothing.
   * A fleet's cache then holds each certificate once, not as text and as bytes.
   */
  shareDer(text: string, fromText: (text: string) => Buffer): boolean {
    const der = this.#der;
    if (der === undefined) return this.#derText === text;
    let same = false;
    try {
      same = fromText(text).equals(der);
    } catch {
      // Not the same bytes: this only saves memory, so nothing is worth failing a request for.
    }
    if (same) {
      this.#derText = text;
      this.#derFromText = fromText;
      this.#der = undefined;
    }
    return same;
  }

  /**
   * Node's object, made on first read (~100 µs and ~10 KB outside the heap, so never on the
   * decision path). Throws `certificate_malformed` for bytes OpenSSL refuses.
   */
  get x509(): X509Certificate {
    let x509 = this.#x509;
    if (x509 === undefined) {
      x509 = x509FromDer(this.der);
      this.#x509 = x509;
      records.set(x509, this);
      if (this.#locked) lockX509(x509, this.der);
    }
    return x509;
  }

  get hasX509(): boolean {
    return this.#x509 !== undefined;
  }

  /** The certificate is shared between requests from now on: see `lockX509`. */
  lock(): void {
    if (this.#locked) return;
    this.#locked = true;
    if (this.#x509 !== undefined) lockX509(this.#x509, this.der);
  }

  get tbs(): TbsLayout {
    const tbs = this.#tbs ?? keep(() => readTbs(this.der));
    if (!this.#released || tbs instanceof Error) this.#tbs = tbs;
    return unwrap(tbs);
  }

  /** The extension list at framing strictness (tbs.ts): what the parsed model needs. */
  get frames(): readonly ExtensionFrame[] {
    const frames =
      this.#frames ??
      keep(() => {
        const { extensions } = this.tbs;
        return extensions === undefined ? [] : readExtensionFrames(this.der, extensions);
      });
    if (!this.#released || frames instanceof Error) this.#frames = frames;
    return unwrap(frames);
  }

  get extensions(): readonly Extension[] {
    const extensions = this.#extensions ?? keep(() => interpretFrames(this.der, this.frames));
    if (!this.#released || extensions instanceof Error) this.#extensions = extensions;
    return unwrap(extensions);
  }

  /**
   * Lets go of the layout, the extension lists and the path facts once a decision about the
   * certificate is made: what the model shows (names, SANs, key usage, the CA flag, revocation
   * facts) is kept, and a cached certificate needs nothing else; deciding it again reads the DER
   * again (and hashes it again). A value not derived yet reads the DER again (the same walk, the same result) without
   * keeping what it read on the way. Errors stay kept.
   */
  releaseLayout(): void {
    this.#released = true;
    if (!(this.#tbs instanceof Error)) this.#tbs = undefined;
    if (!(this.#frames instanceof Error)) this.#frames = undefined;
    if (!(this.#extensions instanceof Error)) this.#extensions = undefined;
    if (!(this.#path instanceof Error)) this.#path = undefined;
    // Digests of the DER are made again if asked (~1 µs): a fleet's cache should not hold one per client.
    if (this.#digests?.spki === undefined) this.#digests = undefined;
  }

  extension(oid: string): Extension | undefined {
    const list = this.extensions;
    for (let i = 0; i < list.length; i++) if (list[i]!.oid === oid) return list[i];
    return undefined;
  }

  get path(): CertificateFacts {
    const path = this.#path ?? keep(() => readPathFacts(this.der, this.tbs, () => this.extensions));
    if (!this.#released || path instanceof Error) this.#path = path;
    return unwrap(path);
  }

  get keyUsage(): number | null | 'malformed' {
    if (this.#keyUsage === undefined) {
      try {
        const extension = this.extension(Oid.keyUsage);
        this.#keyUsage = extension === undefined ? null : readKeyUsageMask(this.der, extension.value);
      } catch (error) {
        if (!isClientCertError(error)) throw error;
        this.#keyUsage = 'malformed';
      }
    }
    return this.#keyUsage;
  }

  get validity(): ValidityWindow {
    return unwrap((this.#validity ??= keep(() => readValidityWindow(this.der, this.tbs.validity))));
  }

  /**
   * As node:crypto's `x509.ca`, which is OpenSSL's `X509_check_ca() == 1`: basicConstraints with
   * cA asserted, a keyUsage (if any) with keyCertSign, and extensions that can be read.
   */
  get isCA(): boolean {
    if (this.#isCA === undefined) {
      const facts = keep(() => this.path);
      this.#isCA =
        !(facts instanceof Error) &&
        facts.malformed === null &&
        facts.basicConstraints?.ca === true &&
        (facts.keyUsage === null || (facts.keyUsage & KeyUsageBit.keyCertSign) !== 0);
    }
    return this.#isCA;
  }

  /** SHA-1 or SHA-256 of the DER, or SHA-256 of the SubjectPublicKeyInfo as encoded (what key pins name). */
  digest(kind: 'sha1' | 'sha256' | 'spki'): Buffer {
    const digests = (this.#digests ??= {});
    return (digests[kind] ??=
      kind === 'spki'
        ? createHash('sha256').update(this.#spki()).digest()
        : createHash(kind).update(this.der).digest());
  }

  /** The DER SubjectPublicKeyInfo: a view of the private copy. */
  #spki(): Buffer {
    const { start, end } = this.tbs.subjectPublicKeyInfo;
    return this.der.subarray(start, end);
  }

  /** Node's colon form of the SHA-256 fingerprint (upper-case hex pairs). */
  get fingerprint256(): string {
    return this.digest('sha256')
      .toString('hex')
      .toUpperCase()
      .replace(/..(?!$)/g, '$&:');
  }

  /** Loaded once from the SPKI: what checks the signatures this certificate's key made. */
  get publicKey(): KeyObject {
    return (this.#publicKey ??= createPublicKey({ key: this.#spki(), format: 'der', type: 'spki' }));
  }

  signatureBy(issuer: CertificateRecord): boolean | undefined {
    return issuer === this.#signer ? this.#signerValid : this.#signatures?.get(issuer);
  }

  /** The first verdict is kept in two fields (a WeakMap per cached leaf would cost more than the rest of it). */
  rememberSignature(issuer: CertificateRecord, valid: boolean): void {
    if (this.#signer === undefined || this.#signer === issuer) {
      this.#signer = issuer;
      this.#signerValid = valid;
    } else {
      (this.#signatures ??= new WeakMap()).set(issuer, valid);
    }
  }

  derived<T>(key: DerivedKey<T>, compute: (record: CertificateRecord) => T): T {
    const derived = (this.#derived ??= new Map());
    if (derived.has(key)) return derived.get(key) as T;
    const value = compute(this);
    derived.set(key, value);
    return value;
  }

  // -------------------------------------------------------------------------------------------
  // The parsed model's values, frozen: they are shared by every request that sees the certificate.

  get subject(): DistinguishedName {
    return (this.#subject ??= new Name(decodeName(this.der, this.tbs.subject)));
  }

  get issuer(): DistinguishedName {
    return (this.#issuer ??= new Name(decodeName(this.der, this.tbs.issuer)));
  }

  get san(): SubjectAltNames {
    return (this.#san ??= decodeSubjectAltNames(this.der, this.subjectAltNameValue));
  }

  /** The subjectAltName extension's value, found by its encoded OID at framing strictness. */
  get subjectAltNameValue(): Tlv | undefined {
    const frames = this.frames;
    for (let i = 0; i < frames.length; i++) {
      if (frameIs(this.der, frames[i]!, SUBJECT_ALT_NAME_ID)) return frames[i]!.value;
    }
    return undefined;
  }

  get spiffeId(): string | null {
    if (this.#spiffeId === undefined) this.#spiffeId = spiffeIdOf(this.san.uri);
    return this.#spiffeId;
  }

  get fingerprints(): Fingerprints {
    return (this.#fingerprints ??= Object.freeze({
      sha1: this.digest('sha1').toString('hex'),
      sha256: this.digest('sha256').toString('hex'),
    }));
  }

  /** As node:crypto prints it (`x509.serialNumber`, upper case). */
  get serialNumber(): string {
    return (this.#serialNumber ??= serialText(this.der, this.tbs.serialNumber));
  }

  /**
   * The extended key usage OIDs, as node:crypto's `x509.keyUsage` lists them; empty when the
   * extension is absent or cannot be read (Node then has none either).
   */
  get extKeyUsage(): readonly string[] {
    if (this.#extKeyUsage === undefined) {
      let oids = NO_STRINGS;
      for (const frame of this.frames) {
        if (frameIs(this.der, frame, EXT_KEY_USAGE_ID)) oids = readKeyPurposes(this.der, frame.value);
      }
      this.#extKeyUsage = oids;
    }
    return this.#extKeyUsage;
  }

  get pem(): string {
    return (this.#pem ??= writePem(this.der, 'CERTIFICATE'));
  }
}

/** The record of `x509`, made on first use (the DER copied once from `x509.raw`). */
export function factsOf(x509: X509Certificate): CertificateRecord {
  let record = records.get(x509);
  if (record === undefined) {
    record = new CertificateRecord(privateCopy(x509.raw), x509);
    records.set(x509, record);
  }
  return record;
}

/**
 * The serial number as node:crypto prints it (OpenSSL's `BN_bn2hex`): whole octets of upper-case
 * hex without leading zero octets, `0` for zero, and a `-` before the magnitude of a negative one.
 */
function serialText(der: Buffer, serial: Tlv): string {
  const { valueStart: start, end } = serial;
  if ((der[start]! & 0x80) === 0) {
    let first = start;
    while (first < end - 1 && der[first] === 0) first++;
    return first === end - 1 && der[first] === 0 ? '0' : der.toString('hex', first, end).toUpperCase();
  }
  // Two's complement: the magnitude is the complement plus one.
  const magnitude = Buffer.allocUnsafe(end - start);
  let carry = 1;
  for (let i = end - 1; i >= start; i--) {
    const sum = (~der[i]! & 0xff) + carry;
    magnitude[i - start] = sum & 0xff;
    carry = sum >> 8;
  }
  let first = 0;
  while (first < magnitude.length - 1 && magnitude[first] === 0) first++;
  return `-${magnitude.toString('hex', first).toUpperCase()}`;
}

/** ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId, read leniently: unreadable is none. */
function readKeyPurposes(der: Buffer, extensionValue: Tlv): readonly string[] {
  try {
    const value = DerCursor.inside(der, extensionValue);
    const list = DerCursor.inside(der, value.expect(Tag.SEQUENCE, 'extKeyUsage'));
    value.finish('extKeyUsage');
    const oids: string[] = [];
    while (!list.done) {
      const oid = list.expect(Tag.OID, 'key purpose');
      oids.push(decodeOid(der, oid.valueStart, oid.end));
    }
    return Object.freeze(oids);
  } catch (error) {
    if (!isClientCertError(error)) throw error;
    return NO_STRINGS;
  }
}
