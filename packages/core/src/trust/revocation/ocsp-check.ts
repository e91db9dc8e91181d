/**
 * The OCSP half of a check: answers cached per (issuer key, serial), one query in flight per
 * (issuer key, serial), and a back-off per responder URL.
 *
 * A responder that cannot be reached (no connection, reset, no answer within the deadline) is
 * left alone for `retryAfterMs`: every certificate it serves is then unknown at once, without a
 * socket or a wait of its own. After the back-off, one query goes out as a probe while the
 * others that need that responder wait for it (within their own check's deadline): an outage
 * then costs one connection per `retryAfterMs`, not one per certificate. A responder that
 * answers (even with an error) is reachable again, and queries to it are not bounded: its
 * answers are cached, so the queries follow the rate of new certificates, and a bound would make
 * a burst of them queue behind a healthy responder until their checks give up.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { exchange, FetchError, type FetchFailure } from './fetch.js';
import type { Reason } from './messages.js';
import {
  buildOcspRequest,
  CLOCK_LEEWAY_MS,
  MAX_OCSP_RESPONSE_BYTES,
  OcspError,
  type OcspQuery,
  parseOcspResponse,
} from './ocsp.js';
import type { CompiledOcsp } from './options.js';
import { type Answer, PENDING, type Round, unknown, waitFor, wallTime } from './round.js';

/** Bound of each map below: the oldest insertion goes first. */
const MAX_ENTRIES = 10_000;

/** What a failed OCSP exchange says about the status. */
const FETCH_REASON: Record<FetchFailure, Reason> = {
  unreachable: 'ocsp_unreachable',
  status: 'ocsp_error',
  too_large: 'ocsp_invalid',
};

interface CacheEntry {
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly thisUpdate: number;
  /** Check-clock time until which the answer is used. */
  readonly until: number;
}

interface Failure {
  readonly reason: Reason;
  /** performance.now() of the failure, and before which no new attempt starts. */
  readonly at: number;
  readonly retryAt: number;
}

/** A responder that could not be reached. */
interface Responder {
  /** performance.now() of the last failure to reach it, and before which it is not asked again. */
  failedAt: number;
  retryAt: number;
  /** The one query in flight since the back-off ended; the others wait for it. */
  probe: Promise<void> | null;
}

export type OcspSubject = Omit<OcspQuery, 'nonce' | 'now' | 'maxAgeMs'>;

export class OcspChecker {
  readonly #settings: CompiledOcsp;
  readonly #retryAfterMs: number;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #failures = new Map<string, Failure>();
  /** Responders that could not be reached, by URL; one that answers is removed. */
  readonly #down = new Map<string, Responder>();

  constructor(settings: CompiledOcsp, retryAfterMs: number) {
    this.#settings = settings;
    this.#retryAfterMs = retryAfterMs;
  }

  /** The OCSP answer for `subject`; PENDING when `round.pending` holds a query to wait for. */
  answer(subject: OcspSubject, round: Round): Answer {
    const url = this.#settings.responderUrl ?? subject.facts.ocspUrl;
    if (url === null) return unknown('no_responder');
    const t = round.t;
    const key = `${subject.issuerFacts.keyId}:${subject.facts.serial}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined && t < cached.until && cached.thisUpdate <= t + CLOCK_LEEWAY_MS) {
      if (cached.status === 'good') return { kind: 'good', until: cached.until };
      if (cached.status === 'revoked') return { kind: 'revoked', until: cached.until };
      return unknown('ocsp_unknown', cached.until);
    }
    // In flight past the deadline: unknown, and only until now, for the answer may come any moment.
    const inflight = this.#inflight.get(key);
    if (inflight !== undefined) return round.wait ? waitOn(round, inflight) : unknown('ocsp_unreachable', t, true);
    const clock = performance.now();
    const failure = this.#failures.get(key);
    if (failure !== undefined && (clock < failure.retryAt || failure.at >= round.since)) {
      return unknown(failure.reason, wallTime(round, failure.retryAt), true);
    }
    const down = this.#down.get(url);
    if (down !== undefined && (clock < down.retryAt || down.failedAt >= round.since)) {
      return unknown('ocsp_unreachable', wallTime(round, down.retryAt), true);
    }
    if (down !== undefined && down.probe !== null)
      return round.wait ? waitOn(round, down.probe) : unknown('ocsp_unreachable', t, true);
    if (!round.wait) return unknown('ocsp_unreachable', t, true);
    const promise = this.#query(key, url, subject, t).finally(() => {
      this.#inflight.delete(key);
      if (down !== undefined && down.probe === promise) down.probe = null;
    });
    this.#inflight.set(key, promise);
    if (down !== undefined) down.probe = promise;
    return waitOn(round, promise);
  }

  async #query(key: string, url: string, subject: OcspSubject, t: number): Promise<void> {
    const settings = this.#settings;
    const query: OcspQuery = {
      ...subject,
      nonce: settings.nonce ? randomBytes(16) : null,
      now: t,
      maxAgeMs: settings.maxCacheMs,
    };
    try {
      const body = await exchange(url, {
        method: 'POST',
        body: buildOcspRequest(query.facts, query.issuerFacts, query.nonce),
        contentType: 'application/ocsp-request',
        accept: 'application/ocsp-response',
        timeoutMs: settings.timeoutMs,
        maxBytes: MAX_OCSP_RESPONSE_BYTES,
      });
      this.#down.delete(url);
      const answer = parseOcspResponse(body, query);
      const until = Math.min(answer.nextUpdate ?? Infinity, t + settings.maxCacheMs);
      remember(this.#cache, key, { status: answer.status, thisUpdate: answer.thisUpdate, until });
      this.#failures.delete(key);
    } catch (error) {
      const at = performance.now();
      const retryAt = at + this.#retryAfterMs;
      const reachable = !(error instanceof FetchError && error.failure === 'unreachable');
      if (reachable) this.#down.delete(url);
      else this.#responderDown(url, at, retryAt);
      const reason =
        error instanceof FetchError
          ? FETCH_REASON[error.failure]
          : error instanceof OcspError
            ? error.reason
            : 'ocsp_invalid';
      remember(this.#failures, key, { reason, at, retryAt });
    }
  }

  #responderDown(url: string, at: number, retryAt: number): void {
    const down = this.#down.get(url);
    if (down === undefined) {
      remember(this.#down, url, { failedAt: at, retryAt, probe: null });
    } else {
      down.failedAt = at;
      down.retryAt = retryAt;
    }
  }
}

function waitOn(round: Round, promise: Promise<void>): Answer {
  waitFor(round, promise);
  return PENDING;
}

/** Map.set with a size bound: the oldest insertion goes first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
