/**
 * Revocation: is any certificate of a verified path revoked, according to configured CRLs and,
 * where enabled, the OCSP responders the certificates name?
 *
 * `compileRevocation(options)` validates the options once and returns a checker;
 * `checker.check(chain, now)` takes the *verified* path (leaf first, trust anchor last, as
 * `verifyChain` returns it) and answers `good`, `revoked` or `unknown`. `decideRevocation` turns
 * that answer into pass/fail under the policy (`off | soft | strict`) and says how long the
 * decision may be cached.
 *
 * What is checked
 * - Every certificate of the path except the trust anchor (`scope: 'chain'`, the default, as
 *   Envoy does when a CRL is configured), or only the leaf (`scope: 'leaf'`). Each certificate's
 *   status comes from its issuer, which is the next certificate of the verified path.
 * - CRLs first (local, cheap): a CRL is used for a certificate when its issuer name is
 *   byte-for-byte the certificate's issuer name, its signature verifies with the issuer's public
 *   key (a CRL signed by any other key is ignored), its issuingDistributionPoint scope covers the
 *   certificate, and now is within [thisUpdate - 5 min, nextUpdate]. Listed → revoked (an entry
 *   with reason removeFromCRL is not a revocation); not listed in a usable CRL → good. A CRL past
 *   its nextUpdate is stale: the status is unknown.
 * - A CRL so matched is still "no data" (status unknown: `strict` refuses, `soft` passes with a
 *   warning) — never evidence of good standing, nor of revocation — when RFC 5280 §5 and §6.3.3
 *   say not to use it: no cRLNumber, a critical or out-of-range cRLNumber, a critical CRL or
 *   entry extension this module does not process, an issuer certificate whose keyUsage lacks
 *   cRLSign, or a kind of CRL not supported (below). Such a CRL given inline or as a file is
 *   listed in `problems` for the start-up report rather than refused as an option: a CRL fetched
 *   or reloaded later can be just as wrong, and must behave the same.
 * - Then OCSP, when enabled and no CRL answered: a SHA-1 CertID request (RFC 6960 common
 *   practice) POSTed to the responder named in the certificate's authorityInfoAccess (or the
 *   configured `responderUrl`), answered by a BasicOCSPResponse signed by the issuer itself or by
 *   a delegated responder certificate that the issuer signed, that has the OCSPSigning EKU and
 *   that is valid now. Answers are cached per (issuer key, serial) until their nextUpdate, and
 *   never longer than `ocsp.maxCacheSeconds` (default one hour).
 *
 * Sources
 * - `crls` entries are file paths, http(s) URLs, inline PEM text, or Buffers (DER or PEM; a PEM
 *   may hold several CRLs). Files and Buffers are read and parsed at construction (a bad one is
 *   an `invalid_option` naming `revocation.crls[i]`); URLs are fetched on first use. Files and
 *   URLs are loaded again in the background when a CRL nears its nextUpdate (the last tenth of
 *   its period, at most an hour), and before answering once it has passed; a failed load keeps
 *   the CRL in hand. A newer load never replaces a CRL with an older one (thisUpdate and
 *   cRLNumber must not go back), which stops the replay of an old CRL over plain HTTP.
 * - Network: `node:http`/`node:https`, one connection per request, no redirects, a deadline of
 *   `timeoutMs` per exchange, bounded response sizes. Concurrent checks share one fetch per
 *   source and per OCSP query; after any attempt a CRL source is not fetched again for
 *   `retryAfterMs`, nor an OCSP query after a failure, and a responder that cannot be reached is
 *   not asked anything for `retryAfterMs`, then by one query at a time until it answers.
 * - One deadline per check: a check waits at most one deadline (`timeoutMs` for CRL loads,
 *   `ocsp.timeoutMs` for OCSP, the longer of those in use) from when it began, with OCSP asked
 *   beside a CRL that is still loading; past it the answer is unknown and transient, and the
 *   fetches in flight go on to fill the caches.
 * - An outage is cheap: a transient unknown is valid until its failing source may be tried again
 *   (`validUntil`), and `decideRevocation` lets the decision be cached until then, so requests
 *   during a back-off are answered from the cache, neither fetching nor deciding again.
 *
 * Synchronous when possible: `check` returns a plain result when everything it needs is in hand
 * (the steady state), and a Promise only when it must wait for a fetch. Policy `off` does no
 * work at all.
 *
 * Out of scope: delta CRLs and indirect CRLs (a CRL that is one is "no data", as RFC 5280 requires
 * for critical extensions one does not process), CRLs partitioned by reason (onlySomeReasons),
 * RSASSA-PSS signatures on CRLs and OCSP responses, fetching the CRL distribution points a
 * certificate names, checking the revocation of a delegated OCSP responder, and name comparison
 * beyond exact encoding for CRL issuers (CAs copy their subject's bytes into their CRLs).
 *
 * Messages are fixed texts with the certificate's depth, never certificate or CRL content.
 *
 * Layout: options.ts validates the options; checker.ts runs a check, in rounds (round.ts) under
 * one deadline, over crl-check.ts (CRL sources: answers and loads; crl.ts parses and matches
 * CRLs) and ocsp-check.ts (answers, queries and responder back-off; ocsp.ts builds requests and
 * reads responses), both fetching with fetch.ts; subject.ts reads what revocation needs from a
 * certificate; messages.ts holds the fixed texts.
 */
import type { X509Certificate } from 'node:crypto';
import { Checker } from './checker.js';
import { compileRevocationOptions } from './options.js';

export type RevocationPolicy = 'off' | 'soft' | 'strict';

/** Which certificates of the verified path are checked: all but the trust anchor, or the leaf. */
export type RevocationScope = 'chain' | 'leaf';

/** A file path, an http(s) URL, PEM text, or the CRL itself (DER or PEM bytes). */
export type CrlInput = string | Buffer;

export interface OcspOptions {
  /** Ask this responder for every certificate instead of the one its authorityInfoAccess names. */
  responderUrl?: string;
  /** Deadline of one OCSP exchange in ms (default: the top-level `timeoutMs`). */
  timeoutMs?: number;
  /** Send a nonce and require the response to echo it (default false: responses stay cacheable). */
  nonce?: boolean;
  /** Longest an OCSP answer is cached, in seconds, even when its nextUpdate is later (default 3600). */
  maxCacheSeconds?: number;
}

export interface RevocationOptions {
  /**
   * What an unknown status does: `strict` rejects, `soft` accepts, `off` checks nothing. Default:
   * `strict` when `crls` or `ocsp` is configured, else `off`.
   */
  policy?: RevocationPolicy;
  /** CRLs: file paths, http(s) URLs, PEM text, or Buffers (DER or PEM), one or a list. */
  crls?: CrlInput | readonly CrlInput[];
  /** Ask OCSP responders (from each certificate's authorityInfoAccess); default false. */
  ocsp?: boolean | OcspOptions;
  /** `chain` (default): every certificate except the trust anchor; `leaf`: the leaf only. */
  scope?: RevocationScope;
  /**
   * Deadline of one network exchange (CRL download or OCSP request) in ms; default 2000. In all,
   * a request waits for revocation data at most the longest deadline in use: this one for CRL
   * files and URLs, `ocsp.timeoutMs` for OCSP.
   */
  timeoutMs?: number;
  /**
   * After a fetch of a CRL, a failed OCSP query, or an OCSP responder that could not be reached,
   * wait this long before trying that one again; default 5000. An unknown status caused by the
   * failure is cached until then.
   */
  retryAfterMs?: number;
}

/**
 * The status of a verified path. `validUntil` (ms since the epoch; `Infinity` when no data
 * limits it) is when the revocation data behind the answer stops being valid: never cache a
 * decision beyond it. `depth` is the position in the path (0 = leaf).
 */
export type RevocationResult =
  | { readonly status: 'good'; readonly validUntil: number }
  | { readonly status: 'revoked'; readonly depth: number; readonly message: string; readonly validUntil: number }
  | {
      readonly status: 'unknown';
      readonly depth: number;
      /**
       * A network failure or data that may be refreshed soon: `validUntil` is then when the
       * failing source may be tried again (no later than the check's `now` while a fetch is
       * still in flight: it may end at any moment).
       */
      readonly transient: boolean;
      readonly message: string;
      readonly validUntil: number;
    };

export interface RevocationChecker {
  readonly policy: RevocationPolicy;
  /** One line for the start-up report, e.g. `strict; 1 CRL file, 1 CRL URL; OCSP; whole chain`. */
  readonly description: string;
  /**
   * One fixed line per CRL given inline or as a file that parses but must not be used (RFC 5280
   * §5), e.g. `revocation.crls[1] is not a valid CRL: it has no cRLNumber (RFC 5280 §5.2.3); the
   * certificates it covers have no revocation status`. Empty when all are usable. For the start-up
   * report: such a CRL is not an option error, because a CRL fetched or reloaded later can have
   * the same defect and is then "no data" too. An issuer whose keyUsage lacks cRLSign is only seen
   * when a certificate is checked.
   */
  readonly problems: readonly string[];
  /**
   * The status of `chain`, the verified path (leaf first, trust anchor last), at `now`. A plain
   * result when everything needed is in hand; a Promise (which never rejects) when something must
   * be fetched first.
   */
  check(chain: readonly X509Certificate[], now: Date): RevocationResult | Promise<RevocationResult>;
  /** `decideRevocation(result, this.policy)`. */
  decide(result: RevocationResult): RevocationDecision;
}

/**
 * What the pipeline does with a result. `cacheUntil` (ms since the epoch) bounds how long the
 * decision may be cached; 0, or a time already past, means "do not cache".
 */
export type RevocationDecision =
  | {
      readonly ok: true;
      readonly cacheUntil: number;
      /** Set when status was unknown under `soft`: log it. */
      readonly warning: string | null;
    }
  | {
      readonly ok: false;
      readonly code: 'client_certificate_revoked' | 'client_certificate_untrusted';
      readonly message: string;
      readonly cacheUntil: number;
    };

/**
 * The policy, in one place. `revoked` always fails with `client_certificate_revoked`. `unknown`
 * fails under `strict` with `client_certificate_untrusted` (the certificate is not known to be
 * revoked, so saying "revoked" would be wrong; it is not trusted because its status could not be
 * established) and passes otherwise, with a warning. Every answer may be cached until its
 * `validUntil`, a transient unknown too, refusal and pass alike: that is when its failing source
 * may be tried again, and during the back-off the answer could not change anyway.
 */
export function decideRevocation(result: RevocationResult, policy: RevocationPolicy): RevocationDecision {
  switch (result.status) {
    case 'good':
      return { ok: true, cacheUntil: result.validUntil, warning: null };
    case 'revoked':
      return { ok: false, code: 'client_certificate_revoked', message: result.message, cacheUntil: result.validUntil };
    default: {
      const cacheUntil = result.validUntil;
      if (policy === 'strict')
        return { ok: false, code: 'client_certificate_untrusted', message: result.message, cacheUntil };
      return { ok: true, cacheUntil, warning: result.message };
    }
  }
}

/**
 * Validates `options` once and returns the checker; every mistake is an `invalid_option` naming
 * the option's path under `optionPath` (`revocation` by default).
 */
export function compileRevocation(
  options: RevocationOptions | undefined,
  optionPath = 'revocation',
): RevocationChecker {
  return new Checker(compileRevocationOptions(options, optionPath), decideRevocation);
}
