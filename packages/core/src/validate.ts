/**
 * The one way to validate options. Each check either returns the value, typed, or throws
 * `invalid_option` naming the option by its full path (`xfcc.limits.maxLength`) and saying what it
 * must be. Configuration mistakes are `invalid_option` at start-up; a `TypeError` is only for a
 * programmer calling a function with arguments of the wrong type.
 */
import { isTchar } from './encoding/text.js';
import { invalidOption } from './errors.js';

export { invalidOption };

/** A plain object (not null, not an array): the value of an option group such as `xfcc`. */
export function objectOption(value: unknown, path: string, example = ''): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidOption(path, `must be an object${example ? ` such as ${example}` : ''}`);
  }
  return value as Record<string, unknown>;
}

/** Refuses any key not in `known`, naming it under `path` (a typo must not be silently ignored). */
export function knownKeys(value: object, known: ReadonlySet<string> | readonly string[], path = ''): void {
  const allowed: ReadonlySet<string> = known instanceof Set ? known : new Set(known as readonly string[]);
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) throw invalidOption(path ? `${path}.${key}` : key, 'is not a known option');
  }
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalidOption(path, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function booleanOption(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw invalidOption(path, 'must be true or false');
  return value;
}

/** An integer within `[min, max]` (both inclusive, both optional). */
export function integerOption(value: unknown, path: string, range: { min?: number; max?: number } = {}): number {
  const { min = -Infinity, max = Infinity } = range;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const bounds =
      min === 1 && max === Infinity
        ? 'a positive integer'
        : max === Infinity
          ? `an integer >= ${min}`
          : min === -Infinity
            ? `an integer <= ${max}`
            : `an integer from ${min} to ${max}`;
    throw invalidOption(path, `must be ${bounds}`);
  }
  return value;
}

/** A non-empty string, or a list of them (`allowEmptyList`: the list may have no entries). */
export function stringList(value: unknown, path: string, options: { allowEmptyList?: boolean } = {}): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw invalidOption(path, 'must be a non-empty string or a list of them');
  }
  if (list.length === 0 && !options.allowEmptyList) throw invalidOption(path, 'must not be an empty list');
  return [...(list as string[])];
}

/** An HTTP header name (an RFC 9110 token), returned lower-case as Node delivers header names. */
export function headerNameOption(value: unknown, path: string): string {
  if (typeof value !== 'string' || value === '' || ![...value].every((c) => isTchar(c.charCodeAt(0)))) {
    throw invalidOption(path, 'must be an HTTP header name');
  }
  return value.toLowerCase();
}

/** A function; `signature` says what it is called with, for the message (`(event) => void`). */
export function functionOption<T extends (...args: never[]) => unknown>(
  value: unknown,
  path: string,
  signature: string,
): T {
  if (typeof value !== 'function') throw invalidOption(path, `must be a function ${signature}`);
  return value as T;
}

/**
 * For a PEM option that could not be read: when its text has `\n` as two characters (a PEM
 * pasted into an environment variable or a JSON string), the fix; else nothing.
 */
export function literalNewlineHint(value: unknown): string {
  const texts = (Array.isArray(value) ? value : [value]).map((item) =>
    typeof item === 'string' ? item : Buffer.isBuffer(item) ? item.toString('latin1') : '',
  );
  return texts.some((text) => text.includes('-----BEGIN') && text.includes('\\n'))
    ? '; the text has \\n as two characters instead of line breaks (a PEM pasted into an environment variable?): ' +
        "turn them into line breaks first, e.g. value.replaceAll('\\\\n', '\\n')"
    : '';
}
