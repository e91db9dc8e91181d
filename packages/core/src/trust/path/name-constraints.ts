/**
 * Name constraints: RFC 5280 §4.2.1.10 semantics, applied as §6.1.3 (b)(c) and §6.1.4 (g) do.
 *
 * Each constraining certificate is checked on its own against each later certificate: a name of
 * a form the extension constrains must lie in one of its permitted subtrees of that form (when it
 * has any) and in none of its excluded ones. Checking every extension separately is the same as
 * intersecting the permitted sets and uniting the excluded ones, as §6.1.4 (g) describes.
 *
 * The names of a certificate are its subject (when not empty) as a directoryName, every
 * subjectAltName entry, and every emailAddress attribute of the subject as an rfc822Name (always,
 * as OpenSSL does, not only when there is no subjectAltName: it can only reject more). A subject
 * commonName is not read as a dNSName (Go 1.15+ does not either): client certificates carry
 * people's and services' names there, and hostnames are never matched against it here.
 *
 * Fail closed:
 * - a base this module cannot interpret (a dNSName that is not a domain, an iPAddress without a
 *   prefix mask, a malformed mailbox) makes the constraining certificate unusable
 *   (`nameConstraintsProblem`);
 * - a name that cannot be interpreted (a dNSName that is not a domain, a URI without a host or
 *   with an IP literal, a malformed mailbox) fails whenever its form is constrained;
 * - a constrained form that is not implemented (otherName, x400Address, ediPartyName,
 *   registeredID) fails when a name of that form is present, as §4.2.1.10 requires of critical
 *   constraints (applied to non-critical ones too: they are processed either way);
 * - the work per verification is bounded (`MAX_CONSTRAINT_COMPARISONS`): before a certificate's
 *   names meet a CA's constraints, every name is counted against every subtree, whatever their
 *   forms (as pyca/cryptography counts; Go bounds same-form comparisons at the same 250,000), and
 *   a workload past the bound is refused as too complex (`BUDGET_EXHAUSTED`) before any of it is
 *   done, never computed; RFC 5280 sets no bound, and thousands of names under thousands of
 *   constraints are no legitimate certificate.
 *
 * A dNSName constraint with a leading period (`.example.com`) is not RFC 5280 syntax (the
 * leading period belongs to rfc822Name and URI constraints), though OpenSSL and Go read it as
 * "subdomains only" and some private CAs write it. verify.ts refuses such a CA unless the policy
 * allows it (`hasLeadingDotDnsConstraint`); when allowed, this module gives it that meaning.
 *
 * Wildcard dNSNames (`*.example.com`) stand for every name they can match: permitted only when all
 * of them are, excluded when any of them is (CVE-2025-61727).
 */
import type { CertificateFacts, ComparableName, GeneralName, NameConstraints, Subtree } from '../../x509/extensions.js';

/**
 * Name × subtree pairs one verification may check, all forms counted (Go's crypto/x509 allows
 * 250,000 same-form comparisons; pyca/cryptography 2^20 pairs of any form).
 */
export const MAX_CONSTRAINT_COMPARISONS = 250_000;

/** The comparison allowance of one verification, shared by all its constraint checks. */
export class ComparisonBudget {
  private remaining = MAX_CONSTRAINT_COMPARISONS;

  /** Takes `count` comparisons, or none and false when that would pass the allowance. */
  spend(count: number): boolean {
    if (count > this.remaining) {
      this.remaining = -1; // nothing more either: the call is refused
      return false;
    }
    this.remaining -= count;
    return true;
  }
}

// ---------------------------------------------------------------------------------------------
// Syntax

const isLetterOrDigit = (c: number): boolean => ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || (c >= 0x30 && c <= 0x39);

/**
 * A letter, digit, hyphen or underscore. Matching tolerates the underscore (internal service
 * names use it): whether a certificate may carry one is the profile's question
 * (`isPreferredDnsName`), which a policy can relax.
 */
function isLabelChar(c: number): boolean {
  return isLetterOrDigit(c) || c === 0x2d || c === 0x5f;
}

/** LDH labels of 1–63 characters separated by single periods; no leading or trailing period. */
export function isDnsDomain(text: string): boolean {
  if (text.length === 0 || text.length > 253) return false;
  for (const label of text.split('.')) {
    if (label.length === 0 || label.length > 63) return false;
    for (let i = 0; i < label.length; i++) if (!isLabelChar(label.charCodeAt(i))) return false;
  }
  return true;
}

/**
 * A dNSName in the preferred name syntax RFC 5280 §4.2.1.6 asks for (RFC 1034 §3.5 as RFC 1123
 * §2.1 modifies it), what pyca/cryptography accepts: labels of 1–63 letters, digits and hyphens,
 * neither starting nor ending with a hyphen, at most 253 characters, no empty label (so no
 * leading, trailing or doubled period), and a top-level label that is not all digits (RFC 1123
 * §2.1: a host name never has the dotted-decimal form, so `192.0.2.1` is an IP address written
 * as a DNS name). A leftmost `*` label (RFC 6125 wildcard) is allowed; no other asterisk is.
 */
export function isPreferredDnsName(text: string): boolean {
  const name = text.startsWith('*.') ? text.slice(2) : text;
  if (name.length === 0 || text.length > 253) return false;
  const labels = name.split('.');
  for (const label of labels) {
    if (label.length === 0 || label.length > 63) return false;
    if (label.charCodeAt(0) === 0x2d || label.charCodeAt(label.length - 1) === 0x2d) return false;
    for (let i = 0; i < label.length; i++) {
      const c = label.charCodeAt(i);
      if (!isLetterOrDigit(c) && c !== 0x2d) return false;
    }
  }
  return !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

/**
 * A host constraint: a domain, or a domain with one leading period meaning "subdomains only".
 * The leading period is RFC 5280 syntax for rfc822Name and URI constraints; for dNSName
 * constraints it is what OpenSSL, BoringSSL and Go accept (and what many private CAs write), with
 * the same meaning, and what verify.ts lets through only when the policy allows it.
 */
function isHostConstraint(text: string): boolean {
  return isDnsDomain(text.startsWith('.') ? text.slice(1) : text);
}

/** RFC 5322 atext, the characters of an unquoted local part besides periods. */
const ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~";

function isDotAtom(text: string): boolean {
  if (text.length === 0 || text.startsWith('.') || text.endsWith('.') || text.includes('..')) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const alnum = ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || (c >= 0x30 && c <= 0x39);
    if (!alnum && text[i] !== '.' && !ATEXT_SPECIALS.includes(text[i]!)) return false;
  }
  return true;
}

/** A quoted-string local part: printable ASCII, quotes and backslashes only escaped. */
function isQuotedLocal(text: string): boolean {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return false;
  for (let i = 1; i < text.length - 1; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return false;
  }
  return true;
}

interface Mailbox {
  readonly local: string;
  /** Lower case. */
  readonly domain: string;
}

/** An RFC 5321 mailbox (`local@domain`), or null; `invalid@address@example.com` is null. */
function parseMailbox(text: string): Mailbox | null {
  const at = text.lastIndexOf('@');
  if (at <= 0) return null;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (!isDnsDomain(domain) || !(isDotAtom(local) || isQuotedLocal(local))) return null;
  return { local, domain: domain.toLowerCase() };
}

/** Why a subtree base cannot be interpreted, or null. */
function subtreeProblem(subtree: Subtree): string | null {
  switch (subtree.kind) {
    case 'dns':
      return subtree.value === '' || isHostConstraint(subtree.value) ? null : 'a dNSName constraint is not a domain';
    case 'email': {
      const valid = subtree.value.includes('@')
        ? parseMailbox(subtree.value) !== null
        : isHostConstraint(subtree.value);
      return valid ? null : 'an rfc822Name constraint is not a mailbox, host or domain';
    }
    case 'uri':
      return isHostConstraint(subtree.value) ? null : 'a URI constraint is not a host or domain';
    case 'ip':
      return isPrefixMask(subtree.mask) ? null : 'an iPAddress constraint has no prefix mask';
    default:
      return null;
  }
}

/** Whether a mask is ones followed by zeros (a CIDR prefix). */
function isPrefixMask(mask: Buffer): boolean {
  let zero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      const set = ((byte >> bit) & 1) === 1;
      if (zero && set) return false;
      if (!set) zero = true;
    }
  }
  return true;
}

/** Whether a dNSName base has a leading period (see the module comment). */
export function hasLeadingDotDnsConstraint(constraints: NameConstraints): boolean {
  return [...constraints.permitted, ...constraints.excluded].some(
    (subtree) => subtree.kind === 'dns' && subtree.value.startsWith('.'),
  );
}

const problemCache = new WeakMap<NameConstraints, string | null>();

/**
 * Why a certificate's name constraints cannot be applied, or null. A CA whose constraints cannot
 * be applied is not used: guessing what it meant could widen what it allows.
 */
export function nameConstraintsProblem(constraints: NameConstraints): string | null {
  let problem = problemCache.get(constraints);
  if (problem === undefined) {
    problem = constraints.invalid;
    for (const subtree of [...constraints.permitted, ...constraints.excluded]) problem ??= subtreeProblem(subtree);
    problemCache.set(constraints, problem);
  }
  return problem;
}

// ---------------------------------------------------------------------------------------------
// Matching

/** A name reduced to what its form is compared by; `invalid` when it cannot be interpreted. */
type Prepared =
  | { readonly kind: 'dns'; readonly name: string; readonly wildcard: boolean }
  | { readonly kind: 'email'; readonly mailbox: Mailbox }
  | { readonly kind: 'uri'; readonly host: string }
  | { readonly kind: 'ip'; readonly bytes: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other'; readonly tag: number }
  | { readonly kind: 'invalid'; readonly form: 'dns' | 'email' | 'uri' };

function prepareDns(value: string): Prepared {
  const name = value.toLowerCase();
  if (name.startsWith('*.') && isDnsDomain(name.slice(2))) return { kind: 'dns', name: name.slice(2), wildcard: true };
  return isDnsDomain(name) ? { kind: 'dns', name, wildcard: false } : { kind: 'invalid', form: 'dns' };
}

const IPV4_DOTTED = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The host of a URI with an authority (`scheme://[userinfo@]host[:port]...`), lower-cased, or
 * null when there is none or it is an IP address (URI constraints name hosts, §4.2.1.10).
 */
function uriHost(uri: string): string | null {
  const colon = uri.indexOf(':');
  if (colon <= 0 || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(uri.slice(0, colon)) || !uri.startsWith('//', colon + 1))
    return null;
  const rest = uri.slice(colon + 3);
  let authority = rest.slice(0, rest.search(/[/?#]|$/));
  authority = authority.slice(authority.lastIndexOf('@') + 1);
  if (authority.startsWith('[')) return null;
  const portAt = authority.indexOf(':');
  const host = portAt < 0 ? authority : authority.slice(0, portAt);
  if (portAt >= 0 && !/^\d*$/.test(authority.slice(portAt + 1))) return null;
  if (!isDnsDomain(host) || IPV4_DOTTED.test(host)) return null;
  return host.toLowerCase();
}

function prepare(name: GeneralName): Prepared {
  switch (name.kind) {
    case 'dns':
      return prepareDns(name.value);
    case 'email': {
      const mailbox = parseMailbox(name.value);
      return mailbox === null ? { kind: 'invalid', form: 'email' } : { kind: 'email', mailbox };
    }
    case 'uri': {
      const host = uriHost(name.value);
      return host === null ? { kind: 'invalid', form: 'uri' } : { kind: 'uri', host };
    }
    case 'ip':
      return { kind: 'ip', bytes: name.bytes };
    case 'dn':
      return { kind: 'dn', name: name.name };
    default:
      return { kind: 'other', tag: name.tag };
  }
}

/** `name` is `domain` or below it. */
function inDomain(name: string, domain: string): boolean {
  return name === domain || (name.endsWith(domain) && name.charCodeAt(name.length - domain.length - 1) === 0x2e);
}

/** A host or domain base, lower-cased; a leading period means "strictly below the domain". */
interface HostBase {
  readonly domain: string;
  readonly subdomainsOnly: boolean;
}

/** A subtree base prepared for comparison (lower-cased, parsed) once per extension. */
type PreparedSubtree =
  | ({ readonly kind: 'dns'; readonly everything: boolean } & HostBase)
  | ({ readonly kind: 'email'; readonly mailbox: Mailbox | null } & HostBase)
  | ({ readonly kind: 'uri' } & HostBase)
  | { readonly kind: 'ip'; readonly address: Buffer; readonly mask: Buffer }
  | { readonly kind: 'dn'; readonly name: ComparableName }
  | { readonly kind: 'other' };

function hostBase(value: string): HostBase {
  const lower = value.toLowerCase();
  return lower.startsWith('.')
    ? { domain: lower.slice(1), subdomainsOnly: true }
    : { domain: lower, subdomainsOnly: false };
}

function prepareSubtree(subtree: Subtree): PreparedSubtree {
  switch (subtree.kind) {
    case 'dns':
      return { kind: 'dns', everything: subtree.value === '', ...hostBase(subtree.value) };
    case 'email': {
      const mailbox = subtree.value.includes('@') ? parseMailbox(subtree.value) : null;
      return { kind: 'email', mailbox, ...hostBase(subtree.value) };
    }
    case 'uri':
      return { kind: 'uri', ...hostBase(subtree.value) };
    default:
      return subtree.kind === 'other' ? { kind: 'other' } : subtree;
  }
}

/** A host matches a host base: exactly, or below the domain when the base starts with a period. */
function hostMatches(host: string, base: HostBase): boolean {
  return base.subdomainsOnly ? host !== base.domain && inDomain(host, base.domain) : host === base.domain;
}

/**
 * dNSName matching: the name or any name below it (§4.2.1.10), or only names below it for a base
 * with a leading period. `all` asks whether every name a wildcard stands for is inside
 * (permitted); otherwise whether any is (excluded). For a plain name both questions are the same.
 */
function dnsMatches(name: string, wildcard: boolean, base: PreparedSubtree & { kind: 'dns' }, all: boolean): boolean {
  if (base.everything) return true;
  const { domain, subdomainsOnly } = base;
  if (!wildcard) return subdomainsOnly ? name !== domain && inDomain(name, domain) : inDomain(name, domain);
  // `*.name` stands for every `label.name`: all of them are inside when `name` itself is in (or
  // is) the domain; one of them can also be the base itself, exactly one label above `name`.
  if (inDomain(name, domain)) return true;
  return !all && !subdomainsOnly && domain.endsWith(`.${name}`) && !domain.slice(0, -name.length - 1).includes('.');
}

/** A mailbox base is one exact mailbox (domain case-insensitive); a host base, every mailbox there. */
function emailMatches(mailbox: Mailbox, base: PreparedSubtree & { kind: 'email' }): boolean {
  if (base.mailbox !== null) return base.mailbox.local === mailbox.local && base.mailbox.domain === mailbox.domain;
  return hostMatches(mailbox.domain, base);
}

function ipMatches(bytes: Buffer, address: Buffer, mask: Buffer): boolean {
  if (bytes.length !== address.length) return false;
  for (let i = 0; i < bytes.length; i++) if ((bytes[i]! & mask[i]!) !== (address[i]! & mask[i]!)) return false;
  return true;
}

/** The constraint's RDNs begin the name's (§4.2.1.10: the subtree below the constraint). */
function dnMatches(name: ComparableName, constraint: ComparableName): boolean {
  if (constraint.rdns.length > name.rdns.length) return false;
  return constraint.rdns.every((rdn, i) => rdn === name.rdns[i]);
}

/** Whether a name matches a base of its own form (see `dnsMatches` for `all`). */
function matches(name: Prepared, base: PreparedSubtree, all: boolean): boolean {
  if (name.kind === 'dns' && base.kind === 'dns') return dnsMatches(name.name, name.wildcard, base, all);
  if (name.kind === 'email' && base.kind === 'email') return emailMatches(name.mailbox, base);
  if (name.kind === 'uri' && base.kind === 'uri') return hostMatches(name.host, base);
  if (name.kind === 'ip' && base.kind === 'ip') return ipMatches(name.bytes, base.address, base.mask);
  if (name.kind === 'dn' && base.kind === 'dn') return dnMatches(name.name, base.name);
  return false;
}

/** The key grouping names and bases of one form; otherName and the rest by their tag. */
function subtreeForm(subtree: Subtree): string {
  return subtree.kind === 'other' ? `other:${subtree.tag}` : subtree.kind;
}

function nameForm(name: Prepared): string {
  if (name.kind === 'invalid') return name.form;
  return name.kind === 'other' ? `other:${name.tag}` : name.kind;
}

interface FormSubtrees {
  readonly permitted: PreparedSubtree[];
  readonly excluded: PreparedSubtree[];
}

const groupCache = new WeakMap<NameConstraints, ReadonlyMap<string, FormSubtrees>>();

/** The bases of an extension by form, prepared once: each name then meets only its own form. */
function subtreesByForm(constraints: NameConstraints): ReadonlyMap<string, FormSubtrees> {
  let groups = groupCache.get(constraints);
  if (groups === undefined) {
    const map = new Map<string, FormSubtrees>();
    const add = (subtree: Subtree, list: 'permitted' | 'excluded'): void => {
      const form = subtreeForm(subtree);
      let group = map.get(form);
      if (group === undefined) map.set(form, (group = { permitted: [], excluded: [] }));
      group[list].push(prepareSubtree(subtree));
    };
    for (const subtree of constraints.permitted) add(subtree, 'permitted');
    for (const subtree of constraints.excluded) add(subtree, 'excluded');
    groups = map;
    groupCache.set(constraints, groups);
  }
  return groups;
}

const FORM_LABELS: Readonly<Record<Prepared['kind'], string>> = {
  dns: 'a DNS name',
  email: 'an email address',
  uri: 'a URI',
  ip: 'an IP address',
  dn: 'a directory name',
  other: 'a name of a form the constraints do not support',
  invalid: 'a name that cannot be interpreted',
};

// ---------------------------------------------------------------------------------------------
// Certificates

const namesCache = new WeakMap<CertificateFacts, readonly Prepared[]>();

/** The names of a certificate that name constraints apply to, prepared once. */
function constrainedNames(facts: CertificateFacts): readonly Prepared[] {
  let names = namesCache.get(facts);
  if (names === undefined) {
    const all: GeneralName[] = [];
    if (facts.subject.rdns.length > 0) all.push({ kind: 'dn', name: facts.subject });
    all.push(...(facts.subjectAltNames ?? []));
    for (const email of facts.subject.emails) all.push({ kind: 'email', value: email });
    names = all.map(prepare);
    namesCache.set(facts, names);
  }
  return names;
}

/** Why `name` is not allowed by `constraints`, or null. */
function checkName(name: Prepared, groups: ReadonlyMap<string, FormSubtrees>): string | null {
  const group = groups.get(nameForm(name));
  if (group === undefined) return null;
  const label = FORM_LABELS[name.kind];
  if (name.kind === 'invalid' || name.kind === 'other') return `${label} is constrained`;
  const { permitted, excluded } = group;
  if (excluded.some((base) => matches(name, base, false))) return `${label} is in an excluded subtree`;
  if (permitted.length === 0) return null;
  return permitted.some((base) => matches(name, base, true)) ? null : `${label} is outside the permitted subtrees`;
}

/** What `checkNameConstraints` returns when the work would pass the bound: nothing was compared. */
export const BUDGET_EXHAUSTED = 'too complex to check';

/**
 * Why the names of `facts` violate `constraints` (a fixed text naming the form, never the name),
 * or null; `BUDGET_EXHAUSTED`, with no comparison made, when names × subtrees would take the
 * call's budget past `MAX_CONSTRAINT_COMPARISONS`. Assumes `nameConstraintsProblem(constraints)`
 * is null.
 */
export function checkNameConstraints(
  constraints: NameConstraints,
  facts: CertificateFacts,
  budget: ComparisonBudget,
): string | null {
  const names = constrainedNames(facts);
  if (!budget.spend(names.length * (constraints.permitted.length + constraints.excluded.length)))
    return BUDGET_EXHAUSTED;
  const groups = subtreesByForm(constraints);
  for (const name of names) {
    const problem = checkName(name, groups);
    if (problem !== null) return problem;
  }
  return null;
}
