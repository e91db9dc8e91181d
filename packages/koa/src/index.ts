import {
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
  return async function clientCertMiddleware(ctx: Context, next: Next): Promise<void> {
    const result = await auth.authenticate(ctx.req);
    if (!result.ok) {
      ctx.status = result.problem.status;
      ctx.set(PROBLEM_HEADERS);
      ctx.body = JSON.stringify(result.problem);
      return;
    }
    ctx.clientCert = ctx.state.clientCert = result.certificate;
    await next();
  };
}

export default clientCert;
