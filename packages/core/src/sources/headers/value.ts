/**
 * Reading one header's value: absent and empty are the same, repeated lines are joined as Node
 * joins them, and every value is checked (length first, then characters) before any decoding.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HTAB, SP } from '../../encoding/text.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource, HeaderSourceLimits } from './types.js';

/**
 * One header's value, or undefined when absent or empty. Node delivers a string (repeated lines
 * joined with `", "`); a string array (from `headersDistinct` or a framework) of more than one
 * value is joined the same way, so the format decides whether repetition is legal.
 */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw: unknown = headers[name];
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) value = raw.join(', ');
  else return undefined; // absent (or an inherited property of a plain object: not a header)
  return value === '' ? undefined : value;
}

/** Length first (before any other work), then characters: printable ASCII and HTAB only. */
export function checkValue(header: string, value: string, limits: Required<HeaderSourceLimits>): void {
  if (value.length > limits.maxLength) {
    throw forwardedHeaderError(header, `value exceeds maxLength (${limits.maxLength} characters)`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c > 0x7e) {
      throw forwardedHeaderError(header, `control or non-ASCII character at position ${i}`);
    }
  }
}

export function readChecked(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
  name: string,
): string | undefined {
  const value = headerValue(headers, name);
  if (value !== undefined) checkValue(name, value, source.limits);
  return value;
}
