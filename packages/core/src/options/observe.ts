/**
 * The observation options: what `onDecision` is called with, and where `debug` lines go. Compiled
 * at start-up; the pipeline reports each decision through them (pipeline/observe.ts).
 */
import { debuglog } from 'node:util';
import type { RejectionCode } from '../errors.js';
import type { SourceName, Verification } from '../model.js';
import { booleanOption, functionOption, invalidOption } from '../validate.js';
import type { ClientCertOptions, CompiledOptions } from './compile.js';
import { compileWarnings, createWarn } from './warnings.js';

/** The diagnostics channel every decision is published to (when it has subscribers). */
export const DECISION_CHANNEL = 'clientcert:decision';

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

/** `logger`, `warnings`, `onDecision`, `debug` and `telemetry`: where start-up lines, warnings and decisions go. */
export function compileObservation(
  options: ClientCertOptions,
): Pick<CompiledOptions, 'logger' | 'warn' | 'onDecision' | 'debug' | 'telemetry'> {
  const logger = options.logger === false ? null : (options.logger ?? console);
  if (
    logger !== null &&
    (typeof logger !== 'object' || typeof logger.info !== 'function' || typeof logger.warn !== 'function')
  ) {
    throw invalidOption('logger', 'must be false or an object with info(message) and warn(message)');
  }
  const offWarnings = compileWarnings(options.warnings);
  const onDecision =
    options.onDecision === undefined
      ? null
      : functionOption<DecisionHook>(options.onDecision, 'onDecision', '(event) => void');
  const debug = options.debug === undefined ? undefined : booleanOption(options.debug, 'debug');
  return {
    logger,
    warn: createWarn(logger, offWarnings),
    onDecision,
    debug: compileDebug(debug, logger, process.env),
    // On by default: it costs nothing until the app installs the API and registers a provider.
    telemetry: booleanOption(options.telemetry ?? true, 'telemetry'),
  };
}
