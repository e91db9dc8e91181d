/**
 * `createClientCertAuth`: the middleware's core, assembled. Options are compiled once (the trust
 * route among them), the caches are made, and each request then runs the stages in order:
 *
 *   1. sources    where the certificate comes from: the TLS connection or a trusted proxy's header
 *                 (pipeline/tls.ts, pipeline/forwarded.ts over sources/)
 *   2. parse      the presented chain as certificates (pipeline/evaluate.ts over x509/)
 *   3. trust      the compiled route: anchors, pins, the TLS stack or the proxy (trust/strategy.ts),
 *                 then the revocation window (trust/revocation/)
 *   4. authorize  the rules (authorize/rules.ts)
 *   5. decide     the answer, or the problem (decide/decide.ts)
 *
 * Caching (pipeline/cache.ts) and observation (pipeline/observe.ts) wrap the stages; every stage
 * receives what it reads as arguments.
 */
import type { AuthResult } from './decide/decide.js';
import { type ClientCertOptions, type CompiledOptions, compileOptions } from './options/compile.js';
import { describeTrust, trustModelFacts } from './options/describe.js';
import { RuntimeWarnings, startupWarnings } from './options/warnings.js';
import { createCaches, type Pipeline } from './pipeline/cache.js';
import { authenticateMapped } from './pipeline/principal.js';
import { headersRead, RejectionLog } from './pipeline/rejections.js';
import { authenticate } from './pipeline/run.js';
import { loadOpenTelemetry } from './pipeline/telemetry.js';
import type { RequestLike } from './sources/read.js';

export interface ClientCertAuth {
  readonly options: CompiledOptions;
  /**
   * Decide one request: a result now, or a Promise when revocation data must be fetched or a
   * predicate or `principal` is async. `context` is what `principal` is given (default: `request`).
   */
  authenticate(request: RequestLike, context?: unknown): AuthResult | Promise<AuthResult>;
  /** One line saying what this configuration trusts, as reported at start-up. */
  describe(): string;
}

export function createClientCertAuth(userOptions: ClientCertOptions = {}): ClientCertAuth {
  const options = compileOptions(userOptions);
  // Loaded here, not on the first request (20–30 ms when the app has not loaded it already).
  if (options.telemetry) loadOpenTelemetry();
  const facts = trustModelFacts(options);
  const pipeline: Pipeline = {
    options,
    caches: createCaches(options.cache),
    warnings: new RuntimeWarnings(options.warn, {
      logging: options.logger !== null,
      trustProxyDescription: options.trustProxyDescription,
      xfccHeader: options.xfccHeader,
      startup: facts,
    }),
    rejections: new RejectionLog(options.warn, options.logger !== null, headersRead(options)),
    trustsTlsStack: options.trust.tls.kind === 'tls',
    alwaysObserved: options.onDecision !== null || options.debug !== null,
  };
  // The trust model is fixed at start-up: said once, the same words in describe() and the log.
  const description = describeTrust(options);
  if (options.logger) {
    options.logger.info(description);
    startupWarnings(facts, options.warn);
  }
  return {
    options,
    // Bound, not wrapped: the engine then inlines the run into its caller as one call.
    authenticate:
      options.principal === null
        ? authenticate.bind(null, pipeline)
        : authenticateMapped.bind(null, pipeline, options.principal),
    describe: () => description,
  };
}
