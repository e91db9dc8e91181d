/**
 * What one check works with while it runs: the answer about one certificate from one kind of
 * source, and the round of evaluation that produced it (the check's two clocks, whether it may
 * still start fetches and wait for them, and what it is waiting for).
 */
import type { CrlDefect, Reason } from './messages.js';

/** The answer for one certificate. `until` is wall-clock ms on the check's clock (`Round.t`). */
export type Answer =
  | { readonly kind: 'good'; readonly until: number }
  | { readonly kind: 'revoked'; readonly until: number }
  | Unknown
  | { readonly kind: 'pending' };

export interface Unknown {
  readonly kind: 'unknown';
  /**
   * Until when the answer holds: the data's end for an answer from data, and for a transient one
   * when the failing source may be tried again (`Round.t` or earlier while a fetch is still in
   * flight: it may end at any moment).
   */
  readonly until: number;
  readonly transient: boolean;
  readonly reason: Reason;
  /** With reason `crl_invalid`: what is wrong with the CRL. */
  readonly defect?: CrlDefect;
}

export const PENDING: Answer = Object.freeze({ kind: 'pending' });

export function unknown(reason: Reason, until = Infinity, transient = false): Unknown {
  return { kind: 'unknown', until, transient, reason };
}

/** One evaluation of the path: the first one synchronous, then one each time a fetch it waits for ends. */
export interface Round {
  /** The check's time: ms since the epoch on the caller's clock (the pipeline's, which tests may set). */
  readonly t: number;
  /**
   * performance.now() when the check began, the same instant as `t`: retry times are kept on
   * this monotonic clock, and nothing that failed or loaded since the check began is tried again in it.
   */
  readonly since: number;
  /** May start fetches and wait for them: false once the check's deadline has passed. */
  wait: boolean;
  /** Promises to wait for, filled in by the round. */
  pending: Promise<void>[] | null;
}

export function waitFor(round: Round, promise: Promise<void>): void {
  (round.pending ??= []).push(promise);
}

/**
 * A time on the monotonic clock (a retry time) as a time on the check's clock, anchored at the
 * check's start: a retry 3 s after the check began is `t + 3000`, whatever the caller's clock says.
 * Whole milliseconds, rounded down: an answer held to a retry time never outlives it.
 */
export function wallTime(round: Round, clock: number): number {
  return round.t + Math.floor(clock - round.since);
}
