/**
 * The checker: the status of a verified path from CRLs first (local, cheap), then OCSP. Each
 * certificate's status comes from its issuer, the next certificate of the path. Synchronous when
 * everything needed is in hand (the steady state); a Promise, which never rejects, only when a
 * CRL or OCSP answer must be fetched first. Concurrent checks share one fetch per source or per
 * (issuer key, serial); after any attempt nothing is tried again for `retryAfterMs`, so an outage
 * costs one timeout, not one per request.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { invalidOption } from '../../validate.js';
import type { CertificateRecord } from '../../x509/facts.js';
import { pathRecords } from '../../x509/path-view.js';
import {
  type CrlEntry,
  CrlError,
  type CrlSource,
  crlCovers,
  crlProblems,
  crlSignedBy,
  HOUR_MS,
  isRollback,
  type ParsedCrl,
  parseCrlBundle,
  refreshTime,
  sourceRefreshAt,
} from './crl.js';
import { exchange, FetchError, type FetchFailure } from './fetch.js';
import type { RevocationChecker, RevocationDecision, RevocationPolicy, RevocationResult } from './index.js';
import { type CrlDefect, type Reason, revokedMessage, unknownMessage } from './messages.js';
import {
  buildOcspRequest,
  CLOCK_LEEWAY_MS,
  MAX_OCSP_RESPONSE_BYTES,
  OcspError,
  type OcspQuery,
  parseOcspResponse,
} from './ocsp.js';
import { type CompiledOcsp, type CompiledRevocation, describeRevocation } from './options.js';
import { signatureValid } from './signatures.js';
import { type CertFacts, revocationFacts } from './subject.js';

const MAX_CRL_BYTES = 32 * 1024 * 1024;
const MAX_OCSP_CACHE_ENTRIES = 10_000;

const GOOD_FOREVER: RevocationResult = Object.freeze({ status: 'good', validUntil: Infinity });

/** What a failed OCSP exchange says about the status. */
const FETCH_REASON: Record<FetchFailure, Reason> = {
  unreachable: 'ocsp_unreachable',
  status: 'ocsp_error',
  too_large: 'ocsp_invalid',
};

/** The answer for one certificate. */
type Answer =
  | { readonly kind: 'good'; readonly until: number }
  | { readonly kind: 'revoked'; readonly until: number }
  | {
      readonly kind: 'unknown';
      readonly until: number;
      readonly transient: boolean;
      readonly reason: Reason;
      /** With reason `crl_invalid`: what is wrong with the CRL. */
      readonly defect?: CrlDefect;
    }
  | { readonly kind: 'pending' };

type Unknown = Extract<Answer, { kind: 'unknown' }>;

const PENDING: Answer = { kind: 'pending' };

function unknown(reason: Reason, until = Infinity, transient = false): Unknown {
  return { kind: 'unknown', until, transient, reason };
}

/** What one evaluation round may do. */
interface Round {
  /** May start CRL loads. */
  readonly crl: boolean;
  /** May start OCSP requests. */
  readonly ocsp: boolean;
  /** May wait for loads and requests in flight (false in the last round). */
  readonly wait: boolean;
  /** performance.now() when the check began: nothing that failed since is tried again. */
  readonly since: number;
  /** Promises to wait for, filled in by the round. */
  pending: Promise<void>[] | null;
}

function waitFor(round: Round, promise: Promise<void>): void {
  (round.pending ??= []).push(promise);
}

interface OcspCacheEntry {
  readonly status: 'good' | 'revoked' | 'unknown';
  readonly thisUpdate: number;
  /** Check-clock time until which the answer is used. */
  readonly until: number;
}

interface OcspFailure {
  readonly reason: Reason;
  /** performance.now() of the failure and before which no new attempt starts. */
  readonly at: number;
  readonly retryAt: number;
}

/** What the CRLs of all sources say about one certificate, gathered source by source. */
interface CrlFindings {
  good: boolean;
  until: number;
  pending: boolean;
  unavailable: boolean;
  stale: boolean;
  staleTransient: boolean;
  invalid: { defect: CrlDefect; until: number } | null;
}

export class Checker implements RevocationChecker {
  readonly policy: RevocationPolicy;
  readonly description: string;
  readonly problems: readonly string[];
  readonly #compiled: CompiledRevocation;
  readonly #decide: (result: RevocationResult, policy: RevocationPolicy) => RevocationDecision;
  readonly #ocspCache = new Map<string, OcspCacheEntry>();
  readonly #ocspInflight = new Map<string, Promise<void>>();
  readonly #ocspFailures = new Map<string, OcspFailure>();

  /** `decide` is the policy (`decideRevocation`), passed in so that this module does not import the entry point. */
  constructor(
    compiled: CompiledRevocation,
    decide: (result: RevocationResult, policy: RevocationPolicy) => RevocationDecision,
  ) {
    this.policy = compiled.policy;
    this.#compiled = compiled;
    this.#decide = decide;
    this.description = describeRevocation(compiled);
    this.problems = Object.freeze(compiled.policy === 'off' ? [] : crlProblems(compiled.crls));
  }

  decide(result: RevocationResult): RevocationDecision {
    return this.#decide(result, this.policy);
  }

  check(chain: readonly X509Certificate[], now: Date): RevocationResult | Promise<RevocationResult> {
    if (this.policy === 'off' || chain.length < 2) return GOOD_FOREVER;
    const t = now.getTime();
    if (Number.isNaN(t)) throw invalidOption('now', 'must be a valid Date (revocation check)');
    const round: Round = { crl: true, ocsp: true, wait: true, since: performance.now(), pending: null };
    // The pipeline passes a view of its records (x509/path-view.ts): no Node object is made.
    const path = pathRecords(chain);
    const first = this.#evaluate(path, t, round);
    if (first !== null) return first;
    return this.#finish(path, t, round);
  }

  /** Waits for the first round's fetches, then evaluates again: OCSP may still be needed, then nothing more. */
  async #finish(chain: readonly CertificateRecord[], t: number, first: Round): Promise<RevocationResult> {
    await Promise.all(first.pending!);
    const second: Round = { crl: false, ocsp: true, wait: true, since: first.since, pending: null };
    const result = this.#evaluate(chain, t, second);
    if (result !== null) return result;
    await Promise.all(second.pending!);
    return this.#evaluate(chain, t, { crl: false, ocsp: false, wait: false, since: first.since, pending: null })!;
  }

  /** The result, or null when `round.pending` must be awaited first. */
  #evaluate(chain: readonly CertificateRecord[], t: number, round: Round): RevocationResult | null {
    const last = this.#compiled.scope === 'leaf' ? 1 : chain.length - 1;
    let until = Infinity;
    let first: { depth: number; answer: Unknown } | null = null;
    let transient = false;
    for (let depth = 0; depth < last; depth++) {
      const answer = this.#answer(chain[depth]!, chain[depth + 1]!, t, round);
      if (answer.kind === 'pending') continue; // round.pending holds what to wait for
      if (answer.kind === 'revoked') {
        return { status: 'revoked', depth, message: revokedMessage(depth), validUntil: answer.until };
      }
      until = Math.min(until, answer.until);
      if (answer.kind === 'unknown') {
        first ??= { depth, answer };
        transient ||= answer.transient;
      }
    }
    if (round.pending !== null) return null;
    if (first === null) return { status: 'good', validUntil: until };
    const { depth, answer } = first;
    return {
      status: 'unknown',
      depth,
      transient,
      message: unknownMessage(depth, answer.reason, answer.defect ?? null),
      validUntil: transient ? t : until,
    };
  }

  #answer(cert: CertificateRecord, issuer: CertificateRecord, t: number, round: Round): Answer {
    const facts = revocationFacts(cert);
    const issuerFacts = revocationFacts(issuer);
    if (facts === null || issuerFacts === null) return unknown('unreadable');
    const crl = this.#compiled.crls.length > 0 ? this.#crlAnswer(facts, issuer, issuerFacts, t, round) : null;
    if (crl !== null && crl.kind !== 'unknown') return crl;
    if (this.#compiled.ocsp === null) return crl ?? unknown('no_source');
    const ocsp = this.#ocspAnswer({ cert, facts, issuer, issuerFacts }, t, round);
    if (ocsp.kind !== 'unknown' || crl === null) return ocsp;
    // Both unknown: the OCSP reason unless there was no responder to ask.
    const transient = ocsp.transient || crl.transient;
    const until = Math.min(ocsp.until, crl.until);
    if (ocsp.reason !== 'no_responder') return unknown(ocsp.reason, until, transient);
    if (crl.reason === 'no_crl') return unknown('no_source', until, transient);
    return { ...crl, transient, until };
  }

  // -- CRLs -----------------------------------------------------------------------------------

  #crlAnswer(facts: CertFacts, issuer: CertificateRecord, issuerFacts: CertFacts, t: number, round: Round): Answer {
    const findings: CrlFindings = {
      good: false,
      until: Infinity,
      pending: false,
      unavailable: false,
      stale: false,
      staleTransient: false,
      invalid: null,
    };
    for (const source of this.#compiled.crls) {
      if (source.kind !== 'static' && (source.entries === null || t >= source.refreshAt)) {
        this.#maybeLoad(source, t, round);
      }
      if (source.entries === null) {
        if (source.inflight !== null && round.wait) {
          findings.pending = true;
          waitFor(round, source.inflight);
        } else {
          findings.unavailable = true;
        }
        continue;
      }
      const revoked = this.#readSource(source, facts, issuer, issuerFacts, t, round, findings);
      if (revoked !== null) return revoked;
    }
    return crlVerdict(findings);
  }

  /** Adds what one source's CRLs say to `findings`; the answer when one of them lists the certificate. */
  #readSource(
    source: CrlSource,
    facts: CertFacts,
    issuer: CertificateRecord,
    issuerFacts: CertFacts,
    t: number,
    round: Round,
    findings: CrlFindings,
  ): Answer | null {
    for (const entry of source.entries!) {
      const crl = entry.crl;
      if (!crl.issuer.equals(facts.issuer) || !crlCovers(crl, facts) || !crlSignedBy(crl, issuer, issuerFacts)) {
        continue;
      }
      // Signed by the issuer, but not to be used: no data, neither good nor revoked (§6.3.3).
      const defect = crl.defect ?? (issuerFacts.crlSign ? null : 'issuer_not_crl_signer');
      if (defect !== null) {
        // Until new data may come: the next load of a file or URL, never for a CRL given inline.
        findings.invalid ??= { defect, until: source.kind === 'static' ? Infinity : refreshTime(entry) };
        continue;
      }
      if (crl.thisUpdate > t + CLOCK_LEEWAY_MS) continue; // not valid yet: as if absent
      if (crl.nextUpdate !== null && t > crl.nextUpdate) {
        if (source.inflight !== null && round.wait) {
          findings.pending = true;
          waitFor(round, source.inflight);
        } else {
          findings.stale = true;
          findings.staleTransient ||= source.kind !== 'static';
        }
        continue;
      }
      if (crl.revoked.has(facts.serial)) return { kind: 'revoked', until: crl.nextUpdate ?? t + HOUR_MS };
      findings.good = true;
      findings.until = Math.min(findings.until, crl.nextUpdate ?? t + HOUR_MS);
    }
    return null;
  }

  /** Starts loading a file or URL source when allowed (not in flight, not backing off, not failed in this check). */
  #maybeLoad(source: CrlSource, t: number, round: Round): void {
    if (!round.crl || source.inflight !== null) return;
    const clock = performance.now();
    if (clock < source.retryAt || source.failedAt >= round.since) return;
    source.inflight = this.#load(source, t).finally(() => {
      source.inflight = null;
    });
  }

  async #load(source: CrlSource, t: number): Promise<void> {
    const { timeoutMs, retryAfterMs } = this.#compiled;
    try {
      const data =
        source.kind === 'file'
          ? await readFile(source.location)
          : await exchange(source.location, {
              method: 'GET',
              accept: 'application/pkix-crl, application/x-pem-file, */*',
              timeoutMs,
              maxBytes: MAX_CRL_BYTES,
            });
      if (data.length > MAX_CRL_BYTES) throw new CrlError('is too large');
      install(source, parseCrlBundle(data), t);
      source.retryAt = performance.now() + retryAfterMs;
    } catch {
      source.failedAt = performance.now();
      source.retryAt = source.failedAt + retryAfterMs;
    }
  }

  // -- OCSP -----------------------------------------------------------------------------------

  #ocspAnswer(subject: Omit<OcspQuery, 'nonce' | 'now' | 'maxAgeMs'>, t: number, round: Round): Answer {
    const settings = this.#compiled.ocsp!;
    const url = settings.responderUrl ?? subject.facts.ocspUrl;
    if (url === null) return unknown('no_responder');
    const key = `${subject.issuerFacts.keyId}:${subject.facts.serial}`;
    const cached = this.#ocspCache.get(key);
    if (cached !== undefined && t < cached.until && cached.thisUpdate <= t + CLOCK_LEEWAY_MS) {
      if (cached.status === 'good') return { kind: 'good', until: cached.until };
      if (cached.status === 'revoked') return { kind: 'revoked', until: cached.until };
      return unknown('ocsp_unknown', cached.until);
    }
    const inflight = this.#ocspInflight.get(key);
    if (inflight !== undefined && round.wait) {
      waitFor(round, inflight);
      return PENDING;
    }
    const failure = this.#ocspFailures.get(key);
    const mayStart =
      round.ocsp &&
      inflight === undefined &&
      (failure === undefined || (performance.now() >= failure.retryAt && failure.at < round.since));
    if (!mayStart) return unknown(failure?.reason ?? 'ocsp_unreachable', t, true);
    const query: OcspQuery = {
      ...subject,
      nonce: settings.nonce ? randomBytes(16) : null,
      now: t,
      maxAgeMs: settings.maxCacheMs,
    };
    const promise = this.#fetchOcsp(key, url, query, settings).finally(() => {
      this.#ocspInflight.delete(key);
    });
    this.#ocspInflight.set(key, promise);
    waitFor(round, promise);
    return PENDING;
  }

  async #fetchOcsp(key: string, url: string, query: OcspQuery, settings: CompiledOcsp): Promise<void> {
    try {
      const body = await exchange(url, {
        method: 'POST',
        body: buildOcspRequest(query.facts, query.issuerFacts, query.nonce),
        contentType: 'application/ocsp-request',
        accept: 'application/ocsp-response',
        timeoutMs: settings.timeoutMs,
        maxBytes: MAX_OCSP_RESPONSE_BYTES,
      });
      const answer = parseOcspResponse(body, query);
      const until = Math.min(answer.nextUpdate ?? Infinity, query.now + settings.maxCacheMs);
      remember(this.#ocspCache, key, { status: answer.status, thisUpdate: answer.thisUpdate, until });
      this.#ocspFailures.delete(key);
    } catch (error) {
      const at = performance.now();
      const reason =
        error instanceof FetchError
          ? FETCH_REASON[error.failure]
          : error instanceof OcspError
            ? error.reason
            : 'ocsp_invalid';
      remember(this.#ocspFailures, key, { reason, at, retryAt: at + this.#compiled.retryAfterMs });
    }
  }
}

/** The CRL answer from what all sources said: good wins, then waiting, then the most telling unknown. */
function crlVerdict(findings: CrlFindings): Answer {
  const { unavailable } = findings;
  if (findings.good) return { kind: 'good', until: findings.until };
  if (findings.pending) return PENDING;
  if (findings.stale) return unknown('crl_stale', Infinity, findings.staleTransient || unavailable);
  if (findings.invalid !== null) {
    const { defect, until } = findings.invalid;
    return { kind: 'unknown', until, transient: unavailable, reason: 'crl_invalid', defect };
  }
  return unknown(unavailable ? 'crl_unavailable' : 'no_crl', Infinity, unavailable);
}

/** Replaces a source's CRLs, except where a replacement would go back in time or change signer while the old one is valid. */
function install(source: CrlSource, crls: ParsedCrl[], t: number): void {
  const previous = source.entries ?? [];
  const entries: CrlEntry[] = [];
  for (const crl of crls) {
    const old = previous.find((entry) => entry.crl.issuer.equals(crl.issuer));
    if (old !== undefined) {
      const oldValid = old.crl.nextUpdate === null || t <= old.crl.nextUpdate;
      if (old.crl.der.equals(crl.der)) {
        entries.push({ crl: old.crl, loadedAt: t }); // unchanged: keep what is known about its signature
        continue;
      }
      if (
        isRollback(crl, old.crl) ||
        (oldValid &&
          old.crl.verifiedKey !== null &&
          !signatureValid(crl.algorithm, old.crl.verifiedKey, crl.tbs, crl.signature))
      ) {
        entries.push(old);
        continue;
      }
    }
    entries.push({ crl, loadedAt: t });
  }
  source.entries = entries;
  source.refreshAt = sourceRefreshAt(source);
}

/** Map.set with a size bound: the oldest insertion goes first. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  if (map.size >= MAX_OCSP_CACHE_ENTRIES) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}
