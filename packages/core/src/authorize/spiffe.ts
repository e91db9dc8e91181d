/**
 * `spiffe` rules: the leaf must be a valid X509-SVID (SPIFFE X509-SVID §3.1, §4.3, §5.2, as
 * go-spiffe applies it), then its SPIFFE ID must be allowed. The keyUsage mask comes from the one
 * per-certificate facts record of x509/, read once per certificate.
 */
import type { ClientCertificate } from '../model.js';
import { invalidOption, knownKeys, objectOption } from '../validate.js';
import { recordOf } from '../x509/certificate.js';
import { KeyUsageBit } from '../x509/oids.js';
import { optionEntries } from './option-entries.js';
import { type Failure, failure } from './result.js';

/** One SPIFFE ID, a list of IDs, or any workload of one trust domain. The leaf must be a valid X509-SVID. */
export type SpiffeRule =
  | { readonly id: string }
  | { readonly ids: readonly string[] }
  | { readonly trustDomain: string };

const SVID_FAILURES = {
  uriCount: failure('spiffe', 'The client certificate is not an X509-SVID: it must have exactly one URI SAN.'),
  malformed: failure('spiffe', 'The client certificate is not an X509-SVID: its SPIFFE ID is not a valid workload ID.'),
  ca: failure('spiffe', 'The client certificate is not an X509-SVID: it is a CA certificate.'),
  keyUsage: failure('spiffe', 'The client certificate is not an X509-SVID: its key usage is not that of a leaf.'),
  notAllowed: failure('spiffe', 'The client certificate SPIFFE ID is not allowed.'),
} as const;

const SPIFFE_SCHEME = 'spiffe://';
/** SPIFFE ID spec: the whole URI at most 2048 bytes, the trust domain at most 255 characters. */
const MAX_SPIFFE_ID = 2048;
const MAX_TRUST_DOMAIN = 255;

function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x5f;
}

function isPathChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a);
}

function isTrustDomain(text: string): boolean {
  if (text.length === 0 || text.length > MAX_TRUST_DOMAIN) return false;
  for (let i = 0; i < text.length; i++) if (!isTrustDomainChar(text.charCodeAt(i))) return false;
  return true;
}

/**
 * Splits a SPIFFE ID per the SPIFFE ID spec: lower-case `spiffe` scheme; a trust domain of
 * `[a-z0-9._-]` (so no upper case, port, userinfo or percent-encoding); a path of `/`-separated
 * segments of `[A-Za-z0-9._-]`, none empty, `.` or `..` (so no trailing slash, query or fragment).
 * Returns undefined when invalid. The path may be empty (the trust domain's own ID).
 */
function parseSpiffeId(id: string): { trustDomain: string; path: string } | undefined {
  if (id.length > MAX_SPIFFE_ID || !id.startsWith(SPIFFE_SCHEME)) return undefined;
  const slash = id.indexOf('/', SPIFFE_SCHEME.length);
  const trustDomain = id.slice(SPIFFE_SCHEME.length, slash < 0 ? id.length : slash);
  if (!isTrustDomain(trustDomain)) return undefined;
  const path = slash < 0 ? '' : id.slice(slash);
  let segmentStart = 1;
  for (let i = 1; i <= path.length; i++) {
    if (i < path.length && path[i] !== '/') {
      if (!isPathChar(path.charCodeAt(i))) return undefined;
      continue;
    }
    const segment = path.slice(segmentStart, i);
    if (segment === '' || segment === '.' || segment === '..') return undefined;
    segmentStart = i + 1;
  }
  return { trustDomain, path };
}

/** The configured workload ID: valid, with a path (a leaf SVID never has the bare trust domain ID). */
function workloadId(value: unknown, option: string): string {
  const parsed = typeof value === 'string' ? parseSpiffeId(value) : undefined;
  if (parsed === undefined || parsed.path === '') {
    throw invalidOption(
      option,
      'must be a SPIFFE ID such as "spiffe://example.org/workload" (lower-case trust domain, non-empty path segments)',
    );
  }
  return value as string;
}

/**
 * X509-SVID leaf validation (SPIFFE X509-SVID §3.1, §4.3, §5.2, as go-spiffe applies it): exactly
 * one URI SAN holding a valid SPIFFE ID with a path; not a CA; keyUsage present with
 * digitalSignature and without keyCertSign or cRLSign. Then the ID must be allowed.
 */
export function compileSpiffe(input: unknown, option: string): (cert: ClientCertificate) => Failure | null {
  const value = objectOption(input, option, '{ id }, { ids } or { trustDomain }');
  knownKeys(value, ['id', 'ids', 'trustDomain'], option);
  const given = ['id', 'ids', 'trustDomain'].filter((key) => value[key] !== undefined);
  if (given.length !== 1) throw invalidOption(option, 'must give exactly one of id, ids, trustDomain');
  let allowed: (id: string, trustDomain: string) => boolean;
  if (value.trustDomain !== undefined) {
    const text = typeof value.trustDomain === 'string' ? value.trustDomain : '';
    const domain = text.startsWith(SPIFFE_SCHEME) ? text.slice(SPIFFE_SCHEME.length) : text;
    if (!isTrustDomain(domain))
      throw invalidOption(
        `${option}.trustDomain`,
        'must be a trust domain name of lower-case letters, digits, ".", "-" and "_"',
      );
    allowed = (_id, trustDomain) => trustDomain === domain;
  } else {
    const ids = new Set(
      value.id !== undefined
        ? [workloadId(value.id, `${option}.id`)]
        : optionEntries(value.ids, `${option}.ids`).map((entry) => workloadId(entry.value, entry.option)),
    );
    allowed = (id) => ids.has(id);
  }
  return (cert) => {
    const uris = cert.san.uri;
    if (uris.length !== 1) return SVID_FAILURES.uriCount;
    const id = uris[0]!;
    const parsed = parseSpiffeId(id);
    if (parsed === undefined || parsed.path === '') return SVID_FAILURES.malformed;
    if (cert.isCA) return SVID_FAILURES.ca;
    if (!isLeafKeyUsage(cert)) return SVID_FAILURES.keyUsage;
    return allowed(id, parsed.trustDomain) ? null : SVID_FAILURES.notAllowed;
  };
}

/**
 * keyUsage present, with digitalSignature and without keyCertSign or cRLSign. An absent or
 * malformed keyUsage is not that of a leaf. Only the keyUsage extension is read here (a problem in
 * another extension is path validation's to judge).
 */
function isLeafKeyUsage(cert: ClientCertificate): boolean {
  const usage = recordOf(cert).keyUsage;
  return (
    typeof usage === 'number' &&
    (usage & KeyUsageBit.digitalSignature) !== 0 &&
    (usage & (KeyUsageBit.keyCertSign | KeyUsageBit.cRLSign)) === 0
  );
}
