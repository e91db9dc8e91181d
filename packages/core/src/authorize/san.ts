/**
 * `san` rules. SAN kinds are separate checks (all configured kinds must pass), each any-of: some
 * SAN of that kind matches some pattern; for any-of across kinds, use identities with `san` claims.
 * Values compare as RFC 5280 says for their kind: DNS names case-insensitively (ASCII); URIs with
 * the scheme and host case-insensitive and the rest exact (uri.ts); e-mail addresses with the
 * domain case-insensitive and the local part exact (§4.2.1.6); IP addresses as addresses, not
 * text. Rules are normalised once when compiled, certificate values when compared, without
 * allocating in the usual case (nothing to lower-case). Matching never builds a regular
 * expression from configuration.
 */
import { BlockList, isIP } from 'node:net';
import { invalidOption, knownKeys, objectOption } from '../validate.js';
import { optionEntries } from './option-entries.js';
import { compileUri } from './uri.js';

/** Each kind given is its own check; within a kind any listed pattern may match any SAN. */
export interface SanRule {
  /**
   * Exact names, or `*.example.com` for exactly one extra left-most label. Case-insensitive; no
   * trailing dot (a SAN written with one matches nothing: it is outside RFC 5280's syntax).
   */
  readonly dns?: string | readonly string[];
  /**
   * Exact URIs, or prefixes written with a trailing `*` (`spiffe://contoso.com/payments/*`). The
   * scheme and host are case-insensitive, the rest exact (percent-encoding as written); a prefix
   * never matches a URI with `.`/`..` path segments.
   */
  readonly uri?: string | readonly string[];
  /** Exact addresses (local part exact, domain case-insensitive), or `@example.com` for any mailbox at that domain. */
  readonly email?: string | readonly string[];
  /**
   * IPv4/IPv6 addresses or CIDR blocks, compared as addresses (any IPv6 spelling; an IPv4 address
   * and its IPv4-mapped IPv6 form `::ffff:a.b.c.d` are the same address).
   */
  readonly ip?: string | readonly string[];
}

/** `[a-z0-9_-]` labels of 1–63 characters, at most 253 in all (A-labels: certificates carry no Unicode). */
export function checkDnsName(name: string, option: string): void {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) > 0x7e)
      throw invalidOption(option, 'must be ASCII: write internationalized names in their A-label ("xn--") form');
  }
  if (name.endsWith('.')) throw invalidOption(option, 'must be written without a trailing dot');
  const labels = name.split('.');
  const valid =
    name.length <= 253 &&
    labels.every(
      (label) =>
        label.length > 0 &&
        label.length <= 63 &&
        [...label].every((c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '-' || c === '_'),
    );
  if (!valid) throw invalidOption(option, 'is not a DNS name');
}

/**
 * Names matched exactly or by one wildcard label; sets, so matching is O(1) per SAN. Compared
 * in lower case (ASCII: SANs are IA5Strings, rules are checked to be ASCII). A SAN with a
 * trailing dot is outside the preferred name syntax RFC 5280 §4.2.1.6 requires: it matches
 * nothing rather than being read as the name without the dot.
 */
function compileDns(value: unknown, option: string): (names: readonly string[]) => boolean {
  const exact = new Set<string>();
  const wildcardParents = new Set<string>();
  for (const entry of optionEntries(value, option)) {
    const name = entry.value.toLowerCase();
    if (name.startsWith('*.')) {
      const parent = name.slice(2);
      if (parent.includes('*'))
        throw invalidOption(entry.option, 'may only use "*" as the whole left-most label, as in "*.example.com"');
      checkDnsName(parent, entry.option);
      if (!parent.includes('.')) throw invalidOption(entry.option, 'must not be a wildcard over a top-level domain');
      wildcardParents.add(parent);
    } else {
      if (name.includes('*'))
        throw invalidOption(entry.option, 'may only use "*" as the whole left-most label, as in "*.example.com"');
      checkDnsName(name, entry.option);
      exact.add(name);
    }
  }
  return (names) => {
    for (const san of names) {
      const name = san.toLowerCase();
      if (exact.has(name)) return true;
      // `*.example.com` stands for exactly one non-empty label that is not itself a wildcard.
      const dot = name.indexOf('.');
      if (dot > 0 && !name.slice(0, dot).includes('*') && wildcardParents.has(name.slice(dot + 1))) return true;
    }
    return false;
  };
}

/**
 * Splits at the last `@`, lower-casing the domain: RFC 5280 §4.2.1.6 (after RFC 5321) makes only
 * the domain case-insensitive; the local part is compared exactly.
 */
function splitEmail(address: string): { local: string; domain: string } | undefined {
  const at = address.lastIndexOf('@');
  if (at < 0 || at === address.length - 1) return undefined;
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

function compileEmail(value: unknown, option: string): (addresses: readonly string[]) => boolean {
  const exact = new Set<string>();
  const domains = new Set<string>();
  for (const entry of optionEntries(value, option)) {
    const parts = splitEmail(entry.value);
    if (parts === undefined || ![...entry.value].every((c) => c > ' ' && c <= '~')) {
      throw invalidOption(entry.option, 'must be an email address, or "@domain" for any mailbox at that domain');
    }
    checkDnsName(parts.domain, entry.option);
    if (parts.local === '') domains.add(parts.domain);
    else exact.add(`${parts.local}@${parts.domain}`);
  }
  return (addresses) => {
    for (const address of addresses) {
      const parts = splitEmail(address);
      if (parts !== undefined && (domains.has(parts.domain) || exact.has(`${parts.local}@${parts.domain}`)))
        return true;
    }
    return false;
  };
}

/**
 * Addresses and CIDR blocks, IPv4 and IPv6, in a `node:net` BlockList, which compares addresses,
 * not text: any IPv6 spelling (upper case, leading zeros, `::`, an embedded dotted quad) is the
 * same address. BlockList treats an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, RFC 4291
 * §2.5.5.2: the IPv4 node itself) as the IPv4 address, in both directions; the deprecated
 * IPv4-compatible form (`::10.0.0.1`) is an IPv6 address of its own. Host bits of a CIDR are ignored.
 */
function compileIp(value: unknown, option: string): (addresses: readonly string[]) => boolean {
  const list = new BlockList();
  for (const entry of optionEntries(value, option)) {
    const [address = '', prefix, extra] = entry.value.trim().split('/');
    const family = address.includes('%') ? 0 : isIP(address);
    const bits = family === 4 ? 32 : 128;
    if (family === 0 || extra !== undefined) {
      // 010.1.2.3: inet_aton reads the octet as octal, others as decimal; it is refused, not guessed.
      const zeros =
        /(?:^|\.)0\d/.test(address) && /^[\d.]+$/.test(address) ? ' (write IPv4 octets without leading zeros)' : '';
      throw invalidOption(entry.option, `must be an IP address or a CIDR block such as "10.0.0.0/8"${zeros}`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const length = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
    if (!(length >= 0 && length <= bits))
      throw invalidOption(entry.option, `must have a prefix length from 0 to ${bits}`);
    list.addSubnet(address, length, type);
  }
  return (addresses) => {
    for (const address of addresses) if (list.check(address, address.includes(':') ? 'ipv6' : 'ipv4')) return true;
    return false;
  };
}

const SAN_KINDS = ['dns', 'uri', 'email', 'ip'] as const;
export type SanKind = (typeof SAN_KINDS)[number];

const SAN_COMPILERS: Record<SanKind, (value: unknown, option: string) => (values: readonly string[]) => boolean> = {
  dns: compileDns,
  uri: compileUri,
  email: compileEmail,
  ip: compileIp,
};

/** One matcher per configured kind, in a fixed order. */
export function compileSan(
  value: unknown,
  option: string,
): { kind: SanKind; matches: (values: readonly string[]) => boolean }[] {
  const rule = objectOption(value, option, '{ dns: ["*.example.com"] } (with dns, uri, email or ip)');
  knownKeys(rule, SAN_KINDS, option);
  const kinds = SAN_KINDS.filter((kind) => rule[kind] !== undefined);
  if (kinds.length === 0) throw invalidOption(option, 'must give at least one of dns, uri, email, ip');
  return kinds.map((kind) => ({ kind, matches: SAN_COMPILERS[kind](rule[kind], `${option}.${kind}`) }));
}
