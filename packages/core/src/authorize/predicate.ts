/**
 * `predicate`: the application's own check, run after every other rule passed. Only an explicit
 * yes passes; a throw or a rejection is a failure whose `cause` is kept for logs, never shown.
 */
import { isPrintableAscii } from '../encoding/text.js';
import type { ClientCertificate } from '../model.js';
import type { RuleContext } from '../trust/pins.js';
import { FAILURES, type Failure, type RuleResult } from './result.js';

/** `true` / `{ ok: true }` accept; `false` / `{ ok: false, reason }` reject. Anything else rejects. */
export type PredicateVerdict = boolean | { readonly ok: true } | { readonly ok: false; readonly reason?: string };

/**
 * The application's own check, after all other rules passed. May be async. A `reason` becomes
 * the failure message (and so the problem `detail`): it must be fixed text, never certificate
 * or request content; one that is not short printable ASCII is replaced by the default message.
 */
export type RulePredicate = (
  cert: ClientCertificate,
  context: RuleContext,
) => PredicateVerdict | PromiseLike<PredicateVerdict>;

const PREDICATE_ERROR_MESSAGE = 'The client certificate could not be checked by an application rule.';
const MAX_REASON = 200;

/** A reason is used as the problem detail only when it looks like fixed text: short printable ASCII. */
function isSafeReason(reason: unknown): reason is string {
  return typeof reason === 'string' && reason.length > 0 && reason.length <= MAX_REASON && isPrintableAscii(reason);
}

function predicateFailure(message: string, cause: unknown): Failure {
  return { ok: false, failed: 'predicate', message, cause };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Only an explicit yes passes: a predicate that forgets to return must not let everyone in. */
function verdictResult(verdict: unknown, matched: RuleResult): RuleResult {
  if (verdict === true) return matched;
  if (verdict === false) return FAILURES.predicate;
  if (isPlainObject(verdict) && verdict.ok === true) return matched;
  if (isPlainObject(verdict) && verdict.ok === false) {
    return verdict.reason === undefined
      ? FAILURES.predicate
      : {
          ok: false,
          failed: 'predicate',
          message: isSafeReason(verdict.reason) ? verdict.reason : FAILURES.predicate.message,
        };
  }
  return predicateFailure(
    FAILURES.predicate.message,
    new TypeError('clientcert: rules.predicate must return true, false, { ok: true } or { ok: false, reason }'),
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Synchronous unless the predicate returned a thenable; a throw or rejection is a failure with `cause`. */
export function runPredicate(
  predicate: RulePredicate,
  cert: ClientCertificate,
  context: RuleContext,
  matched: RuleResult,
): RuleResult | Promise<RuleResult> {
  let verdict: unknown;
  try {
    verdict = predicate(cert, context);
  } catch (error) {
    return predicateFailure(PREDICATE_ERROR_MESSAGE, error);
  }
  if (!isThenable(verdict)) return verdictResult(verdict, matched);
  return Promise.resolve(verdict).then(
    (value) => verdictResult(value, matched),
    (error: unknown) => predicateFailure(PREDICATE_ERROR_MESSAGE, error),
  );
}
