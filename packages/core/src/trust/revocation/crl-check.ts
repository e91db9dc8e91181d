/**
 * The CRL half of a check: what the configured sources say about one certificate, and the loads
 * of file and URL sources (one at a time per source, at most one per check, none for
 * `retryAfterMs` after the last). The state of each source lives on its `CrlSource`.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { CertificateRecord } from '../../x509/facts.js';
import {
  type CrlEntry,
  CrlError,
  type CrlSource,
  crlCovers,
  crlSignedBy,
  HOUR_MS,
  isRollback,
  type ParsedCrl,
  parseCrlBundle,
  refreshTime,
  sourceRefreshAt,
} from './crl.js';
import { exchange } from './fetch.js';
import type { CrlDefect } from './messages.js';
import { CLOCK_LEEWAY_MS } from './ocsp.js';
import type { CompiledRevocation } from './options.js';
import { type Answer, PENDING, type Round, unknown, waitFor, wallTime } from './round.js';
import { signatureValid } from './signatures.js';
import type { CertFacts } from './subject.js';

const MAX_CRL_BYTES = 32 * 1024 * 1024;

/** What the CRLs of all sources say about one certificate, gathered source by source. */
interface CrlFindings {
  good: boolean;
  until: number;
  pending: boolean;
  unavailable: boolean;
  stale: boolean;
  staleTransient: boolean;
  /** For a transient answer: the earliest time a source that failed it may be tried again. */
  retryUntil: number;
  invalid: { defect: CrlDefect; until: number } | null;
}

/** The CRL answer for `facts`, issued by `issuer`; PENDING when `round.pending` holds a load to wait for. */
export function crlAnswer(
  compiled: CompiledRevocation,
  facts: CertFacts,
  issuer: CertificateRecord,
  issuerFacts: CertFacts,
  round: Round,
): Answer {
  const findings: CrlFindings = {
    good: false,
    until: Infinity,
    pending: false,
    unavailable: false,
    stale: false,
    staleTransient: false,
    retryUntil: Infinity,
    invalid: null,
  };
  for (const source of compiled.crls) {
    if (source.kind !== 'static' && (source.entries === null || round.t >= source.refreshAt)) {
      maybeLoad(compiled, source, round);
    }
    if (source.entries === null) {
      if (!waitedFor(source, round, findings)) findings.unavailable = true;
      continue;
    }
    const revoked = readSource(source, facts, issuer, issuerFacts, round, findings);
    if (revoked !== null) return revoked;
  }
  return crlVerdict(findings);
}

/**
 * Waits for the source's load when one is in flight and the check may still wait; otherwise
 * notes when the source may answer differently: at once while a load is in flight (it may end
 * at any moment), else when it may be loaded again.
 */
function waitedFor(source: CrlSource, round: Round, findings: CrlFindings): boolean {
  if (source.inflight !== null && round.wait) {
    findings.pending = true;
    waitFor(round, source.inflight);
    return true;
  }
  const retry = source.inflight !== null ? round.t : wallTime(round, source.retryAt);
  findings.retryUntil = Math.min(findings.retryUntil, retry);
  return false;
}

/** Adds what one source's CRLs say to `findings`; the answer when one of them lists the certificate. */
function readSource(
  source: CrlSource,
  facts: CertFacts,
  issuer: CertificateRecord,
  issuerFacts: CertFacts,
  round: Round,
  findings: CrlFindings,
): Answer | null {
  const t = round.t;
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
      // Out of date: a CRL given inline stays so; a file or URL may bring a newer one.
      if (source.kind === 'static') findings.stale = true;
      else if (!waitedFor(source, round, findings)) findings.stale = findings.staleTransient = true;
      continue;
    }
    if (crl.revoked.has(facts.serial)) return { kind: 'revoked', until: crl.nextUpdate ?? t + HOUR_MS };
    findings.good = true;
    findings.until = Math.min(findings.until, crl.nextUpdate ?? t + HOUR_MS);
  }
  return null;
}

/** The CRL answer from what all sources said: good wins, then waiting, then the most telling unknown. */
function crlVerdict(findings: CrlFindings): Answer {
  const { unavailable, retryUntil } = findings;
  if (findings.good) return { kind: 'good', until: findings.until };
  if (findings.pending) return PENDING;
  if (findings.stale) {
    const transient = findings.staleTransient || unavailable;
    return unknown('crl_stale', transient ? retryUntil : Infinity, transient);
  }
  if (findings.invalid !== null) {
    const { defect, until } = findings.invalid;
    return {
      kind: 'unknown',
      until: Math.min(until, retryUntil),
      transient: unavailable,
      reason: 'crl_invalid',
      defect,
    };
  }
  return unknown(unavailable ? 'crl_unavailable' : 'no_crl', retryUntil, unavailable);
}

/**
 * Starts loading a file or URL source when allowed: the check may still wait, no load is in
 * flight, the last one is `retryAfterMs` ago and did not end during this check (a CRL still out
 * of date after a load is not fetched again and again within one check).
 */
function maybeLoad(compiled: CompiledRevocation, source: CrlSource, round: Round): void {
  if (!round.wait || source.inflight !== null) return;
  if (performance.now() < source.retryAt || source.settledAt >= round.since) return;
  source.inflight = load(compiled, source, round.t).finally(() => {
    source.inflight = null;
  });
}

async function load(compiled: CompiledRevocation, source: CrlSource, t: number): Promise<void> {
  try {
    const data =
      source.kind === 'file'
        ? await readFile(source.location)
        : await exchange(source.location, {
            method: 'GET',
            accept: 'application/pkix-crl, application/x-pem-file, */*',
            timeoutMs: compiled.timeoutMs,
            maxBytes: MAX_CRL_BYTES,
          });
    if (data.length > MAX_CRL_BYTES) throw new CrlError('is too large');
    install(source, parseCrlBundle(data), t);
  } catch {
    // The CRLs in hand stay: a failed load changes nothing but when to try again.
  } finally {
    source.settledAt = performance.now();
    source.retryAt = source.settledAt + compiled.retryAfterMs;
  }
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
