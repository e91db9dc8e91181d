/**
 * Strict base64 (RFC 4648 §4, the standard alphabet), the one decoder every caller uses.
 *
 * `Buffer.from(text, 'base64')` alone is not a check: it silently skips characters outside the
 * alphabet and accepts the URL-safe one, so two different header values would decode to the same
 * certificate. Here every character is checked first, and only then is Node asked to decode.
 *
 * API (`text[start, end)` is read; positions are offsets in `text`):
 *
 *   type Base64Form = 'padded' | 'structured-field' | 'pem-body';
 *   type EncodingFailure = (message: string, position: number | null) => never;
 *   decodeBase64(text: string, start: number, end: number, form: Base64Form, fail: EncodingFailure): Buffer
 *   isStrictBase64(text: string, form?: Base64Form): boolean
 *
 * Forms (the strictness each caller needs, as a parameter):
 * - `padded`: no whitespace, `=` only at the end (at most two), length a multiple of four, not
 *   empty (a header that carries base64 DER);
 * - `structured-field`: as `padded`, but padding may be omitted (RFC 8941 §4.2.7 byte sequences:
 *   a remainder of 2 or 3 characters is completed, a remainder of 1 is truncated data);
 * - `pem-body`: whitespace (SP, HTAB, CR, LF) allowed anywhere (line breaks, or the spaces a proxy
 *   folds them into), otherwise as `padded`.
 *
 * `fail` is called with a message that names the problem (never the input) and the position it was
 * found at, and must throw: each caller raises its own error code (`certificate_malformed`,
 * `forwarded_header_malformed`) and decides whether the position is worth telling.
 */
import { EQUALS, isBase64Char, isPemSpace } from './text.js';

export type Base64Form = 'padded' | 'structured-field' | 'pem-body';

/** Called with what is wrong and where (an offset in the text, or null); must throw. */
export type EncodingFailure = (message: string, position: number | null) => never;

/** Decodes `text[start, end)` after checking every character against `form`. */
export function decodeBase64(
  text: string,
  start: number,
  end: number,
  form: Base64Form,
  fail: EncodingFailure,
): Buffer {
  if (form === 'pem-body') return decodePemBody(text, start, end, fail);
  let padding = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === EQUALS) {
      padding++;
      continue;
    }
    if (padding > 0) fail('base64 padding before the end', i);
    if (!isBase64Char(c)) fail('invalid base64 character', i);
  }
  const length = end - start;
  if (length === 0) fail('empty base64', start);
  if (padding > 2) fail('invalid base64 padding', end - padding);
  const remainder = length % 4;
  if (padding > 0 || form === 'padded') {
    if (remainder !== 0) fail('base64 length is not a multiple of 4', start);
  } else if (remainder === 1) {
    fail('truncated base64', start);
  }
  // Node decodes unpadded input as if padded, which is what RFC 8941 means.
  return Buffer.from(start === 0 && end === text.length ? text : text.slice(start, end), 'base64');
}

/**
 * A PEM body: whitespace anywhere, padding only at the end, at least one group of four. Node
 * skips the whitespace itself, so nothing is copied before decoding.
 */
function decodePemBody(text: string, start: number, end: number, fail: EncodingFailure): Buffer {
  let count = 0;
  let padding = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isPemSpace(c)) continue;
    if (c === EQUALS) padding++;
    else if (padding > 0 || !isBase64Char(c)) fail('invalid base64 in PEM', i);
    count++;
  }
  if (count === 0 || count % 4 !== 0 || padding > 2) fail('invalid base64 length in PEM', start);
  return Buffer.from(text.slice(start, end), 'base64');
}

const refuse: EncodingFailure = () => {
  throw new SyntaxError('not base64');
};

/** True when the whole of `text` is base64 of `form` (default `padded`). */
export function isStrictBase64(text: string, form: Base64Form = 'padded'): boolean {
  try {
    decodeBase64(text, 0, text.length, form, refuse);
    return true;
  } catch {
    return false;
  }
}
