/**
 * What a rule check returns: the result type of `evaluateRules`, its stable failure labels, and
 * the fixed failures every check shares. Results are frozen constants, so the synchronous path
 * allocates nothing.
 */

/** Which check failed: stable labels for logs, hooks and metrics. */
export type RuleFailureLabel =
  | 'subject'
  | 'issuer'
  | 'san.dns'
  | 'san.uri'
  | 'san.email'
  | 'san.ip'
  | 'spiffe'
  | 'identities'
  | 'predicate';

export type RuleResult =
  | {
      readonly ok: true;
      /** The matching identity's name; null when no identities are configured. */
      readonly matched: string | null;
    }
  | {
      readonly ok: false;
      readonly failed: RuleFailureLabel;
      /** Fixed text, safe for a problem `detail`. */
      readonly message: string;
      /** What a predicate threw or rejected with, or why its return value was refused; for logs only. */
      readonly cause?: unknown;
    };

export type Failure = Extract<RuleResult, { ok: false }>;

export function failure(failed: RuleFailureLabel, message: string): Failure {
  return Object.freeze({ ok: false, failed, message });
}

export const FAILURES = {
  subject: failure('subject', 'The client certificate subject is not allowed.'),
  issuer: failure('issuer', 'The client certificate issuer is not allowed.'),
  'san.dns': failure('san.dns', 'The client certificate has no allowed DNS name.'),
  'san.uri': failure('san.uri', 'The client certificate has no allowed URI.'),
  'san.email': failure('san.email', 'The client certificate has no allowed email address.'),
  'san.ip': failure('san.ip', 'The client certificate has no allowed IP address.'),
  identities: failure('identities', 'The client certificate matches none of the allowed identities.'),
  predicate: failure('predicate', 'The client certificate was rejected by an application rule.'),
} as const;

export const MATCHED_NOTHING: RuleResult = Object.freeze({ ok: true, matched: null });
