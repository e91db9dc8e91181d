/**
 * Observability: one event per decision, to an `onDecision` hook, to the `clientcert:decision`
 * diagnostics channel, and — with `debug` — as one explained line. Nothing here runs, and nothing
 * is allocated, on a request that nobody observes.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { RejectionCode } from '../errors.js';
import type { ClientCertificate, SourceName, Verification } from '../model.js';
import { escapeForLog } from '../options/warnings.js';

/** The diagnostics channel every decision is published to (when it has subscribers). */
export const DECISION_CHANNEL = 'clientcert:decision';
export const decisionChannel = diagnosticsChannel.channel(DECISION_CHANNEL);

/**
 * What was decided about one request. Safe for logs: no PEM, no header text; the strings that can
 * come from a certificate (`subject`) are escaped (control characters, quotes, backslashes).
 */
export interface DecisionEvent {
  /** `authenticated`: a certificate passed. `anonymous`: none, and mode `accept` let it through. `rejected`: a problem response. */
  readonly outcome: 'authenticated' | 'anonymous' | 'rejected';
  readonly ok: boolean;
  readonly mode: 'require' | 'accept';
  /** The problem `code` of a rejection, else null. */
  readonly code: RejectionCode | null;
  /** The check that decided a rejection (`presence`, `trust`, `chain.expired`, `pins`, `rules.identities`, …), else null. */
  readonly check: string | null;
  /** The problem `instance` of a rejection (`urn:uuid:…`), to find the response in logs. */
  readonly instance: string | null;
  /** SHA-256 of the presented leaf's DER (lower-case hex), when a certificate was presented. */
  readonly fingerprint: string | null;
  /** RFC 4514 subject of an authenticated certificate, escaped; null otherwise. */
  readonly subject: string | null;
  /** The `rules.identities` entry that admitted the certificate. */
  readonly identity: string | null;
  /** The pin that matched. */
  readonly pin: string | null;
  readonly verifiedBy: Verification | null;
  /** Which source the certificate (or the failure) came from; null when nothing was presented. */
  readonly source: SourceName | null;
  /** For a forwarded header: the peer address it came from (the proxy hop); null for the TLS connection. */
  readonly hop: string | null;
  /** True when the decision was taken from a cache (per connection, header value or presented chain). */
  readonly cached: boolean;
}

export type DecisionHook = (event: DecisionEvent) => void | Promise<void>;

/** What the pipeline records about a request that is observed (allocated only then). */
export interface Trace {
  source: SourceName | null;
  hop: string | null;
  cached: boolean;
  fingerprint: string | null;
  /** Debug only: what each step did. */
  steps: string[] | null;
}

export function newTrace(debug: boolean): Trace {
  return { source: null, hop: null, cached: false, fingerprint: null, steps: debug ? [] : null };
}

/** The sink of debug lines: `debug: true` → the logger; else `NODE_DEBUG=clientcert` or `DEBUG=clientcert`. */
export function compileDebug(
  option: boolean | undefined,
  logger: { info(message: string): void; debug?(message: string): void } | null,
  env: NodeJS.ProcessEnv,
): ((line: string) => void) | null {
  if (option === false) return null;
  if (option === true) {
    if (!logger) return (line) => console.error(line);
    return logger.debug ? (line) => logger.debug!(line) : (line) => logger.info(line);
  }
  const nodeDebug = debuglog('clientcert');
  if (nodeDebug.enabled) return (line) => nodeDebug('%s', line);
  if (debugEnvNames(env.DEBUG)) return (line) => console.error(line);
  return null;
}

/** The `debug` package's convention: DEBUG=clientcert, clientcert:*, or *, in a comma or space separated list. */
function debugEnvNames(value: string | undefined): boolean {
  if (!value) return false;
  const names = value.split(/[\s,]+/);
  if (names.some((name) => name === '-clientcert' || name === '-clientcert:*')) return false;
  return names.some((name) => name === 'clientcert' || name === 'clientcert:*' || name === '*');
}

export function decisionEvent(
  mode: 'require' | 'accept',
  result:
    | { ok: true; certificate: ClientCertificate | null }
    | { ok: false; error: { code: RejectionCode; check: string | undefined }; problem: { instance: string } },
  trace: Trace,
): DecisionEvent {
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
