/**
 * `subject` / `issuer` rules: distinguished names compared as parsed RDNs, never as strings.
 *
 * An RFC 4514 string is the *whole* name: same RDNs in the same order (order is part of a DN),
 * each RDN the same set of attributes (order inside a multi-valued RDN is not). Attribute types
 * are case-insensitive and any alias works (`cn`, `CN`, `commonName`, `2.5.4.3`, .NET's `E`/`S`);
 * values are exact (case-sensitive, after unescaping). An object `{ O: 'Contoso', C: 'US' }` is a
 * *partial* match: each listed attribute must be present and every value the name has for it must
 * be one of the listed values, so a second `O` cannot smuggle a certificate past
 * `{ O: 'Contoso' }`. A list of strings/objects is any-of.
 */
import type { DistinguishedName } from '../model.js';
import { invalidOption, stringList } from '../validate.js';
import { attributeOid, type DnAttribute, parseDnString, rdnEquals } from '../x509/dn-string.js';

/** Partial DN: attribute type (any alias or dotted OID) → allowed value(s), compared exactly. */
export type DnAttributes = { readonly [type: string]: string | readonly string[] };

/** An RFC 4514 string (the whole name), a `DnAttributes` object (partial), or a list of those (any-of). */
export type DnRule = string | DnAttributes | readonly (string | DnAttributes)[];

export type CompiledDn =
  | { readonly exact: true /** DER order, most general first. */; readonly rdns: readonly (readonly DnAttribute[])[] }
  | {
      readonly exact: false;
      readonly attributes: readonly { readonly oid: string; readonly values: ReadonlySet<string> }[];
    };

const COMMON_NAME = '2.5.4.3';

export function compileDnAttributes(value: Record<string, unknown>, option: string): CompiledDn {
  const keys = Object.keys(value);
  if (keys.length === 0) throw invalidOption(option, 'must name at least one attribute');
  const seen = new Set<string>();
  const attributes = keys.map((type) => {
    const oid = attributeOid(type, `${option}.${type}`);
    if (seen.has(oid))
      throw invalidOption(`${option}.${type}`, 'names an attribute that is already listed under another name');
    seen.add(oid);
    return { oid, values: new Set(stringList(value[type], `${option}.${type}`)) };
  });
  return { exact: false, attributes };
}

function compileDnEntry(value: unknown, option: string): CompiledDn {
  if (typeof value === 'string') return { exact: true, rdns: parseDnString(value, option) };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return compileDnAttributes(value as Record<string, unknown>, option);
  }
  throw invalidOption(option, 'must be an RFC 4514 string, an object of attributes, or a list of those');
}

/** Compiles a `DnRule` into an any-of list. */
export function compileDnRule(value: unknown, option: string): CompiledDn[] {
  if (!Array.isArray(value)) return [compileDnEntry(value, option)];
  if (value.length === 0) throw invalidOption(option, 'must list at least one name');
  return value.map((entry: unknown, index) => compileDnEntry(entry, `${option}[${index}]`));
}

/** True when a compiled DN rule compares the CN and no other attribute. */
export function onlyCommonName(rule: readonly CompiledDn[]): boolean {
  return rule.every((dn) =>
    dn.exact
      ? dn.rdns.every((rdn) => rdn.every((attribute) => attribute.oid === COMMON_NAME))
      : dn.attributes.every((attribute) => attribute.oid === COMMON_NAME),
  );
}

export function dnMatches(rule: CompiledDn, name: DistinguishedName): boolean {
  if (rule.exact) {
    const rdns = name.rdns;
    if (rdns.length !== rule.rdns.length) return false;
    for (let i = 0; i < rdns.length; i++) if (!rdnEquals(rule.rdns[i]!, rdns[i]!)) return false;
    return true;
  }
  for (const { oid, values } of rule.attributes) {
    let present = false;
    for (const attribute of name.attributes) {
      if (attribute.oid !== oid) continue;
      if (!values.has(attribute.value)) return false; // every occurrence must be allowed
      present = true;
    }
    if (!present) return false;
  }
  return true;
}

export function dnRuleMatches(rules: readonly CompiledDn[], name: DistinguishedName): boolean {
  for (const rule of rules) if (dnMatches(rule, name)) return true;
  return false;
}
