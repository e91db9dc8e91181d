/**
 * The one walk over a certificate's framing (RFC 5280 §4.1), and the one extension-list reader.
 *
 * `readTbs` checks the framing of Certificate and TBSCertificate and returns where every field
 * is; what a field holds is read by the module that knows it (names in name.ts, the key in
 * public-key.ts, extensions in extensions.ts), from these offsets, without walking again.
 *
 * Extension lists are read at two strictnesses, because two callers need two:
 * - `readExtensionFrames`: framing, and no extension twice (§4.2), compared by the encoded OID.
 *   What parsing the model needs: it only looks for the subjectAltName, and a certificate with an
 *   oddly encoded criticality flag or an unknown extension's odd OID still parses;
 * - `readExtensions`: as frames, and each OID well formed and decoded, each criticality a DER
 *   BOOLEAN. What path validation and revocation act on.
 */
import { contextTag, DerCursor, decodeOid, malformed, readBoolean, readTlv, Tag, type Tlv } from './der.js';

/** Where the fields of one certificate are, as offsets into its DER. */
export interface TbsLayout {
  /** The outer `Certificate ::= SEQUENCE`, spanning the whole input. */
  readonly certificate: Tlv;
  readonly tbs: Tlv;
  /** The outer signatureAlgorithm (the one the signature is checked under). */
  readonly signatureAlgorithm: Tlv;
  readonly signatureValue: Tlv;
  /** The EXPLICIT [0] version wrapper; absent for version 1. */
  readonly version: Tlv | undefined;
  readonly serialNumber: Tlv;
  /** TBSCertificate.signature: must equal `signatureAlgorithm` (§4.1.1.2). */
  readonly innerSignature: Tlv;
  readonly issuer: Tlv;
  readonly validity: Tlv;
  readonly subject: Tlv;
  readonly subjectPublicKeyInfo: Tlv;
  readonly issuerUniqueId: Tlv | undefined;
  readonly subjectUniqueId: Tlv | undefined;
  /** The EXPLICIT [3] wrapper around Extensions; absent without extensions. */
  readonly extensions: Tlv | undefined;
}

/** The outer `Certificate ::= SEQUENCE` must span the whole input: no trailing bytes. */
export function checkOuterFraming(der: Buffer): Tlv {
  if (der.length === 0) throw malformed('empty input');
  const outer = readTlv(der, 0, der.length);
  if (outer.tag !== Tag.SEQUENCE) throw malformed('not a DER certificate');
  if (outer.end !== der.length) throw malformed('trailing data after the certificate');
  return outer;
}

/** Checks the framing of Certificate and TBSCertificate and locates every field, in one pass. */
export function readTbs(der: Buffer): TbsLayout {
  const certificate = checkOuterFraming(der);
  const outer = DerCursor.inside(der, certificate);
  const tbs = outer.expect(Tag.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = outer.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  const signatureValue = outer.expect(Tag.BIT_STRING, 'signatureValue');
  outer.finish('signatureValue');

  const fields = DerCursor.inside(der, tbs);
  return {
    certificate,
    tbs,
    signatureAlgorithm,
    signatureValue,
    version: fields.optional(contextTag(0, true), 'version'),
    serialNumber: fields.expect(Tag.INTEGER, 'serialNumber'),
    innerSignature: fields.expect(Tag.SEQUENCE, 'signature'),
    issuer: fields.expect(Tag.SEQUENCE, 'issuer'),
    validity: fields.expect(Tag.SEQUENCE, 'validity'),
    subject: fields.expect(Tag.SEQUENCE, 'subject'),
    subjectPublicKeyInfo: fields.expect(Tag.SEQUENCE, 'subjectPublicKeyInfo'),
    issuerUniqueId: fields.optional(contextTag(1, false), 'issuerUniqueID'),
    subjectUniqueId: fields.optional(contextTag(2, false), 'subjectUniqueID'),
    extensions: finished(fields, fields.optional(contextTag(3, true), 'extensions')),
  };
}

function finished<T>(fields: DerCursor, last: T): T {
  fields.finish('tbsCertificate');
  return last;
}

/** One Extension's parts, not yet interpreted. */
export interface ExtensionFrame {
  /** The extnID OBJECT IDENTIFIER. */
  readonly id: Tlv;
  /** The critical BOOLEAN when present (DEFAULT FALSE). */
  readonly criticality: Tlv | undefined;
  /** The extnValue OCTET STRING; its contents are the extension's DER. */
  readonly value: Tlv;
}

/** One Extension, interpreted. */
export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING; its contents are the extension's DER. */
  readonly value: Tlv;
}

/**
 * The Extensions inside `list`: the EXPLICIT [3] wrapper of a certificate, or (with
 * `wrapped: false`) the `SEQUENCE OF Extension` itself, as CRLs and OCSP carry them. Framing and
 * duplicates only (see the module comment). `allowEmpty` (default true): RFC 5280 says
 * SIZE (1..MAX), but the certificate readers have always accepted an empty list.
 */
export function readExtensionFrames(
  der: Buffer,
  list: Tlv,
  options: { wrapped?: boolean; allowEmpty?: boolean } = {},
): ExtensionFrame[] {
  let sequence = list;
  if (options.wrapped !== false) {
    const wrapper = DerCursor.inside(der, list);
    sequence = wrapper.expect(Tag.SEQUENCE, 'extensions');
    wrapper.finish('extensions');
  } else if (list.tag !== Tag.SEQUENCE) {
    throw malformed('extensions are not a SEQUENCE');
  }
  const cursor = DerCursor.inside(der, sequence);
  const frames: ExtensionFrame[] = [];
  let seen: Set<string> | undefined;
  while (!cursor.done) {
    const extension = DerCursor.inside(der, cursor.expect(Tag.SEQUENCE, 'extension'));
    const id = extension.expect(Tag.OID, 'extension id');
    const criticality = extension.optional(Tag.BOOLEAN, 'extension criticality');
    const value = extension.expect(Tag.OCTET_STRING, 'extension value');
    extension.finish('extension');
    if (frames.length < FEW) {
      for (let i = 0; i < frames.length; i++)
        if (sameContents(der, frames[i]!.id, id)) throw malformed('duplicate extension');
    } else {
      // Encoded OIDs as latin1 keys: a hostile list of thousands of extensions stays linear.
      seen ??= new Set(frames.map((frame) => der.toString('latin1', frame.id.valueStart, frame.id.end)));
      const key = der.toString('latin1', id.valueStart, id.end);
      if (seen.has(key)) throw malformed('duplicate extension');
      seen.add(key);
    }
    frames.push({ id, criticality, value });
  }
  if (frames.length === 0 && options.allowEmpty === false) throw malformed('empty extensions');
  return frames;
}

/** Up to this many extensions, duplicates are found by comparing bytes: no allocation. */
const FEW = 16;

function sameContents(der: Buffer, a: Tlv, b: Tlv): boolean {
  const length = a.end - a.valueStart;
  if (length !== b.end - b.valueStart) return false;
  for (let i = 0; i < length; i++) if (der[a.valueStart + i] !== der[b.valueStart + i]) return false;
  return true;
}

/** Frames interpreted strictly: each OID well formed, each criticality a DER BOOLEAN. */
export function interpretFrames(der: Buffer, frames: readonly ExtensionFrame[]): Extension[] {
  return frames.map(({ id, criticality, value }) => ({
    oid: decodeOid(der, id.valueStart, id.end),
    critical: criticality !== undefined && readBoolean(der, criticality),
    value,
  }));
}

/** `readExtensionFrames` and `interpretFrames` in one call. */
export function readExtensions(
  der: Buffer,
  list: Tlv,
  options: { wrapped?: boolean; allowEmpty?: boolean } = {},
): Extension[] {
  return interpretFrames(der, readExtensionFrames(der, list, options));
}

/** True when the frame's extnID has the encoded contents `oidContents` (e.g. `55 1d 11`). */
export function frameIs(der: Buffer, frame: ExtensionFrame, oidContents: Buffer): boolean {
  const { id } = frame;
  return (
    id.end - id.valueStart === oidContents.length &&
    der.compare(oidContents, 0, oidContents.length, id.valueStart, id.end) === 0
  );
}
