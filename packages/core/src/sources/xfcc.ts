/**
 * Envoy `X-Forwarded-Client-Cert` (XFCC): parse, format, element selection and Hash check.
 *
 * Grammar accepted by {@link parseXfcc} (Envoy's documented grammar, its emitter and its own
 * parser, plus what Node.js and Azure Container Apps do to the value):
 *
 * ```text
 * header   = OWS [ element *( OWS "," OWS element ) OWS ]   ; Node joins duplicates with ", "
 * element  = pair-list with at least one pair
 * pair-list= [ pair ] *( OWS ";" OWS [ pair ] )              ; empty pairs / trailing ";" (ACA) skipped
 * pair     = key OWS "=" OWS ( quoted / bare )               ; split at the FIRST "="
 * key      = 1*tchar                                         ; case-insensitive
 * quoted   = DQUOTE *( "\" DQUOTE / "\\" / other ) DQUOTE    ; \" -> ", \\ -> \, other "\" kept
 * bare     = *( any char except "," ";" DQUOTE )             ; may contain "="; trailing OWS trimmed
 * OWS      = *( SP / HTAB )
 * ```
 *
 * The parser is one left-to-right pass over the value (no backtracking regular expressions), so
 * its work is linear in the header length, which is itself capped before anything else happens.
 * Every failure is a `ClientCertError` with code `xfcc_malformed` whose message names the problem
 * and a position, never the offending text (the header is attacker-controlled).
 */
import { percentDecode as decodePercent, type PercentForm } from '../encoding/percent.js';
import { BACKSLASH, COMMA, DQUOTE, EQUALS, HTAB, isOws, isTchar, SEMICOLON, skipOws } from '../encoding/text.js';
import { ClientCertError, invalidOption } from '../errors.js';
import { knownKeys } from '../validate.js';
import { derToPem, pemToDer, splitCertificates } from '../x509/certificate.js';

/** One XFCC element: what one proxy hop wrote about the TLS client it saw. */
export interface XfccElement {
  /** URI SANs of the proxy that wrote the element (one entry per `By` pair). */
  by: string[];
  /** `Hash` as written: Envoy writes lower-case hex SHA-256 of the DER; not validated here. */
  hash?: string;
  /** `Cert`, percent-decoded and normalized to one canonical PEM certificate (the leaf: see {@link xfccLeaf}). */
  cert?: string;
  /**
   * `Chain`, percent-decoded and split: one canonical PEM per certificate, in header order. Envoy
   * writes the leaf first, then what the client sent after it; without `Cert` the first is the leaf.
   */
  chain: string[];
  /**
   * `Subject` (RFC 2253 in current Envoy, `/C=..` one-line form in old builds) with XFCC quoting
   * undone. Envoy writes the RFC 2253 text inside quotes without escaping it, so, exactly as in
   * Envoy's own parser, an RFC 2253 `\\` or `\"` loses one level of escaping here (`\,` survives).
   */
  subject?: string;
  /** `Issuer` (Envoy 2026+), unescaped. */
  issuer?: string;
  /** URI SANs of the client certificate (one entry per non-empty `URI` pair). */
  uri: string[];
  /** DNS SANs of the client certificate (one entry per non-empty `DNS` pair). */
  dns: string[];
  /** Any other key, lower-cased, with every value in order (newer Envoy keys survive a round trip). */
  extra: Record<string, string[]>;
}

export interface XfccLimits {
  /** Longest header value accepted, in characters; checked before any other work. */
  maxLength?: number;
  /** Most elements (proxy hops) accepted in one header value. */
  maxElements?: number;
  /** Most certificates accepted in one element's `Chain`. */
  maxChainLength?: number;
}

/**
 * 64 KiB is four times Node's default limit for the whole header section (16 KiB), so it never
 * rejects what Node let through by default, yet still bounds the work of a raised limit.
 */
export const DEFAULT_XFCC_LIMITS: Readonly<Required<XfccLimits>> = Object.freeze({
  maxLength: 65536,
  maxElements: 16,
  maxChainLength: 10,
});

export type XfccElementPolicy = 'last' | 'first' | 'only';

// ---------------------------------------------------------------------------------------------
// Errors

export function malformed(message: string): ClientCertError {
  return new ClientCertError('xfcc_malformed', `XFCC header: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Character classes (single-character tests only; the shared ones are in text.ts)

/** C0 controls except HTAB, and DEL: never legal in a field value (and CR/LF would split it). */
function isForbiddenControl(code: number): boolean {
  return (code < 0x20 && code !== HTAB) || code === 0x7f;
}

// ---------------------------------------------------------------------------------------------
// Limits

const LIMIT_NAMES: ReadonlySet<string> = new Set(['maxLength', 'maxElements', 'maxChainLength']);

/** The limits with defaults filled in; `invalid_option` naming `xfcc.limits.<name>` for a bad one. */
export function resolveLimits(limits: XfccLimits | undefined): Required<XfccLimits> {
  if (limits !== undefined && (typeof limits !== 'object' || limits === null))
    throw invalidOption('xfcc.limits', 'must be an object such as { maxLength: 65536 }');
  if (limits) knownKeys(limits, LIMIT_NAMES, 'xfcc.limits');
  const resolved = { ...DEFAULT_XFCC_LIMITS };
  for (const name of ['maxLength', 'maxElements', 'maxChainLength'] as const) {
    const value = limits?.[name];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value < 1) invalidLimit(name);
    resolved[name] = value;
  }
  return resolved;
}

function invalidLimit(name: string): never {
  throw invalidOption(`xfcc.limits.${name}`, 'must be a positive integer');
}

// ---------------------------------------------------------------------------------------------
// Lexing: text -> elements -> raw pairs

interface RawPair {
  /** Lower-cased key. */
  key: string;
  /** Value with quotes removed and `\"` / `\\` unescaped. */
  value: string;
  /** Offset of the key in the header value, for error messages. */
  at: number;
}

interface Scanned<T> {
  result: T;
  /** Offset just past what was consumed. */
  end: number;
}

function assertNoControlCharacters(text: string): void {
  for (let i = 0; i < text.length; i++) {
    if (isForbiddenControl(text.charCodeAt(i))) {
      throw malformed(`control character at position ${i}`);
    }
  }
}

/** Reads pairs from `start` up to the `,` that ends the element (or the end of the value). */
function scanElement(text: string, start: number): Scanned<RawPair[]> {
  const pairs: RawPair[] = [];
  let pos = start;
  for (;;) {
    pos = skipOws(text, pos);
    if (pos >= text.length || text.charCodeAt(pos) === COMMA) break;
    if (text.charCodeAt(pos) === SEMICOLON) {
      pos++; // empty pair, e.g. the trailing ";" Azure Container Apps documents
      continue;
    }
    const pair = scanPair(text, pos);
    pairs.push(pair.result);
    pos = pair.end;
    if (pos < text.length && text.charCodeAt(pos) === SEMICOLON) pos++;
  }
  if (pairs.length === 0) throw malformed(`empty element at position ${start}`);
  return { result: pairs, end: pos };
}

/** Reads `key = value`; stops at the `;` or `,` that follows, or at the end. */
function scanPair(text: string, start: number): Scanned<RawPair> {
  let pos = start;
  while (pos < text.length && isTchar(text.charCodeAt(pos))) pos++;
  const keyEnd = pos;
  pos = skipOws(text, pos);
  const next = pos < text.length ? text.charCodeAt(pos) : -1;
  if (next !== EQUALS) {
    if (next === -1 || next === SEMICOLON || next === COMMA) {
      throw malformed(`pair without "=" at position ${start}`);
    }
    throw malformed(`invalid character in key at position ${pos}`);
  }
  if (keyEnd === start) throw malformed(`empty key at position ${start}`);
  const key = text.slice(start, keyEnd).toLowerCase();

  pos = skipOws(text, pos + 1);
  const value = pos < text.length && text.charCodeAt(pos) === DQUOTE ? scanQuoted(text, pos) : scanBare(text, pos);
  return { result: { key, value: value.result, at: start }, end: value.end };
}

/**
 * A quoted value. Unescaping follows Envoy's own parser: `\"` -> `"`, `\\` -> `\`, any other
 * backslash is kept with the character after it (so RFC 2253 escapes such as `\,` survive).
 * After the closing quote only OWS and then `;`, `,` or the end may follow: anything else would
 * mean the quotes did not delimit the whole value, which is how injections look.
 */
function scanQuoted(text: string, open: number): Scanned<string> {
  let value = '';
  let chunk = open + 1;
  let pos = open + 1;
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code === DQUOTE) {
      value += text.slice(chunk, pos);
      return { result: value, end: afterClosingQuote(text, pos + 1) };
    }
    if (code === BACKSLASH && pos + 1 < text.length) {
      const escaped = text.charCodeAt(pos + 1);
      if (escaped === DQUOTE || escaped === BACKSLASH) {
        value += text.slice(chunk, pos) + text[pos + 1];
        pos += 2;
        chunk = pos;
        continue;
      }
    }
    pos++;
  }
  throw malformed(`unterminated quoted value starting at position ${open}`);
}

function afterClosingQuote(text: string, start: number): number {
  const pos = skipOws(text, start);
  if (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code !== SEMICOLON && code !== COMMA) {
      throw malformed(`unexpected character after closing quote at position ${pos}`);
    }
  }
  return pos;
}

/** An unquoted value: up to `;`, `,` or the end. A `"` inside it is an error, not a quote. */
function scanBare(text: string, start: number): Scanned<string> {
  let pos = start;
  let lastNonOws = start;
  while (pos < text.length) {
    const code = text.charCodeAt(pos);
    if (code === SEMICOLON || code === COMMA) break;
    if (code === DQUOTE) throw malformed(`quote inside an unquoted value at position ${pos}`);
    pos++;
    if (!isOws(code)) lastNonOws = pos;
  }
  return { result: text.slice(start, lastNonOws), end: pos };
}

// ---------------------------------------------------------------------------------------------
// Building elements from raw pairs

/** Keys that Envoy writes at most once per element. A second one is rejected, not merged:
 * two `Cert`s (or `Hash`es) in one element is what a value spliced into an unquoted field looks
 * like, and "first wins" vs "last wins" would let the attacker pick. */
const SINGLE_VALUED = new Set(['hash', 'cert', 'chain', 'subject', 'issuer']);

function buildElement(pairs: readonly RawPair[], limits: Required<XfccLimits>): XfccElement {
  const element: XfccElement = { by: [], chain: [], uri: [], dns: [], extra: emptyExtra() };
  const seen = new Set<string>();
  for (const { key, value, at } of pairs) {
    if (SINGLE_VALUED.has(key)) {
      if (seen.has(key)) throw malformed(`repeated single-valued key at position ${at}`);
      seen.add(key);
    }
    switch (key) {
      case 'by':
      case 'uri':
      case 'dns':
        // Envoy writes a bare `URI=` when the certificate has no URI SAN: that means "none".
        if (value !== '') element[key].push(value);
        break;
      case 'hash':
        // Empty is rejected so that no caller can mistake `hash: ''` (falsy) for "no Hash".
        if (value === '') throw malformed(`empty Hash at position ${at}`);
        element.hash = value;
        break;
      case 'cert':
        element.cert = decodeCert(value, at);
        break;
      case 'chain':
        element.chain = decodeChain(value, at, limits.maxChainLength);
        break;
      case 'subject':
      case 'issuer':
        element[key] = value; // `Subject=""` is normal (SPIFFE certificates have no subject)
        break;
      default:
        (element.extra[key] ??= []).push(value);
    }
  }
  return element;
}

/** No prototype: keys come from the header, and `__proto__` must stay an ordinary key. */
function emptyExtra(): Record<string, string[]> {
  return Object.create(null) as Record<string, string[]>;
}

/** `decodeURIComponent`'s rules: `%XX` bytes read as UTF-8, every other character kept. */
const UTF8_TEXT: PercentForm = { output: 'utf8', bytes: 'any' };

/**
 * `Cert` / `Chain` values. Envoy percent-encodes the PEM; Azure Container Apps documents raw PEM
 * (`Cert="-----BEGIN CERTIFICATE-----..."`), and Microsoft's own sample URL-decodes it anyway.
 * We always percent-decode with decodeURIComponent's rules (encoding/percent.ts): the PEM
 * alphabet (letters, digits, `+ / = -`, whitespace) has no `%`, so raw PEM passes through
 * unchanged, and `+` is never turned into a space (unlike form decoding), so base64 survives in
 * both shapes. Whitespace between base64 characters is tolerated by the PEM reader below.
 */
function percentDecode(value: string, at: number): string {
  return decodePercent(value, 0, value.length, UTF8_TEXT, () => {
    throw malformed(`invalid percent-encoding in the value of the pair at position ${at}`);
  });
}

/**
 * A `Cert` that is one PEM certificate comes back in canonical PEM. Anything else that is
 * well-formed XFCC (Envoy's own unit tests carry `Cert="%3D%3Dabc%0Ade%3D"`) comes back as the
 * decoded text: the header parses, and reading it as a certificate fails later, where the
 * certificate is parsed (`certificate_malformed`). Splitting XFCC is this module's job; judging
 * certificates is not.
 */
function decodeCert(value: string, at: number): string {
  const decoded = percentDecode(value, at);
  try {
    return derToPem(pemToDer(decoded));
  } catch {
    return decoded;
  }
}

/** Like `decodeCert`: PEM blocks are split one per certificate, anything else is one entry. */
function decodeChain(value: string, at: number, maxChainLength: number): string[] {
  const decoded = percentDecode(value, at);
  if (decoded.trim() === '') return [];
  let ders: Buffer[];
  try {
    ders = splitCertificates(decoded);
  } catch {
    return [decoded];
  }
  if (ders.length > maxChainLength) {
    throw malformed(`Chain exceeds maxChainLength (${maxChainLength}) at position ${at}`);
  }
  return ders.map(derToPem);
}

// ---------------------------------------------------------------------------------------------
// Public: parse

/**
 * Parses an `X-Forwarded-Client-Cert` value into its elements, leftmost (earliest proxy) first.
 * An empty (or whitespace-only) value yields `[]`, the inverse of `formatXfcc([])`.
 * Throws `ClientCertError` (`xfcc_malformed`) on anything outside the grammar, on a repeated
 * single-valued key, on undecodable `Cert`/`Chain`, and when a limit is exceeded.
 */
export function parseXfcc(value: string, limits?: XfccLimits): XfccElement[] {
  const lim = resolveLimits(limits);
  if (typeof value !== 'string') throw malformed('value is not a string');
  if (value.length > lim.maxLength) throw malformed(`value exceeds maxLength (${lim.maxLength} characters)`);
  assertNoControlCharacters(value);

  const elements: XfccElement[] = [];
  let pos = skipOws(value, 0);
  if (pos === value.length) return elements;
  for (;;) {
    if (elements.length === lim.maxElements) {
      throw malformed(`more elements than maxElements (${lim.maxElements})`);
    }
    const scanned = scanElement(value, pos);
    elements.push(buildElement(scanned.result, lim));
    if (scanned.end >= value.length) return elements;
    pos = skipOws(value, scanned.end + 1); // past the ","; an element must follow
  }
}

// ---------------------------------------------------------------------------------------------
// Public: format

/** Each byte as Envoy's `PercentEncoding::urlEncode` writes it. */
const URL_ENCODED: readonly string[] = Array.from({ length: 256 }, (_, byte) => {
  const c = String.fromCharCode(byte);
  return /[A-Za-z0-9*\-._]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
});

/**
 * Envoy's `PercentEncoding::urlEncode`: every UTF-8 byte except `A-Z a-z 0-9 * - . _` as `%XX`
 * (also the forwarder's encoding).
 */
export function urlEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += URL_ENCODED[byte]!;
  return out;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

/** Bare when safe (as Envoy writes SANs), quoted when the value would otherwise be ambiguous. */
function quoteIfNeeded(value: string): string {
  return /[,;="\\\s]/.test(value) ? quote(value) : value;
}

/** Refuse rather than emit a header that could be split (CR/LF) or that parseXfcc rejects. */
function assertFormattable(key: string, written: string): void {
  for (let i = 0; i < written.length; i++) {
    if (isForbiddenControl(written.charCodeAt(i))) {
      throw malformed(`cannot format a control character in the value of ${key}`);
    }
  }
}

/**
 * `Cert` / `Chain` are written as UTF-8 percent-escapes, and UTF-8 cannot carry a lone surrogate
 * (Buffer.from would write U+FFFD): refuse rather than emit a value that parses back different.
 */
function urlEncodeExact(key: string, text: string): string {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xd800 || code > 0xdfff) continue;
    const next = text.charCodeAt(i + 1); // NaN past the end
    if (code > 0xdbff || !(next >= 0xdc00 && next <= 0xdfff)) {
      throw malformed(`cannot format a lone surrogate in the value of ${key}`);
    }
    i++;
  }
  return urlEncode(text);
}

const KNOWN_KEYS = new Set(['by', 'hash', 'cert', 'chain', 'subject', 'issuer', 'uri', 'dns']);

function assertExtraKey(key: string): void {
  let token = key.length > 0;
  for (let i = 0; token && i < key.length; i++) token = isTchar(key.charCodeAt(i));
  if (!token) throw malformed('cannot format an extra key that is not a token');
  if (KNOWN_KEYS.has(key.toLowerCase())) {
    throw malformed('cannot format an extra key that is also a known XFCC key');
  }
}

function formatElement(element: Partial<XfccElement>): string {
  const pairs: string[] = [];
  const add = (key: string, written: string): void => {
    assertFormattable(key, written);
    pairs.push(`${key}=${written}`);
  };
  for (const by of element.by ?? []) if (by !== '') add('By', quoteIfNeeded(by));
  if (element.hash !== undefined) add('Hash', quoteIfNeeded(element.hash));
  if (element.cert !== undefined) add('Cert', `"${urlEncodeExact('Cert', element.cert)}"`);
  if (element.chain !== undefined && element.chain.length > 0) {
    add('Chain', `"${element.chain.map((pem) => urlEncodeExact('Chain', pem)).join('')}"`);
  }
  if (element.subject !== undefined) add('Subject', quote(element.subject));
  if (element.issuer !== undefined) add('Issuer', quote(element.issuer));
  for (const uri of element.uri ?? []) if (uri !== '') add('URI', quoteIfNeeded(uri));
  for (const dns of element.dns ?? []) if (dns !== '') add('DNS', quoteIfNeeded(dns));
  for (const [key, values] of Object.entries(element.extra ?? {})) {
    assertExtraKey(key);
    for (const value of values) add(key, quoteIfNeeded(value));
  }
  // An element with nothing to say still needs one pair, or it would vanish (or leave ",,").
  // `URI=` is Envoy's own "no URI SAN" pair and parses back to an element with no fields.
  return pairs.length > 0 ? pairs.join(';') : 'URI=';
}

/**
 * Writes elements the way Envoy does (`By`, `Hash`, `Cert`, `Chain`, `Subject`, `Issuer`, `URI`,
 * `DNS`, then extra keys; `;` between pairs, `,` between elements, no whitespace). Differences
 * from Envoy, all of which `parseXfcc` reads back identically:
 * - no `URI=` is written when there is no URI SAN (parse treats `URI=` and no URI the same);
 * - By/URI/DNS/Hash/extra values containing `, ; = " \` or whitespace are quoted and escaped,
 *   where Envoy would write them bare and ambiguous;
 * - empty strings in `by` / `uri` / `dns` are skipped, because parse never produces them.
 * `parseXfcc(formatXfcc(x))` deep-equals `x` for every `x` that `parseXfcc` can return.
 */
export function formatXfcc(elements: readonly XfccElement[] | readonly Partial<XfccElement>[]): string {
  return (elements as readonly Partial<XfccElement>[]).map(formatElement).join(',');
}

export { selectXfccElement, xfccHashMatches, xfccLeaf } from './xfcc-element.js';
