/**
 * One record per certificate object: everything this package derives from a certificate's bytes,
 * each computed on first read and kept, so nothing is parsed, hashed or loaded twice, and nobody
 * needs a cache of their own. Anchors, intermediates and certificates cached per socket or header
 * are seen again and again; the record is found in one WeakMap lookup.
 *
 * API:
 *
 *   factsOf(x509: X509Certificate): CertificateRecord
 *
 *   record.x509: X509Certificate
 *   record.der: Buffer                       a private copy of the DER; read it, never write it
 *   record.tbs: TbsLayout                    where every TBSCertificate field is (tbs.ts); one walk
 *   record.releaseLayout(): void             once a decision is made: `tbs`, `frames` and
 *                                            `extensions` are no longer kept (read again if asked)
 *   record.extensions: readonly Extension[]  { oid, critical, value } in order (strict: OIDs and
 *                                            criticality checked, duplicates malformed)
 *   record.extension(oid: string): Extension | undefined
 *   record.path: CertificateFacts            what path validation needs (extensions.ts)
 *   record.keyUsage: number | null | 'malformed'
 *                                            the keyUsage extension alone, as a KeyUsageBit mask
 *                                            (oids.ts: bit n of the BIT STRING is 1 << n)
 *   record.validity: ValidityWindow          { from, until } in ms (time.ts)
 *   record.digest(kind: 'sha1' | 'sha256' | 'spki'): Buffer
 *                                            of the DER, or SHA-256 of the SubjectPublicKeyInfo as
 *                                            node:crypto exports it (empty when it cannot load it)
 *   record.fingerprint256: string            Node's colon form (`x509.fingerprint256`)
 *   record.publicKey: KeyObject              `x509.publicKey`, loaded once (throws as Node does)
 *   record.signatureBy(issuer: X509Certificate): boolean | undefined
 *   record.rememberSignature(issuer: X509Certificate, valid: boolean): void
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
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { writePem } from '../encoding/pem.js';
import { isClientCertError } from '../errors.js';
import type { DistinguishedName, SubjectAltNames } from '../model.js';
import type { Tlv } from './der.js';
import { readKeyUsageMask } from './extensions.js';
import { decodeSubjectAltNames, spiffeIdOf } from './general-name.js';
import { decodeName, Name } from './name.js';
import { Oid } from './oids.js';
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
import { readValidity, type ValidityWindow } from './time.js';

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
const EMPTY = Buffer.alloc(0);
/** The contents of the OID 2.5.29.17 (subjectAltName), compared without decoding. */
const SUBJECT_ALT_NAME_ID = Buffer.from([0x55, 0x1d, 0x11]);

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
  #validity: ValidityWindow | undefined;
  #digests: { sha1?: Buffer; sha256?: Buffer; spki?: Buffer } | undefined;
  #fingerprint256: string | undefined;
  #publicKey: KeyObject | undefined;
  #signatures: WeakMap<X509Certificate, boolean> | undefined;
  #derived: Map<DerivedKey<unknown>, unknown> | undefined;
  // The parsed model's values (certificate.ts).
  #subject: DistinguishedName | undefined;
  #issuer: DistinguishedName | undefined;
  #san: SubjectAltNames | undefined;
  #spiffeId: string | null | undefined;
  #fingerprints: Fingerprints | undefined;
  #serialNumber: string | undefined;
  #extKeyUsage: readonly string[] | undefined;
  #pem: string | undefined;
  /** Whether `x509` has been locked (certificate.ts `lockX509`). */
  locked = false;
  /** Set by `releaseLayout`: the layout and extension lists are read again when needed, not kept. */
  #released = false;

  #der: Buffer | undefined;

  constructor(
    readonly x509: X509Certificate,
    der?: Buffer,
  ) {
    this.#der = der;
  }

  /** Copied from `x509.raw` on first read, unless `parseCertificate` gave its private copy. */
  get der(): Buffer {
    return (this.#der ??= privateCopy(this.x509.raw));
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
   * Lets go of the layout and the extension lists once a decision about the certificate is made:
   * what was derived from them (names, SANs, path facts, key usage, revocation facts) is kept,
   * and a cached certificate needs nothing else. A value not derived yet reads the DER again
   * (the same walk, the same result) without keeping the layout. Errors stay kept.
   */
  releaseLayout(): void {
    this.#released = true;
    if (!(this.#tbs instanceof Error)) this.#tbs = undefined;
    if (!(this.#frames instanceof Error)) this.#frames = undefined;
    if (!(this.#extensions instanceof Error)) this.#extensions = undefined;
  }

  extension(oid: string): Extension | undefined {
    const list = this.extensions;
    for (let i = 0; i < list.length; i++) if (list[i]!.oid === oid) return list[i];
    return undefined;
  }

  get path(): CertificateFacts {
    return unwrap((this.#path ??= keep(() => readPathFacts(this.der, this.tbs, () => this.extensions))));
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
    return (this.#validity ??= readValidity(this.x509));
  }

  digest(kind: 'sha1' | 'sha256' | 'spki'): Buffer {
    const digests = (this.#digests ??= {});
    return (digests[kind] ??= kind === 'spki' ? this.#spkiSha256() : createHash(kind).update(this.der).digest());
  }

  /** As node:crypto exports the key: a key it cannot load matches nothing rather than throwing. */
  #spkiSha256(): Buffer {
    try {
      return createHash('sha256')
        .update(this.publicKey.export({ type: 'spki', format: 'der' }))
        .digest();
    } catch {
      return EMPTY;
    }
  }

  get fingerprint256(): string {
    return (this.#fingerprint256 ??= this.x509.fingerprint256);
  }

  get publicKey(): KeyObject {
    return (this.#publicKey ??= this.x509.publicKey);
  }

  signatureBy(issuer: X509Certificate): boolean | undefined {
    return this.#signatures?.get(issuer);
  }

  rememberSignature(issuer: X509Certificate, valid: boolean): void {
    (this.#signatures ??= new WeakMap()).set(issuer, valid);
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

  get serialNumber(): string {
    return (this.#serialNumber ??= this.x509.serialNumber.toUpperCase());
  }

  /**
   * Node names the extended key usage list `keyUsage` (undefined when the extension is absent)
   * and returns one cached array: frozen here, so it stays what the certificate says.
   */
  get extKeyUsage(): readonly string[] {
    return (this.#extKeyUsage ??= Object.freeze(this.x509.keyUsage ?? NO_STRINGS));
  }

  get pem(): string {
    return (this.#pem ??= writePem(this.der, 'CERTIFICATE'));
  }
}

const records = new WeakMap<X509Certificate, CertificateRecord>();

/** The record of `x509`, made on first use. */
export function factsOf(x509: X509Certificate): CertificateRecord {
  let record = records.get(x509);
  if (record === undefined) {
    record = new CertificateRecord(x509);
    records.set(x509, record);
  }
  return record;
}

/**
 * The record of a certificate object `parseCertificate` has just made from `der` (a private copy
 * already): no second copy, and no round trip through `x509.raw`.
 */
export function recordFor(x509: X509Certificate, der: Buffer): CertificateRecord {
  let record = records.get(x509);
  if (record === undefined) {
    record = new CertificateRecord(x509, der);
    records.set(x509, record);
  }
  return record;
}
