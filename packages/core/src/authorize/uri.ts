/**
 * `san.uri` rules (RFC 5280 §7.4, RFC 3986 §6.2.2.1): the scheme and the host compare
 * case-insensitively, everything else exactly. Nothing else is normalised: percent-encoding is
 * compared as written (`%7E` is not `~`, `%2f` is not `%2F`), and neither dot segments nor default
 * ports are resolved. Each of those would make more certificates match a rule, never fewer, so a
 * URI written differently from the rule fails closed. Certificate URIs are IA5Strings and rules
 * printable ASCII, so lower-casing is ASCII-only.
 */
import { invalidOption } from '../validate.js';
import { optionEntries } from './option-entries.js';

/** Index of the `:` ending an RFC 3986 scheme (`ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`), or -1. */
function schemeEnd(uri: string): number {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (c === 0x3a) return i > 0 ? i : -1;
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alpha && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) return -1;
  }
  return -1;
}

interface UriParts {
  /** Index of the scheme's `:`. */
  readonly colon: number;
  /** The host, [hostStart, hostEnd); both -1 without an authority (`urn:`, `mailto:`). */
  readonly hostStart: number;
  readonly hostEnd: number;
  /** Where the path starts (after the authority, if any). */
  readonly pathStart: number;
}

function isAuthorityEnd(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x23; // / ? #
}

/** Scheme and host positions of a URI with a scheme; undefined when it has none. */
function uriParts(uri: string): UriParts | undefined {
  const colon = schemeEnd(uri);
  if (colon < 0) return undefined;
  if (uri.charCodeAt(colon + 1) !== 0x2f || uri.charCodeAt(colon + 2) !== 0x2f) {
    return { colon, hostStart: -1, hostEnd: -1, pathStart: colon + 1 };
  }
  const authorityStart = colon + 3;
  let authorityEnd = authorityStart;
  while (authorityEnd < uri.length && !isAuthorityEnd(uri.charCodeAt(authorityEnd))) authorityEnd++;
  // userinfo ends at the last "@" of the authority; the port starts at a ":" after the host
  // (an IP literal "[...]" has colons of its own).
  const at = uri.lastIndexOf('@', authorityEnd - 1);
  const hostStart = at >= authorityStart ? at + 1 : authorityStart;
  let hostEnd = hostStart;
  if (uri.charCodeAt(hostStart) === 0x5b) {
    const close = uri.indexOf(']', hostStart);
    hostEnd = close >= 0 && close < authorityEnd ? close + 1 : authorityEnd;
  } else {
    while (hostEnd < authorityEnd && uri.charCodeAt(hostEnd) !== 0x3a) hostEnd++;
  }
  return { colon, hostStart, hostEnd, pathStart: authorityEnd };
}

function hasUpperCase(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/**
 * `uri` with its scheme and host in lower case and the rest as it is. Returns `uri` itself when
 * nothing changes (the usual case: no allocation per comparison).
 */
function normalizeUri(uri: string, parts: UriParts): string {
  const { colon, hostStart, hostEnd } = parts;
  const upperHost = hostStart >= 0 && hasUpperCase(uri, hostStart, hostEnd);
  if (!upperHost && !hasUpperCase(uri, 0, colon)) return uri;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (!upperHost) return scheme + uri.slice(colon);
  return scheme + uri.slice(colon, hostStart) + uri.slice(hostStart, hostEnd).toLowerCase() + uri.slice(hostEnd);
}

/** RFC 3986 §2: unreserved, reserved and "%" — nothing a parser might read as something else. */
function isUriChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x40 && c <= 0x5b) ||
    (c >= 0x23 && c <= 0x3b) ||
    c === 0x21 ||
    c === 0x3d ||
    c === 0x3f ||
    c === 0x5d ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** A `.` or `..` path segment, plain or percent-encoded (`%2e`), which RFC 3986 §5.2.4 would remove. */
function isDotSegment(uri: string, from: number, to: number): boolean {
  let dots = 0;
  for (let i = from; i < to; dots++) {
    if (uri.charCodeAt(i) === 0x2e) i++;
    else if (uri.charCodeAt(i) === 0x25 && uri.charCodeAt(i + 1) === 0x32 && (uri.charCodeAt(i + 2) | 0x20) === 0x65)
      i += 3;
    else return false;
  }
  return dots === 1 || dots === 2;
}

/**
 * True when a certificate URI may be matched by a prefix: only URI characters (so no `\\`,
 * which WHATWG parsers read as `/`), and no dot segment in the path. Otherwise
 * `https://contoso.com/users/../admins/bob` would pass `https://contoso.com/users/*` although it
 * names `/admins/bob`.
 */
function prefixMatchable(uri: string, pathStart: number): boolean {
  let segmentStart = pathStart;
  let inPath = true;
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    if (!isUriChar(c)) return false;
    if (!inPath || i < pathStart) continue;
    if (c === 0x2f || c === 0x3f || c === 0x23) {
      if (isDotSegment(uri, segmentStart, i)) return false;
      segmentStart = i + 1;
      if (c !== 0x2f) inPath = false; // query or fragment: no more segments
    }
  }
  return !inPath || !isDotSegment(uri, segmentStart, uri.length);
}

/**
 * Exact URIs, or prefixes written with a trailing `*`, compared with the scheme and host
 * case-insensitive (see above). Rules are normalised once here; certificate URIs per comparison.
 */
export function compileUri(value: unknown, option: string): (uris: readonly string[]) => boolean {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const entry of optionEntries(value, option)) {
    const uri = entry.value;
    const parts = uriParts(uri);
    if (parts === undefined || ![...uri].every((c) => c > ' ' && c <= '~')) {
      throw invalidOption(
        entry.option,
        'must be a URI with a scheme (such as "https:" or "spiffe:"), in printable ASCII without spaces',
      );
    }
    if (parts.hostStart >= 0 && uri.slice(parts.hostStart, parts.hostEnd).includes('%')) {
      throw invalidOption(entry.option, 'must write the host without percent-encoding');
    }
    const star = uri.indexOf('*');
    if (star >= 0 && star !== uri.length - 1)
      throw invalidOption(entry.option, 'may only use "*" at the end, as a prefix');
    const normalized = normalizeUri(uri, parts);
    if (star < 0) {
      exact.add(normalized);
      continue;
    }
    const prefix = normalized.slice(0, -1);
    // `spiffe://contoso*` would also match `spiffe://contoso.evil/…`: a prefix must close the authority.
    if (parts.hostStart >= 0 && parts.pathStart >= prefix.length) {
      throw invalidOption(
        entry.option,
        'must include the "/" after the host before "*", so that the prefix cannot match other hosts',
      );
    }
    if (!prefixMatchable(prefix, parts.pathStart)) {
      throw invalidOption(entry.option, 'must not contain "." or ".." path segments or characters outside RFC 3986');
    }
    prefixes.push(prefix);
  }
  return (uris) => {
    for (const uri of uris) {
      const parts = uriParts(uri);
      if (parts === undefined) continue;
      const normalized = normalizeUri(uri, parts);
      if (exact.has(normalized)) return true;
      if (prefixes.length === 0) continue;
      let matchable: boolean | undefined;
      for (const prefix of prefixes) {
        if (!normalized.startsWith(prefix)) continue;
        matchable ??= prefixMatchable(normalized, parts.pathStart);
        if (matchable) return true;
      }
    }
    return false;
  };
}
