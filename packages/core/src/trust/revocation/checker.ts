/**
 * The checker: the status of a verified path from CRLs first (local, cheap), then OCSP. Each
 * certificate's status comes from its issuer, the next certificate of the path. Synchronous when
 * everything needed is in hand (the steady state); a Promise, which never rejects, only when a
 * CRL or OCSP answer must be fetched first.
 *
 * A check waits at most one deadline (`timeoutMs` for CRL loads, `ocsp.timeoutMs` for OCSP: the
 * longer of those in use) from when it began, whatever it waits for: when the deadline passes it
 * answers from what is known (unknown, transient), and the fetches still in flight go on in the
 * background and fill the caches for later checks. Concurrent checks share one fetch per source or per (issuer key, serial); a
 * source that failed is not tried again for `retryAfterMs` (crl-check.ts, ocsp-check.ts), and a
 * transient unknown holds until then, so that an outage costs one deadline, not one per request.
 */
import type { X509Certificate } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { invalidOption } from '../../validate.js';
import type { CertificateRecord } from '../../x509/facts.js';
import { pathRecords } from '../../x509/path-view.js';
import { crlProblems } from './crl.js';
import { crlAnswer } from './crl-check.js';
import type { RevocationChecker, RevocationDecision, RevocationPolicy, RevocationResult } from './index.js';
import { revokedMessage, unknownMessage } from './messages.js';
import { OcspChecker } from './ocsp-check.js';
import { type CompiledRevocation, describeRevocation } from './options.js';
import { type Answer, PENDING, type Round, type Unknown, unknown } from './round.js';
import { revocationFacts } from './subject.js';

const GOOD_FOREVER: RevocationResult = Object.freeze({ status: 'good', validUntil: Infinity });

export class Checker implements RevocationChecker {
  readonly policy: RevocationPolicy;
  readonly description: string;
  readonly problems: readonly string[];
  readonly #compiled: CompiledRevocation;
  readonly #decide: (result: RevocationResult, policy: RevocationPolicy) => RevocationDecision;
  readonly #ocsp: OcspChecker | null;
  /** The longest a check waits: the longest deadline of an exchange it may wait for. */
  readonly #waitMs: number;

  /** `decide` is the policy (`decideRevocation`), passed in so that this module does not import the entry point. */
  constructor(
    compiled: CompiledRevocation,
    decide: (result: RevocationResult, policy: RevocationPolicy) => RevocationDecision,
  ) {
    this.policy = compiled.policy;
    this.#compiled = compiled;
    this.#decide = decide;
    this.#ocsp = compiled.ocsp === null ? null : new OcspChecker(compiled.ocsp, compiled.retryAfterMs);
    // CRL loads wait up to `timeoutMs`, OCSP queries up to theirs (with inline CRLs only, nothing waits).
    const loads = compiled.crls.some((source) => source.kind !== 'static');
    this.#waitMs = Math.max(loads ? compiled.timeoutMs : 0, compiled.ocsp?.timeoutMs ?? 0) || compiled.timeoutMs;
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
    const round: Round = { t, since: performance.now(), wait: true, pending: null };
    // The pipeline passes a view of its records (x509/path-view.ts): no Node object is made.
    const path = pathRecords(chain);
    const first = this.#evaluate(path, round);
    if (first !== null) return first;
    return this.#finish(path, round);
  }

  /**
   * Evaluates again each time something the last round waited for ends (a CRL that came may
   * still leave OCSP to ask), until there is an answer or the deadline has passed; the last
   * round neither starts nor waits for anything, so it always answers.
   */
  async #finish(chain: readonly CertificateRecord[], round: Round): Promise<RevocationResult> {
    let expired = false;
    let wake: () => void = () => {};
    const remaining = this.#waitMs - (performance.now() - round.since);
    const expire = (): void => {
      expired = true;
      wake();
    };
    // One turn of the event loop late, as fetch.ts does: when the process was busy past the
    // deadline, an answer that arrived in time is read first (timers run before I/O in each turn).
    const timer = setTimeout(() => setImmediate(expire), Math.max(0, remaining));
    try {
      for (;;) {
        const pending = round.pending!;
        round.pending = null;
        await new Promise<void>((resolve) => {
          wake = resolve;
          for (const promise of pending) promise.then(resolve, resolve);
        });
        round.wait = !expired;
        const result = this.#evaluate(chain, round);
        if (result !== null) return result;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** The result, or null when `round.pending` must be awaited first. */
  #evaluate(chain: readonly CertificateRecord[], round: Round): RevocationResult | null {
    const last = this.#compiled.scope === 'leaf' ? 1 : chain.length - 1;
    let until = Infinity;
    let first: { depth: number; answer: Unknown } | null = null;
    let transient = false;
    let pending = false;
    for (let depth = 0; depth < last; depth++) {
      const answer = this.#answer(chain[depth]!, chain[depth + 1]!, round);
      if (answer.kind === 'pending') {
        pending = true; // round.pending holds what to wait for
        continue;
      }
      if (answer.kind === 'revoked') {
        return { status: 'revoked', depth, message: revokedMessage(depth), validUntil: answer.until };
      }
      until = Math.min(until, answer.until);
      if (answer.kind === 'unknown') {
        first ??= { depth, answer };
        transient ||= answer.transient;
      }
    }
    if (pending) return null;
    if (first === null) return { status: 'good', validUntil: until };
    const { depth, answer } = first;
    return {
      status: 'unknown',
      depth,
      transient,
      message: unknownMessage(depth, answer.reason, answer.defect ?? null),
      // A transient unknown's until is when its source may be tried again: the answer holds till then.
      validUntil: until,
    };
  }

  /**
   * CRLs first; OCSP when no CRL answered, and also beside a CRL that is still loading. Asking
   * OCSP only once that load has failed would leave it no time within the one deadline in the
   * very case it is there for: while a CRL URL hangs, every check would wait for the load and
   * then refuse (strict), once per `retryAfterMs`, however healthy the responder. What it costs:
   * one query per certificate checked while no usable CRL is in hand (the first load, or one past
   * its nextUpdate; refreshes before that run in the background), each cached. The first source
   * to answer good or revoked decides; unknowns wait for the other. A good from OCSP while the CRL
   * has not spoken holds only until it may: until now while the load is in flight, until the CRL
   * may be fetched again after a failure. Otherwise a certificate the CRL lists would stay admitted
   * for as long as the OCSP answer lasts (days), from a decision cached that long.
   */
  #answer(cert: CertificateRecord, issuer: CertificateRecord, round: Round): Answer {
    const facts = revocationFacts(cert);
    const issuerFacts = revocationFacts(issuer);
    if (facts === null || issuerFacts === null) return unknown('unreadable');
    const crl = this.#compiled.crls.length > 0 ? crlAnswer(this.#compiled, facts, issuer, issuerFacts, round) : null;
    if (crl !== null && (crl.kind === 'good' || crl.kind === 'revoked')) return crl;
    if (this.#ocsp === null) return crl ?? unknown('no_source');
    const ocsp = this.#ocsp.answer({ cert, facts, issuer, issuerFacts }, round);
    if (ocsp.kind === 'good' && crl !== null) {
      return { kind: 'good', until: Math.min(ocsp.until, crl.kind === 'pending' ? round.t : crl.until) };
    }
    if (ocsp.kind === 'good' || ocsp.kind === 'revoked' || crl === null) return ocsp;
    if (crl.kind === 'pending' || ocsp.kind === 'pending') return PENDING;
    // Both unknown: the OCSP reason unless there was no responder to ask.
    const transient = ocsp.transient || crl.transient;
    const until = Math.min(ocsp.until, crl.until);
    if (ocsp.reason !== 'no_responder') return unknown(ocsp.reason, until, transient);
    if (crl.reason === 'no_crl') return unknown('no_source', until, transient);
    return { ...crl, transient, until };
  }
}
