/**
 * OpenTelemetry, when the app has `@opentelemetry/api` installed (an optional peer): each decision
 * sets the `tls.client.*` semantic-convention attributes and ours (`clientcert.outcome`,
 * `clientcert.code`, `clientcert.source`) on the span active when the request was authenticated,
 * and counts the decision in `clientcert.decisions` by outcome, code and source.
 *
 * The counter is an observable one fed from plain counts: a request adds one to a number, and the
 * SDK reads the numbers when it collects. A synchronous counter's `add` hashes its attributes on
 * every call, which cost ~1 µs per request, more than ten times the cached decision itself.
 *
 * The API is loaded with `require`, synchronously, when a configuration with telemetry on is
 * created (create.ts; else the first time a request asks whether anyone records): the first
 * request is recorded like every other one (an `import()` would settle some time later, and
 * requests until then would go unrecorded), and an app without the package pays one failed
 * lookup, once. Both builds can: `createRequire` from this file's location (the
 * CommonJS build's `__filename`, the ESM build's `import.meta.url`), where the package resolves as
 * the app's own dependencies do.
 *
 * The API's global registry is shared by every copy of it in the process, so the providers the
 * app registers are the ones found here, whichever copy (ESM or CommonJS) the app imported.
 */
import { createRequire } from 'node:module';
import type { Attributes, ObservableCounter, ObservableResult, Span } from '@opentelemetry/api';
import type { AuthResult } from '../decide/decide.js';
import type { ClientCertificate, SourceName } from '../model.js';

type OpenTelemetryApi = typeof import('@opentelemetry/api');

/**
 * What one request's decision is recorded on: the recording span active at the request (and the
 * count, when a meter provider is registered), the count alone, or nothing (null).
 */
export type Telemetry = Span | typeof COUNT_ONLY | null;

/** No span records this request: the decision is only counted. */
export const COUNT_ONLY = 'count-only';

/** One combination of outcome, code and source: its attributes (made once) and how many decisions had it. */
interface Tally {
  readonly attributes: Attributes;
  count: number;
}

/** Tallies by source (`''`: none), then by code (or outcome when admitted): found without building a key. */
const tallies = new Map<string, Map<string, Tally>>();

/** The span attributes that belong to a certificate, made once per certificate (certificates are shared between requests). */
const attributesOf = new WeakMap<ClientCertificate, Attributes>();

/** Undefined until the first request asks; null when the package is not installed (or cannot be loaded). */
let api: OpenTelemetryApi | null | undefined;
/** The meter provider the counter was made for: a provider registered later gets a counter of its own. */
let meterProvider: unknown;
/** Whether decisions are counted: false while the registered meter provider is the API's no-op one. */
let counting = false;
let noopCounter: ObservableCounter | null = null;

/** Loads the API once (see the comment at the top); later calls return what the first found. */
export function loadOpenTelemetry(): OpenTelemetryApi | null {
  if (api !== undefined) return api;
  try {
    // `__filename` exists in the CommonJS build only; the ESM build (and the sources) have import.meta.url.
    const requireHere = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
    api = requireHere('@opentelemetry/api') as OpenTelemetryApi;
    noopCounter = api.createNoopMeter().createObservableCounter('clientcert.decisions');
  } catch {
    // Not installed, or unusable: no telemetry, and no failure of authentication because of it.
    api = null;
  }
  return api;
}

/**
 * Per request, with telemetry on: what its decision is to be recorded on. Cheap when nobody
 * records: no span active (or one not recording) and no meter provider registered → null, and
 * the request takes the untraced path.
 */
export function telemetryFor(): Telemetry {
  const otel = api === undefined ? loadOpenTelemetry() : api;
  if (otel === null) return null;
  const span = otel.trace.getActiveSpan();
  if (span?.isRecording()) return span;
  return counts(otel) ? COUNT_ONLY : null;
}

/** Whether the meter provider registered now counts; a new one gets the counter (and counts from zero). */
function counts(otel: OpenTelemetryApi): boolean {
  const provider = otel.metrics.getMeterProvider();
  if (provider === meterProvider) return counting;
  meterProvider = provider;
  const counter = provider.getMeter('@clientcert/core').createObservableCounter('clientcert.decisions', {
    description:
      'Client certificate decisions, by outcome (authenticated, anonymous, rejected), problem code and source',
    unit: '{decision}',
  });
  counting = counter !== noopCounter;
  tallies.clear();
  if (counting) counter.addCallback(observeTallies);
  return counting;
}

function observeTallies(result: ObservableResult): void {
  for (const byCode of tallies.values())
    for (const tally of byCode.values()) result.observe(tally.count, tally.attributes);
}

/**
 * Records one decision: attributes on the span, one count. `source` and `fingerprint` are what the
 * traced run noted (the source that decided; the presented leaf's SHA-256 on a refusal).
 */
export function recordDecision(
  telemetry: Span | typeof COUNT_ONLY,
  result: AuthResult,
  source: SourceName | null,
  fingerprint: string | null,
): void {
  const tally = tallyOf(result, source);
  if (api && counts(api)) tally.count++;
  if (telemetry === COUNT_ONLY) return;
  telemetry.setAttributes(tally.attributes);
  const certificate = result.ok ? result.certificate : null;
  if (certificate) telemetry.setAttributes(certificateAttributes(certificate));
  // A refused certificate is named by its hash only: its subject is whatever the sender wrote.
  else if (fingerprint !== null) telemetry.setAttribute('tls.client.hash.sha256', fingerprint.toUpperCase());
}

/** The tally of this decision's outcome, code and source (made on first use). */
function tallyOf(result: AuthResult, source: SourceName | null): Tally {
  const outcome = result.ok ? (result.certificate ? 'authenticated' : 'anonymous') : 'rejected';
  const code = result.ok ? null : result.error.code;
  let byCode = tallies.get(source ?? '');
  if (byCode === undefined) tallies.set(source ?? '', (byCode = new Map()));
  let tally = byCode.get(code ?? outcome);
  if (tally === undefined) {
    const attributes: Attributes = { 'clientcert.outcome': outcome };
    if (code !== null) attributes['clientcert.code'] = code;
    if (source !== null) attributes['clientcert.source'] = source;
    byCode.set(code ?? outcome, (tally = { attributes, count: 0 }));
  }
  return tally;
}

/** The semantic conventions' `tls.client.*` attributes of an admitted certificate (hashes upper-case, times ISO 8601). */
function certificateAttributes(certificate: ClientCertificate): Attributes {
  let attributes = attributesOf.get(certificate);
  if (attributes === undefined) {
    attributes = {
      'tls.client.subject': certificate.subject.rfc4514,
      'tls.client.issuer': certificate.issuer.rfc4514,
      'tls.client.hash.sha256': certificate.fingerprints.sha256.toUpperCase(),
      'tls.client.not_before': certificate.notBefore.toISOString(),
      'tls.client.not_after': certificate.notAfter.toISOString(),
    };
    attributesOf.set(certificate, attributes);
  }
  return attributes;
}
