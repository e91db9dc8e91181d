/** `mode`: what a request without a valid certificate gets, and how a refusal is answered. */
import type { Answering } from '../decide/decide.js';
import { integerOption, invalidOption, oneOf } from '../validate.js';
import { escapeForLog } from './warnings.js';

export type Mode = 'require' | 'accept' | 'ignore';

const MODES: readonly Mode[] = ['require', 'accept', 'ignore'];

/** nginx's `ssl_verify_client` words, often carried over from an nginx configuration. */
const NGINX_WORDS: ReadonlyMap<string, Mode> = new Map<string, Mode>([
  ['on', 'require'],
  ['optional', 'accept'],
  ['off', 'ignore'],
]);

/**
 * `mode` (default `require`). A near miss (`required`, `Accept`, nginx's `optional`) is refused
 * naming the mode that was meant: guessing would be wrong in the one case that matters, since
 * `accept` lets requests without a certificate through.
 */
export function compileMode(input: unknown): Mode {
  const word = typeof input === 'string' ? input.trim().toLowerCase() : '';
  const meant =
    NGINX_WORDS.get(word) ?? MODES.find((mode) => word.startsWith(mode) || (word.length > 2 && mode.startsWith(word)));
  if (meant !== undefined && input !== meant) {
    const given = escapeForLog(String(input).slice(0, 40));
    throw invalidOption('mode', `must be one of ${MODES.join(', ')}: "${given}" is not one (did you mean '${meant}'?)`);
  }
  return oneOf(input ?? 'require', MODES, 'mode');
}

/** `mode`, `rejectStatus` and `problemTypeBase`: how every refusal is answered (decide.ts `fail`). */
export function compileAnswering(options: {
  mode?: unknown;
  rejectStatus?: number;
  problemTypeBase?: string;
}): Answering {
  return {
    mode: compileMode(options.mode),
    rejectStatus: integerOption(options.rejectStatus ?? 403, 'rejectStatus', { min: 400, max: 499 }),
    problemTypeBase: options.problemTypeBase ?? 'urn:clientcert:problem:',
  };
}
