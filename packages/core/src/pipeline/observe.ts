/**
 * Observability: one event per decision, to an `onDecision` hook, to the `clientcert:decision`
 * diagnostics channel, and — with `debug` — as one explained line; and to OpenTelemetry when it
 * records (pipeline/telemetry.ts). Nothing here runs, and nothing is allocated, on a request that
 * nobody observes.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { AuthResult } from '../decide/decide.js';
import type { SourceName } from '../model.js';
import { DECISION_CHANNEL, type DecisionEvent } from '../options/observe.js';
import { escapeForLog } from '../options/warnings.js';
import type { Pipeline } from './cache.js';
import { recordDecision, type Telemetry } from './telemetry.js';

/** Every decision is published here (when it has subscribers). */
export const decisionChannel = diagnosticsChannel.channel(DECISION_CHANNEL);

/** What the pipeline records about a request that is observed (allocated only then). */
export interface Trace {
  source: SourceName | null;
  hop: string | null;
  cached: boolean;
  fingerprint: string | null;
  /** Debug only: what each step did. */
  steps: string[] | null;
  /** Where OpenTelemetry records the decision (pipeline/telemetry.ts), or null. */
  telemetry: Telemetry;
}

export function newTrace(debug: boolean, telemetry: Telemetry = null): Trace {
  return { source: null, hop: null, cached: false, fingerprint: null, steps: debug ? [] : null, telemetry };
}

/**
 * Observed requests only: the decision of the current source is being taken now, not served from
 * a cache (marked on the deciding side, so the cache-hit path carries no extra code).
 */
export function decidedNow(trace: Trace | null): void {
  if (trace !== null) trace.cached = false;
}

/** Publishes, explains and hands to the hook the decision of one observed request, and returns it. */
export function report(pipeline: Pipeline, result: AuthResult, trace: Trace): AuthResult {
  if (trace.telemetry !== null) recordDecision(trace.telemetry, result, trace.source, trace.fingerprint);
  // OpenTelemetry alone: no event to build.
  if (!pipeline.alwaysObserved && !decisionChannel.hasSubscribers) return result;
  const { mode, onDecision: hook, debug: explain } = pipeline.options;
  const event = decisionEvent(mode as 'require' | 'accept', result, trace);
  if (decisionChannel.hasSubscribers) decisionChannel.publish(event);
  try {
    if (explain)
      explain(debugLine(event, result.ok ? null : (result.error.reason ?? result.error.message), trace.steps));
    // An async hook's rejection would otherwise be unhandled, and end the process.
    const returned: unknown = hook ? hook(event) : undefined;
    if (returned instanceof Promise) returned.catch((error: unknown) => pipeline.warnings.decisionHookFailed(error));
  } catch (error) {
    pipeline.warnings.decisionHookFailed(error);
  }
  return result;
}

export function decisionEvent(mode: 'require' | 'accept', result: AuthResult, trace: Trace): DecisionEvent {
  if (result.ok) {
    const cert = result.certificate;
    return {
      outcome: cert ? 'authenticated' : 'anonymous',
      ok: true,
      mode,
      code: null,
      check: null,
      instance: null,
      fingerprint: cert ? cert.fingerprints.sha256 : null,
      subject: cert ? escapeForLog(cert.subject.rfc4514) : null,
      identity: nullableEscaped(cert?.authorization?.identity),
      pin: nullableEscaped(cert?.authorization?.pin),
      verifiedBy: cert?.verifiedBy ?? null,
      source: cert ? (trace.source ?? cert.source) : null,
      hop: cert ? trace.hop : null,
      cached: cert !== null && trace.cached,
    };
  }
  return {
    outcome: 'rejected',
    ok: false,
    mode,
    code: result.error.code,
    check: nullableEscaped(result.error.check),
    instance: result.problem.instance,
    fingerprint: trace.fingerprint,
    subject: null,
    identity: null,
    pin: null,
    verifiedBy: null,
    source: trace.source,
    hop: trace.hop,
    cached: trace.source !== null && trace.cached,
  };
}

function nullableEscaped(value: string | null | undefined): string | null {
  return value === null || value === undefined ? null : escapeForLog(value);
}

/** One line that explains the decision: the outcome, then `key=value` fields, then the steps taken. */
export function debugLine(event: DecisionEvent, message: string | null, steps: readonly string[] | null): string {
  const fields: string[] = [`mode=${event.mode}`];
  if (event.code) fields.push(`code=${event.code}`);
  if (event.check) fields.push(`check=${event.check}`);
  if (event.source) fields.push(`source=${event.source}`);
  if (event.hop) fields.push(`hop=${escapeForLog(event.hop)}`);
  if (event.fingerprint) fields.push(`sha256=${event.fingerprint}`);
  if (event.subject) fields.push(`subject="${event.subject}"`);
  if (event.verifiedBy) fields.push(`verifiedBy=${event.verifiedBy}`);
  if (event.pin) fields.push(`pin="${event.pin}"`);
  if (event.identity) fields.push(`identity="${event.identity}"`);
  fields.push(`cached=${event.cached ? 'yes' : 'no'}`);
  if (event.instance) fields.push(`instance=${event.instance}`);
  const why = message ? ` reason="${escapeForLog(message)}"` : '';
  const taken = steps && steps.length > 0 ? ` steps: ${steps.map(escapeForLog).join('; ')}` : '';
  return `clientcert: ${event.outcome} ${fields.join(' ')}${why}${taken}`;
}
