/**
 * Client certificate (mutual TLS) authentication for AWS Lambda behind API Gateway (REST and HTTP
 * APIs with mutual TLS on a custom domain) and Application Load Balancer targets: the event's
 * certificate through the core's decisions, with the same `ClientCertificate` and problem codes as
 * every other adapter.
 */
import { type AuthResult, type ClientCertAuth, createClientCertAuth } from '@clientcert/core';
import { describeLambda } from './describe.js';
import { albRequest, apiGatewayRequest, type EventKind, eventKind, type LambdaProxy } from './events.js';
import { compileLambdaOptions, type LambdaClientCertOptions } from './options.js';

export type {
  AuthResult,
  ClientCertIdentities,
  ClientCertificate,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError, PROBLEM_HEADERS } from '@clientcert/core';
export type { EventKind, LambdaProxy } from './events.js';
export { eventKind } from './events.js';
export type { AwsAlbSettings, LambdaClientCertOptions } from './options.js';
export { type LambdaProblemResponse, problemResponse } from './response.js';

/** A compiled configuration: build it once, outside the handler, and call `authenticate` per event. */
export interface EventAuth {
  /** What invokes the function, as configured. */
  readonly proxy: LambdaProxy;
  /**
   * Decide one event: `{ ok: true, certificate }` (null under `mode: 'accept'` without one) or
   * `{ ok: false, error, problem }`. A result now, or a Promise when revocation data must be
   * fetched or a predicate is async: `await` it either way. Throws a TypeError for an event that
   * is not from the configured service (a wiring mistake, never a client's).
   */
  authenticate(event: unknown): AuthResult | Promise<AuthResult>;
  /** The start-up line: where the certificate comes from, what trusts it, who can mint an identity. */
  describe(): string;
}

/**
 * Compile the options once (trust anchors read, caches made, the start-up line logged) and get an
 * `authenticate(event)` for every invocation. Create it at module scope: a warm container then
 * keeps its decisions between invocations. Misconfiguration throws `invalid_option` here.
 */
export function createEventAuth(options: LambdaClientCertOptions = {}): EventAuth {
  const compiled = compileLambdaOptions(options);
  let core: ClientCertAuth;
  try {
    core = createClientCertAuth(compiled.core);
  } finally {
    compiled.quiet.value = false;
  }
  const description = describeLambda(core, compiled.proxy);
  compiled.logger?.info(description);
  const proxy = compiled.proxy;
  const ignoring = core.options.mode === 'ignore';
  return {
    proxy,
    authenticate(event: unknown): AuthResult | Promise<AuthResult> {
      if (ignoring) return core.authenticate({ headers: {} });
      const kind = expectedKind(event, proxy);
      const record = event as Record<string, unknown>;
      return core.authenticate(kind === 'alb' ? albRequest(record) : apiGatewayRequest(record, kind));
    },
    describe: () => description,
  };
}

/** The event's kind, when it is one the configured service sends; else the wiring mistake, named. */
function expectedKind(event: unknown, proxy: LambdaProxy): EventKind {
  const kind = eventKind(event);
  if (kind === null) {
    throw new TypeError(
      'clientcert: authenticate() takes the event the handler received from API Gateway (REST or HTTP API) or an ' +
        'Application Load Balancer; this one has neither requestContext.identity, requestContext.http nor requestContext.elb ' +
        '(another trigger carries no client certificate)',
    );
  }
  if (kind === 'alb' && proxy === 'api-gateway') {
    throw new TypeError(
      "clientcert: an ALB event, and proxy is 'api-gateway': set proxy to 'aws-alb' (listener mutual authentication " +
        "in verify mode) or 'aws-alb-passthrough' (passthrough mode), as the listener is configured",
    );
  }
  if (kind !== 'alb' && proxy !== 'api-gateway') {
    throw new TypeError(
      `clientcert: an API Gateway event, and proxy is '${proxy}': set proxy: 'api-gateway' (the default); a function ` +
        'invoked by both needs one createEventAuth() for each',
    );
  }
  return kind;
}

const compiledByOptions = new WeakMap<object, EventAuth>();

function isEventAuth(value: unknown): value is EventAuth {
  return typeof (value as Partial<EventAuth> | null)?.authenticate === 'function';
}

/**
 * Decide one event with `options` (or an `EventAuth`). The options object is compiled on first
 * use and kept for as long as it lives: define it once at module scope, not inline in the
 * handler (each new object is compiled again, and logs its start-up line again).
 */
export function authenticateEvent(
  event: unknown,
  options: LambdaClientCertOptions | EventAuth,
): AuthResult | Promise<AuthResult> {
  if (isEventAuth(options)) return options.authenticate(event);
  let auth = compiledByOptions.get(options);
  if (auth === undefined) {
    auth = createEventAuth(options);
    compiledByOptions.set(options, auth);
  }
  return auth.authenticate(event);
}
