/**
 * GeneralName (RFC 5280 §4.2.1.6): the one reader, for subjectAltName, name constraints and the
 * names inside other extensions, and the subjectAltName model (`SubjectAltNames`) parsing builds.
 */
import type { SubjectAltNames } from '../model.js';
import { checkIa5, checkOid, DerCursor, decodeIa5, malformed, Tag, type Tlv } from './der.js';
import { type ComparableName, readComparableName } from './name.js';

/**
 * A GeneralName (RFC 5280 §4.2.1.6). The forms name constraints are defined for are decoded;
 * otherName, x400Address, ediPartyName and registeredID are kept by tag only.
 */
export type GeneralName =
  | { readonly kind: 'email' | 'dns' | 'uri'; readonly value: string }
  | { readonly kind: 'ip'; readonly bytes: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other'; readonly tag: number };

/** A GeneralSubtree base; an iPAddress base is an address and a mask of the same length. */
export type Subtree =
  | { readonly kind: 'email' | 'dns' | 'uri'; readonly value: string }
  | { readonly kind: 'ip'; readonly address: Buffer; readonly mask: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other'; readonly tag: number };

export const GeneralNameTag = {
  otherName: 0xa0,
  rfc822Name: 0x81,
  dNSName: 0x82,
  x400Address: 0xa3,
  directoryName: 0xa4,
  ediPartyName: 0xa5,
  uniformResourceIdentifier: 0x86,
  iPAddress: 0x87,
  registeredID: 0x88,
} as const;

/** Reads one GeneralName; `ipLengths` are the lengths an iPAddress may have in this context. */
export function readGeneralName(der: Buffer, tlv: Tlv, ipLengths: readonly number[]): GeneralName | Subtree {
  switch (tlv.tag) {
    case GeneralNameTag.rfc822Name:
      return { kind: 'email', value: decodeIa5(der, tlv) };
    case GeneralNameTag.dNSName:
      return { kind: 'dns', value: decodeIa5(der, tlv) };
    case GeneralNameTag.uniformResourceIdentifier:
      return { kind: 'uri', value: decodeIa5(der, tlv) };
    case GeneralNameTag.iPAddress: {
      if (!ipLengths.includes(tlv.end - tlv.valueStart)) throw malformed('iPAddress of invalid length');
      const bytes = der.subarray(tlv.valueStart, tlv.end);
      if (bytes.length === 4 || bytes.length === 16) return { kind: 'ip', bytes };
      const half = bytes.length / 2;
      return { kind: 'ip', address: bytes.subarray(0, half), mask: bytes.subarray(half) };
    }
    case GeneralNameTag.directoryName: {
      // Name is a CHOICE, so the [4] tag is explicit.
      const wrapper = DerCursor.inside(der, tlv);
      const name = wrapper.expect(Tag.SEQUENCE, 'directoryName');
      wrapper.finish('directoryName');
      return { kind: 'dn', name: readComparableName(der, name) };
    }
    case GeneralNameTag.otherName: {
      const fields = DerCursor.inside(der, tlv);
      const typeId = fields.expect(Tag.OID, 'otherName type');
      checkOid(der, typeId.valueStart, typeId.end);
      fields.expect(0xa0, 'otherName value');
      fields.finish('otherName');
      return { kind: 'other', tag: tlv.tag };
    }
    case GeneralNameTag.registeredID:
      checkOid(der, tlv.valueStart, tlv.end);
      return { kind: 'other', tag: tlv.tag };
    case GeneralNameTag.x400Address:
    case GeneralNameTag.ediPartyName:
      return { kind: 'other', tag: tlv.tag };
    default:
      throw malformed('unknown GeneralName type');
  }
}

/** GeneralNames ::= SEQUENCE SIZE (1..MAX) OF GeneralName, from a cursor over the elements. */
export function readGeneralNames(der: Buffer, names: DerCursor, what: string): GeneralName[] {
  if (names.done) throw malformed(`empty ${what}`);
  const out: GeneralName[] = [];
  while (!names.done) out.push(readGeneralName(der, names.next('general name'), [4, 16]) as GeneralName);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The subjectAltName model

/** IPv4 dotted quad, or IPv6 per RFC 5952 (lower-case, longest zero run of 2+ groups as `::`). */
export function formatIpAddress(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) throw malformed('IP address must be 4 or 16 bytes');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  // RFC 5952 §5: IPv4-mapped addresses keep the dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.subarray(12).join('.')}`;
  }
  let bestStart = -1;
  let bestLength = 1; // a single zero group is never compressed (§4.2.2)
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const text = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  return bestStart < 0 ? text(0, 8) : `${text(0, bestStart)}::${text(bestStart + bestLength, 8)}`;
}

interface MutableSans {
  dns: string[];
  uri: string[];
  email: string[];
  ip: string[];
}

/** Visits each GeneralName of the extension value: OCTET STRING { SEQUENCE OF GeneralName }. */
function forEachGeneralName(der: Buffer, extensionValue: Tlv | undefined, visit: (name: Tlv) => void): void {
  if (extensionValue === undefined) return;
  const wrapper = DerCursor.inside(der, extensionValue);
  const names = DerCursor.inside(der, wrapper.expect(Tag.SEQUENCE, 'subjectAltName'));
  wrapper.finish('subjectAltName');
  while (!names.done) visit(names.next('general name'));
}

/** Everything decoding the SANs could reject, without building strings. */
export function validateSubjectAltNames(der: Buffer, extensionValue: Tlv | undefined): void {
  forEachGeneralName(der, extensionValue, (name) => {
    if (
      name.tag === GeneralNameTag.dNSName ||
      name.tag === GeneralNameTag.uniformResourceIdentifier ||
      name.tag === GeneralNameTag.rfc822Name
    ) {
      checkIa5(der, name);
    } else if (
      name.tag === GeneralNameTag.iPAddress &&
      name.end - name.valueStart !== 4 &&
      name.end - name.valueStart !== 16
    ) {
      throw malformed('IP address must be 4 or 16 bytes');
    }
  });
}

/** The four GeneralName kinds the model has; others (directoryName, otherName, ...) are skipped. */
export function decodeSubjectAltNames(der: Buffer, extensionValue: Tlv | undefined): SubjectAltNames {
  const sans: MutableSans = { dns: [], uri: [], email: [], ip: [] };
  forEachGeneralName(der, extensionValue, (name) => {
    switch (name.tag) {
      case GeneralNameTag.dNSName:
        sans.dns.push(decodeIa5(der, name));
        break;
      case GeneralNameTag.uniformResourceIdentifier:
        sans.uri.push(decodeIa5(der, name));
        break;
      case GeneralNameTag.rfc822Name:
        sans.email.push(decodeIa5(der, name));
        break;
      case GeneralNameTag.iPAddress:
        sans.ip.push(formatIpAddress(der.subarray(name.valueStart, name.end)));
        break;
      default:
        break;
    }
  });
  Object.freeze(sans.dns);
  Object.freeze(sans.uri);
  Object.freeze(sans.email);
  Object.freeze(sans.ip);
  return Object.freeze(sans);
}

export function spiffeIdOf(uris: readonly string[]): string | null {
  if (uris.length !== 1) return null;
  const uri = uris[0]!;
  return uri.slice(0, 9).toLowerCase() === 'spiffe://' ? uri : null;
}
