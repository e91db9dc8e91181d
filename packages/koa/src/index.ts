import {
  type AuthResult,
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  PROBLEM_HEADERS,
} from '@clientcert/core';
import type { Context, Middleware, Next } from 'koa';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare module 'koa' {
  // Importing this package makes `ctx.clientCert` and `ctx.state.clientCert` typed.
  interface DefaultState {
    clientCert?: ClientCertificate | null;
  }
  interface DefaultContext {
    /** The authenticated client certificate, or null when none was required and none came. */
    clientCert?: ClientCertificate | null;
  }
}

/**
 * Koa middleware (koa 2 and 3): authenticates the client certificate and sets `ctx.clientCert`
 * and `ctx.state.clientCert`, or answers with an RFC 9457 problem response. Runs on node:http,
 * node:https and node:http2 (`app.callback()` on its compatibility API, TLS or cleartext): an
 * HTTP/2 request's connection is its session, whatever stream it came on.
 */
export function clientCert(options?: ClientCertOptions): Middleware {
  const auth = createClientCertAuth(options);
  // Not an async function: a decision from the cache goes on to `next` in the same tick, with no
  // promise of its own per request.
  return function clientCertMiddleware(ctx: Context, next: Next): Promise<void> | undefined {
    const result = auth.authenticate(ctx.req);
    return result instanceof Promise ? result.then((settled) => answer(settled, ctx, next)) : answer(result, ctx, next);
  };
}

function answer(result: AuthResult, ctx: Context, next: Next): Promise<void> | undefined {
  if (!result.ok) {
    ctx.status = result.problem.status;
    ctx.set(PROBLEM_HEADERS);
    ctx.body = JSON.stringify(result.problem);
    return undefined;
  }
  ctx.clientCert = ctx.state.clientCert = result.certificate;
  return next();
}

/**
 * The certificate admitted on this request, typed non-null: for middleware behind
 * `clientCert({ mode: 'require' })`, where it is always set. Throws a TypeError when the context
 * has none (the middleware did not run before this one, or its mode let the request through
 * without one): a mistake in the app, never a client's.
 */
export function clientCertOf(ctx: Context): ClientCertificate {
  const certificate = ctx.clientCert;
  if (certificate == null)
    throw new TypeError(
      "clientcert: this request has no client certificate: clientCertOf() is for routes behind clientCert({ mode: 'require' }); where a request may have none (mode 'accept', a route with clientCert: false), read ctx.clientCert instead (null when none was presented)",
    );
  return certificate;
}

export default clientCert;
