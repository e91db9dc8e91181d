import {
  type AuthResult,
  admittedCertificate,
  type ClientCertAuth,
  type ClientCertificate,
  type ClientCertOptions,
  type ClientCertUser,
  createClientCertAuth,
  PROBLEM_HEADERS,
  type PrincipalOption,
  type PrincipalStep,
} from '@clientcert/core';
import type { Context, Middleware, Next } from 'koa';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ClientCertUser,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare module 'koa' {
  // Importing this package makes `ctx.clientCert` and `ctx.state.clientCert` typed.
  interface DefaultState {
    clientCert?: ClientCertificate | null;
    /** The user `principal` mapped the certificate to (under the default `principalProperty`). */
    user?: ClientCertUser;
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
export function clientCert(options?: KoaClientCertOptions): Middleware {
  const auth = createClientCertAuth(options);
  if (auth.options.principal !== null) return withPrincipal(auth, auth.options.principal);
  // Not an async function: a decision from the cache goes on to `next` in the same tick, with no
  // promise of its own per request.
  return function clientCertMiddleware(ctx: Context, next: Next): Promise<void> | undefined {
    const result = auth.authenticate(ctx.req);
    return result instanceof Promise ? result.then((settled) => answer(settled, ctx, next)) : answer(result, ctx, next);
  };
}

/** The options, with `principal` called with koa's `Context`. */
export interface KoaClientCertOptions extends Omit<ClientCertOptions, 'principal'> {
  /** The app's user for an admitted certificate, put on `ctx.state.user` (see `principalProperty`); null → 403. */
  principal?: PrincipalOption<Context>;
}

/** The middleware when a `principal` is configured: a throw from the mapping is koa's 500. */
function withPrincipal(auth: ClientCertAuth, principal: PrincipalStep): Middleware {
  return async function clientCertMiddleware(ctx: Context, next: Next): Promise<void> {
    const settled = await auth.authenticate(ctx.req, ctx);
    if (settled.ok && settled.principal !== undefined)
      (ctx.state as Record<string, unknown>)[principal.property] = settled.principal;
    return answer(settled, ctx, next);
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
  return admittedCertificate(ctx.clientCert, 'ctx.clientCert', true);
}

export default clientCert;
