/**
 * Step 5: the decision. A `Decision` is what a presented certificate came to (admitted, refused,
 * or nothing to decide) together with the clock window in which it holds; `settle` turns the one
 * that decides a request into the `AuthResult` the adapters answer with. Everything here is a
 * plain function of its arguments: the caches and the observation live in the pipeline.
 */
import type { X509Certificate } from 'node:crypto';
import { ClientCertError, isClientCertError, type RejectionCode } from '../errors.js';
import type { ClientCertificate } from '../model.js';
import type { VerifyFailureCode } from '../trust/path/verify.js';
import type { TrustRefusal } from '../trust/strategy.js';
import { type ProblemDetails, toProblem } from './problem.js';

/** A rejection: a `ClientCertError` whose code is a problem code. */
export type Rejection = ClientCertError & { code: RejectionCode };

/**
 * The app's user, for TypeScript: empty here, augment it by declaration merging and `principal`'s
 * result and the adapters' `req.user` (or its equivalent) are typed as it:
 *
 *     declare module '@clientcert/core' {
 *       interface ClientCertUser { id: string; roles: string[] }
 *     }
 */
// biome-ignore lint/suspicious/noEmptyInterface: apps describe their user by declaration merging
export interface ClientCertUser {}

/**
 * The answer to a request. `principal`: the app's user for the certificate, when the options map
 * one (`principal`); absent otherwise.
 */
export type AuthResult =
  | { readonly ok: true; readonly certificate: ClientCertificate | null; readonly principal?: ClientCertUser }
  | { readonly ok: false; readonly error: Rejection; readonly problem: ProblemDetails };

/** A decision about one presented certificate, cached per connection or per header value. */
export interface Decision {
  readonly certificate: ClientCertificate | null;
  readonly error: Rejection | null;
  /** Re-decide outside [checkFrom, checkUntil] (ms): validity windows move with the clock. */
  readonly checkFrom: number;
  readonly checkUntil: number;
  /** The verified path (leaf first), when rules with a predicate must still run for each request. */
  readonly pendingRules?: readonly X509Certificate[];
  /** SHA-256 (hex) of the presented leaf's DER, on a refusal of a presented certificate: for decision events. */
  readonly fingerprint?: string;
  /** The refused leaf's subject and issuer (RFC 4514), when it could be read: for the rejection log line. */
  readonly subject?: string;
  readonly issuer?: string;
}

/** A decision now, or once revocation data has been fetched (or an async predicate has run). */
export type Decided = Decision | Promise<Decision>;

/** A window every clock reading falls in: the decision holds until evicted. */
export const ALWAYS = { checkFrom: -Infinity, checkUntil: Infinity } as const;
/** A window no clock reading falls in: the decision is used once and never served from a cache. */
export const NEVER = { checkFrom: Infinity, checkUntil: -Infinity } as const;
/** How long a refusal that time can undo is kept. */
const VERIFY_FAILURE_TTL_MS = 60_000;

/** Nothing presented by this source (a TLS connection without a certificate, an element without `Cert`). */
export const NOTHING: Decision = Object.freeze({ certificate: null, error: null, ...ALWAYS });

export function reject(code: RejectionCode, message: string, check: string, reason?: string): Rejection {
  return new ClientCertError(code, message, reason === undefined ? { check } : { check, reason }) as Rejection;
}

/** A refusal that holds until the decision is evicted. */
export function refused(code: RejectionCode, message: string, check: string): Decision {
  return { certificate: null, error: reject(code, message, check), ...ALWAYS };
}

/**
 * A refusal that time can undo (a certificate not valid yet, an intermediate renewed in the
 * configured pool): kept for a minute at most, so a flood of the same chain stays cheap.
 */
export function refusedForNow(
  code: RejectionCode,
  message: string,
  check: string,
  now: Date,
  reason?: string,
): Decision {
  return {
    certificate: null,
    error: reject(code, message, check, reason),
    checkFrom: -Infinity,
    checkUntil: now.getTime() + VERIFY_FAILURE_TTL_MS,
  };
}

/**
 * Path-validation failures as problem codes: anything wrong with the chain is "untrusted"; a leaf
 * that chains fine but is not meant for client authentication (EKU, key usage) is "rejected".
 */
export const VERIFY_CODES: Record<VerifyFailureCode, RejectionCode> = {
  untrusted: 'client_certificate_untrusted',
  expired: 'client_certificate_expired',
  not_yet_valid: 'client_certificate_not_yet_valid',
  wrong_purpose: 'client_certificate_rejected',
  bad_key_usage: 'client_certificate_rejected',
  malformed: 'client_certificate_malformed',
  invalid_ca: 'client_certificate_untrusted',
  path_length_exceeded: 'client_certificate_untrusted',
  name_constraints: 'client_certificate_untrusted',
  invalid_policy: 'client_certificate_untrusted',
  unhandled_critical_extension: 'client_certificate_untrusted',
  weak_algorithm: 'client_certificate_untrusted',
};

/** A refusal of the trust step (other than the TLS stack's verdict) as a decision. */
export function trustRefused(refusal: Exclude<TrustRefusal, { readonly kind: 'tls' }>, at: Date): Decision {
  const code = VERIFY_CODES[refusal.code];
  return refusal.transient
    ? refusedForNow(code, refusal.message, refusal.check, at, refusal.reason)
    : refused(code, refusal.message, refusal.check);
}

const MALFORMED_CHECKS: Partial<Record<string, string>> = {
  xfcc_malformed: 'xfcc',
  certificate_malformed: 'certificate',
  forwarded_header_malformed: 'forwarded_header',
};

/** Any failure while reading a presented certificate becomes a rejection, never a crash. */
export function asRejection(error: unknown): Rejection {
  if (isClientCertError(error) && error.code.startsWith('client_certificate_')) return error as Rejection;
  if (isClientCertError(error) && MALFORMED_CHECKS[error.code] !== undefined) {
    return reject('client_certificate_malformed', error.message, error.check ?? MALFORMED_CHECKS[error.code]!);
  }
  return reject('client_certificate_malformed', 'The client certificate could not be read.', 'certificate');
}

/** How a rejection is answered: fixed at start-up. */
export interface Answering {
  readonly mode: 'require' | 'accept' | 'ignore';
  readonly rejectStatus: number;
  readonly problemTypeBase: string;
}

/** The answer to a request: its deciding source's decision, or none (`undefined`: nothing was presented). */
export function settle(
  answering: Answering,
  decision: Pick<Decision, 'certificate' | 'error'> | undefined,
): AuthResult {
  if (decision?.error) return fail(answering, decision.error);
  if (decision?.certificate) return { ok: true, certificate: decision.certificate };
  return nothingPresented(answering);
}

function nothingPresented(answering: Answering): AuthResult {
  if (answering.mode === 'accept') return { ok: true, certificate: null };
  return fail(answering, reject('client_certificate_required', 'A client certificate is required.', 'presence'));
}

export function fail(answering: Answering, error: Rejection): AuthResult {
  return { ok: false, error, problem: toProblem(error, answering.rejectStatus, answering.problemTypeBase) };
}

/**
 * Every adapter's `clientCertOf`: the certificate a route behind `mode: 'require'` was admitted
 * with, typed non-null, or a TypeError naming the mistake (a route where a request may have none)
 * and where that adapter keeps the certificate instead (`readInstead`, e.g. `req.clientCert`).
 * `routeOptOut`: whether the adapter lets a route turn client certificates off.
 */
export function admittedCertificate(
  certificate: ClientCertificate | null | undefined,
  readInstead: string,
  routeOptOut: boolean,
): ClientCertificate {
  if (certificate != null) return certificate;
  const may = routeOptOut ? "mode 'accept', a route with clientCert: false" : "mode 'accept'";
  throw new TypeError(
    `clientcert: this request has no client certificate: clientCertOf() is for routes behind clientCert({ mode: 'require' }); where a request may have none (${may}), read ${readInstead} instead (null when none was presented)`,
  );
}
