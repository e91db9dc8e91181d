/**
 * One request through the stages: the configured sources in order (step 1, each evaluated through
 * steps 2-4 by `decidePresented`), then per-request rules, then the answer (step 5). The first
 * source that presents a certificate, or fails, decides. Observation wraps the run when someone
 * listens; its trace is passed along explicitly, never kept between calls.
 */
import type { Socket } from 'node:net';
import { evaluateRules, type RuleResult } from '../authorize/rules.js';
import { type AuthResult, type Decided, type Decision, NEVER, settle } from '../decide/decide.js';
import type { ClientCertificate } from '../model.js';
import type { CompiledSource } from '../options/compile.js';
import { headless, peerAddress, type RequestLike, resolveSource } from '../sources/read.js';
import { connectionOf } from '../sources/tls.js';
import { type Pipeline, peerIsTrusted } from './cache.js';
import { ruled } from './evaluate.js';
import { fromHeaderSource, fromXfcc } from './forwarded.js';
import { decisionChannel, newTrace, report, type Trace } from './observe.js';
import { type Telemetry, telemetryFor } from './telemetry.js';
import { fromTls } from './tls.js';

export function authenticate(pipeline: Pipeline, request: RequestLike): AuthResult | Promise<AuthResult> {
  return authenticateThen(pipeline, request, null);
}

/** What the answer goes through before anyone observing is told of it: the principal's mapping (principal.ts). */
export type Finish = (result: AuthResult) => AuthResult | Promise<AuthResult>;

/**
 * The same, the answer passed through `finish` first: `onDecision`, the decision channel and
 * OpenTelemetry then see what the caller gets (a certificate mapped to no user is a refusal).
 */
export function authenticateThen(
  pipeline: Pipeline,
  request: RequestLike,
  finish: Finish | null,
): AuthResult | Promise<AuthResult> {
  if (pipeline.options.mode === 'ignore') return { ok: true, certificate: null };
  // Not a request (no headers): answered as one that sent nothing, never a TypeError.
  if (request?.headers == null) request = headless(request);
  // HTTP/1.1 (no stream) is told apart here: calling connectionOf cost the cached TLS path ~15 ns of ~75.
  const stream = request.stream;
  const socket = stream === undefined || stream === null ? (request.socket ?? undefined) : connectionOf(request);
  // OpenTelemetry is asked here, while the request's span is the active one.
  const telemetry = pipeline.options.telemetry ? telemetryFor() : null;
  if (telemetry === null && !pipeline.alwaysObserved && !decisionChannel.hasSubscribers) {
    const result = fromSources(pipeline, request, socket, 0, null);
    return finish === null ? result : finished(result, finish);
  }
  return observed(pipeline, request, socket, telemetry, finish);
}

function finished(result: AuthResult | Promise<AuthResult>, finish: Finish): AuthResult | Promise<AuthResult> {
  return result instanceof Promise ? result.then(finish) : finish(result);
}

/** The same decision, traced and reported: only while a hook, a debug sink, a channel subscriber or OpenTelemetry listens. */
function observed(
  pipeline: Pipeline,
  request: RequestLike,
  socket: Socket | undefined,
  telemetry: Telemetry,
  finish: Finish | null,
): AuthResult | Promise<AuthResult> {
  const trace = newTrace(pipeline.options.debug !== null, telemetry);
  const decided = fromSources(pipeline, request, socket, 0, trace);
  const result = finish === null ? decided : finished(decided, finish);
  return result instanceof Promise
    ? result.then((settled) => report(pipeline, settled, trace))
    : report(pipeline, result, trace);
}

/**
 * Sources in order from `first`; the first that presents a certificate (or fails) decides. The
 * loop is written twice, untraced and traced, so that the untraced one (every request nobody
 * observes) stays small enough for the engine to inline the whole cached path into its caller.
 */
function fromSources(
  pipeline: Pipeline,
  request: RequestLike,
  socket: Socket | undefined,
  first: number,
  trace: Trace | null,
): AuthResult | Promise<AuthResult> {
  if (trace !== null) return fromSourcesTraced(pipeline, request, socket, first, trace);
  const sources = pipeline.options.sources;
  for (let i = first; i < sources.length; i++) {
    const decided = fromSource(pipeline, sources[i]!, request, socket, null);
    if (decided instanceof Promise) return afterPending(pipeline, decided, request, socket, i, null);
    if (decided && (decided.certificate || decided.error)) {
      if (decided.error) logRefusal(pipeline, decided, i, request, socket);
      return conclude(pipeline, decided, request, socket);
    }
  }
  return nothingPresented(pipeline, request, socket);
}

/** The same, recording in `trace` which source decided, whether from a cache, and (debug) each step. */
function fromSourcesTraced(
  pipeline: Pipeline,
  request: RequestLike,
  socket: Socket | undefined,
  first: number,
  trace: Trace,
): AuthResult | Promise<AuthResult> {
  const sources = pipeline.options.sources;
  for (let i = first; i < sources.length; i++) {
    trace.cached = true; // until a source decides now (decidedNow)
    const decided = fromSource(pipeline, sources[i]!, request, socket, trace);
    if (trace.steps) step(pipeline, trace, i, socket, decided);
    if (decided instanceof Promise) return afterPending(pipeline, decided, request, socket, i, trace);
    if (decided && (decided.certificate || decided.error)) {
      note(pipeline, trace, i, request, socket, decided);
      if (decided.error) logRefusal(pipeline, decided, i, request, socket);
      return conclude(pipeline, decided, request, socket);
    }
  }
  return nothingPresented(pipeline, request, socket);
}

function fromSource(
  pipeline: Pipeline,
  source: CompiledSource,
  request: RequestLike,
  socket: Socket | undefined,
  trace: Trace | null,
): Decided | undefined {
  const resolved = resolveSource(source, socket, pipeline.options.forwarded);
  if (resolved === 'tls') return fromTls(pipeline, source as 'tls' | 'auto', request, socket, trace);
  if (source === 'auto') pipeline.warnings.forwardedUntrusted();
  if (resolved === 'xfcc') return fromXfcc(pipeline, request, socket, trace);
  return fromHeaderSource(pipeline, resolved, request, socket, trace);
}

/** Source `index` is fetching revocation data: go on once it has decided (a function of its own, so the loop above allocates no closure context). */
function afterPending(
  pipeline: Pipeline,
  pending: Promise<Decision>,
  request: RequestLike,
  socket: Socket | undefined,
  index: number,
  trace: Trace | null,
): Promise<AuthResult> {
  return pending.then((decision) => {
    if (!(decision.certificate || decision.error)) return fromSources(pipeline, request, socket, index + 1, trace);
    if (trace !== null) note(pipeline, trace, index, request, socket, decision);
    if (decision.error) logRefusal(pipeline, decision, index, request, socket);
    return conclude(pipeline, decision, request, socket);
  });
}

/** The rejection log line for a refusal by source `index` (rate-limited in rejections.ts). */
function logRefusal(
  pipeline: Pipeline,
  decision: Decision,
  index: number,
  request: RequestLike,
  socket: Socket | undefined,
): void {
  pipeline.rejections.refused(decision, sourceName(pipeline, index, socket), request, socket);
}

/** No source presented anything: the answer for the mode, and under `require` its log line. */
function nothingPresented(pipeline: Pipeline, request: RequestLike, socket: Socket | undefined): AuthResult {
  const result = settle(pipeline.options, undefined);
  if (!result.ok) {
    // Described only when the line is due (a flood of anonymous requests is mostly rate-limited).
    pipeline.rejections.nothingPresented(request, socket, () => ({
      sources: pipeline.options.sources.map((_, i) => sourceName(pipeline, i, socket)).join(', '),
      // Known per connection (no second trustProxy call); a request without one gets no hints.
      trusted: socket !== undefined && peerIsTrusted(pipeline, socket, request),
    }));
  }
  return result;
}

/** What source `index` read on this connection, for log lines: `tls`, or the header it read. */
function sourceName(pipeline: Pipeline, index: number, socket: Socket | undefined): string {
  const options = pipeline.options;
  const resolved = resolveSource(options.sources[index]!, socket, options.forwarded);
  return resolved === 'tls' ? 'tls' : resolved === 'xfcc' ? options.xfccHeader : resolved.description;
}

/** The answer: a cached decision as it stands, or one with a predicate still to run. */
function conclude(
  pipeline: Pipeline,
  decision: Decision,
  request: RequestLike,
  socket: Socket | undefined,
): AuthResult | Promise<AuthResult> {
  // The predicate path is a function of its own: the cached path stays small enough to be inlined.
  return decision.pendingRules
    ? withPredicate(pipeline, decision, request, socket)
    : settle(pipeline.options, decision);
}

/** Per-request rules (a predicate) on a trusted certificate, then the answer. */
function withPredicate(
  pipeline: Pipeline,
  decision: Decision,
  request: RequestLike,
  socket: Socket | undefined,
): AuthResult | Promise<AuthResult> {
  const rules = pipeline.options.rules;
  if (!decision.pendingRules || !decision.certificate || !rules) return settle(pipeline.options, decision);
  const certificate = decision.certificate;
  const verdict = evaluateRules(rules, certificate, { chain: decision.pendingRules });
  return verdict instanceof Promise
    ? verdict.then((v) => predicateAnswer(pipeline, certificate, v, request, socket))
    : predicateAnswer(pipeline, certificate, verdict, request, socket);
}

/** The predicate's verdict as the answer (a refusal logged, naming the certificate). */
function predicateAnswer(
  pipeline: Pipeline,
  certificate: ClientCertificate,
  verdict: RuleResult,
  request: RequestLike,
  socket: Socket | undefined,
): AuthResult {
  const answer = ruled(certificate, verdict);
  if (answer.error) {
    const names = { subject: certificate.subject.rfc4514, issuer: certificate.issuer.rfc4514 };
    const refusal = { ...answer, ...NEVER, ...names, fingerprint: certificate.fingerprints.sha256 };
    pipeline.rejections.refused(refusal, certificate.source ?? '-', request, socket);
  }
  return settle(pipeline.options, answer);
}

/** What an observed request records about the source that decided it. */
function note(
  pipeline: Pipeline,
  trace: Trace,
  index: number,
  request: RequestLike,
  socket: Socket | undefined,
  decision: Decision,
): void {
  const resolved = resolveSource(pipeline.options.sources[index]!, socket, pipeline.options.forwarded);
  trace.source = resolved === 'tls' || resolved === 'xfcc' ? resolved : resolved.source;
  trace.hop = resolved === 'tls' ? null : (peerAddress(socket, request) ?? null);
  trace.fingerprint = decision.certificate?.fingerprints.sha256 ?? decision.fingerprint ?? null;
}

/** Debug: what one source yielded. */
function step(
  pipeline: Pipeline,
  trace: Trace,
  index: number,
  socket: Socket | undefined,
  decided: Decided | undefined,
): void {
  const name = sourceName(pipeline, index, socket);
  trace.steps!.push(`${name}: ${outcomeText(decided)}${trace.cached ? ' (cached)' : ''}`);
}

function outcomeText(decided: Decided | undefined): string {
  if (decided === undefined) return 'nothing presented';
  if (decided instanceof Promise) return 'pending (revocation data)';
  if (decided.error) return `${decided.error.code} at ${decided.error.check ?? '-'}`;
  if (decided.certificate) return `certificate passed (verified by ${decided.certificate.verifiedBy ?? '-'})`;
  return 'no certificate';
}
