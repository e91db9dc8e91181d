/**
 * Percent-decoding (RFC 3986 §2.1) without form semantics: `%XX` is a byte, `+` stays `+`. Form
 * decoding would turn the `+` of base64 into a space; no header format this package reads asks
 * for that except Traefik's `-Info` header, which is Go's query escaping and decoded beside it.
 *
 * API (`text[start, end)` is read; positions are offsets in `text`):
 *
 *   interface PercentForm {
 *     output: 'latin1' | 'utf8';   // each byte one character, or the bytes read as strict UTF-8
 *     bytes: 'any' | 'pem-text';   // which decoded bytes are allowed
 *   }
 *   percentDecode(text: string, start: number, end: number, form: PercentForm, fail: EncodingFailure): string
 *
 * - `%` must be followed by two hex digits (either case): `invalid percent-encoding` at the `%`;
 * - `bytes: 'pem-text'`: a decoded byte must be printable ASCII or PEM whitespace (HTAB, LF, CR):
 *   `percent-encoded control or non-ASCII byte` at the `%`;
 * - `output: 'utf8'`: `decodeURIComponent`'s rules: each run of escapes must be whole UTF-8
 *   (no overlong forms, no surrogates): `invalid UTF-8 in percent-encoding` at the run's first `%`.
 *   Characters that were not escaped are kept as they are.
 *
 * Text without `%` is returned as it is (no copy).
 */
import { isUtf8 } from 'node:buffer';
import type { EncodingFailure } from './base64.js';
import { isPemSpace, PERCENT, SP } from './text.js';

export interface PercentForm {
  /** `latin1`: one character per byte. `utf8`: the bytes of each run of escapes are UTF-8. */
  readonly output: 'latin1' | 'utf8';
  /** `pem-text`: only printable ASCII and PEM whitespace may be escaped (every PEM format). */
  readonly bytes: 'any' | 'pem-text';
}

/** The value of one hex digit, or -1. */
export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** One `%XX` at `i` (which holds `%`) as a byte, or -1 when it is not two hex digits before `end`. */
function escapedByte(text: string, i: number, end: number): number {
  if (i + 2 >= end) return -1;
  const high = hexValue(text.charCodeAt(i + 1));
  const low = hexValue(text.charCodeAt(i + 2));
  return high < 0 || low < 0 ? -1 : high * 16 + low;
}

function allowedInPemText(byte: number): boolean {
  return (byte >= SP && byte <= 0x7e) || isPemSpace(byte);
}

/** Decodes `text[start, end)` (see the module comment). */
export function percentDecode(
  text: string,
  start: number,
  end: number,
  form: PercentForm,
  fail: EncodingFailure,
): string {
  let percent = text.indexOf('%', start);
  if (percent < 0 || percent >= end) return start === 0 && end === text.length ? text : text.slice(start, end);
  let out = '';
  let chunk = start;
  const run: number[] = [];
  while (percent >= 0 && percent < end) {
    out += text.slice(chunk, percent);
    const runStart = percent;
    let i = percent;
    // A run of consecutive escapes: one UTF-8 sequence may span several.
    while (i < end && text.charCodeAt(i) === PERCENT) {
      const byte = escapedByte(text, i, end);
      if (byte < 0) fail('invalid percent-encoding', i);
      if (form.bytes === 'pem-text' && !allowedInPemText(byte)) fail('percent-encoded control or non-ASCII byte', i);
      run.push(byte);
      i += 3;
    }
    out += decodeRun(run, form.output, runStart, fail);
    run.length = 0;
    chunk = i;
    percent = text.indexOf('%', i);
  }
  return out + text.slice(chunk, end);
}

function decodeRun(bytes: number[], output: PercentForm['output'], at: number, fail: EncodingFailure): string {
  // The common case (base64's `+`, `/`, `=` and line ends in an encoded PEM): one ASCII byte is its
  // own character, with no Buffer to make (a Cert value has dozens of such runs).
  if (bytes.length === 1 && (bytes[0]! < 0x80 || output === 'latin1')) return String.fromCharCode(bytes[0]!);
  const buffer = Buffer.from(bytes);
  if (output === 'latin1') return buffer.toString('latin1');
  // isUtf8 refuses overlong forms and surrogates, as decodeURIComponent does.
  if (!isUtf8(buffer)) fail('invalid UTF-8 in percent-encoding', at);
  return buffer.toString('utf8');
}
