/**
 * Character classes (single-character tests on UTF-16 code units or bytes) and names for the
 * ASCII characters the header and PEM readers look for. Internal: not exported by the package.
 */

export const HTAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
export const SP = 0x20;
export const DQUOTE = 0x22;
export const PERCENT = 0x25;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
const SLASH = 0x2f;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const BACKSLASH = 0x5c;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Printable ASCII, space included (and the VisibleString alphabet). */
export function isVisibleAscii(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

/** Every character of `text` is printable ASCII (true for the empty string). */
export function isPrintableAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (!isVisibleAscii(text.charCodeAt(i))) return false;
  }
  return true;
}

/** RFC 9110 optional whitespace: SP and HTAB. */
export function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}

/** The position of the first character at or after `pos` that is not OWS. */
export function skipOws(text: string, pos: number): number {
  while (pos < text.length && isOws(text.charCodeAt(pos))) pos++;
  return pos;
}

/** PEM and folded-PEM whitespace: SP, HTAB, LF, CR. */
export function isPemSpace(c: number): boolean {
  return c === SP || c === HTAB || c === LF || c === CR;
}

/** The base64 alphabet without padding, checked without regexes: A-Z a-z 0-9 + / */
export function isBase64Char(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || isDigit(c) || c === PLUS || c === SLASH;
}

/** RFC 9110 `tchar`: the characters of a token (header names, XFCC keys). */
export function isTchar(c: number): boolean {
  return (
    isDigit(c) ||
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c))
  );
}
