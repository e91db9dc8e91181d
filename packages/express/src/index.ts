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
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ClientCertUser,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare global {
  // Importing this package makes `req.clientCert` typed on every express Request.
  namespace Express {
    // The user `principal` maps: declared as passport's types declare it, so that both merge.
    interface User extends ClientCertUser {}
    interface Request {
      /** The authenticated client certificate, or null when none was required and none came. */
      clientCert?: ClientCertificate | null;
      /** The user `principal` mapped the certificate to (under the default `principalProperty`). */
      user?: User | undefined;
    }
  }
}

/**
 * Express middleware (express 4 and 5): authenticates the client certificate and sets
 * `req.clientCert`, or answers with an RFC 9457 problem response. Use it app-wide or per route.
 * Express itself does not run on node:http2 (it re-parents each request onto node:http's
 * prototypes, which drops the HTTP/2 request's accessors before any middleware runs); behind a
 * bridge that keeps them, the core keys the connection by the HTTP/2 session as it does for koa.
 */
export function clientCert(options?: ExpressClientCertOptions): RequestHandler {
  const auth = createClientCertAuth(options);
  if (auth.options.principal !== null) return withPrincipal(auth, auth.options.principal);
  return function clientCertMiddleware(req: Request, res: Response, next: NextFunction): void {
    const result = auth.authenticate(req);
    if (result instanceof Promise) result.then((settled) => settle(settled, req, res, next), next);
    else settle(result, req, res, next); // no closure per request on the synchronous (cached) path
  };
}

/** The options, with `principal` called with express's `Request`. */
export interface ExpressClientCertOptions extends Omit<ClientCertOptions, 'principal'> {
  /** The app's user for an admitted certificate, put on `req.user` (see `principalProperty`); null → 403. */
  principal?: PrincipalOption<Request>;
}

/** The middleware when a `principal` is configured: the user is mapped, then placed on the request. */
function withPrincipal(auth: ClientCertAuth, principal: PrincipalStep): RequestHandler {
  return function clientCertMiddleware(req: Request, res: Response, next: NextFunction): void {
    // The core maps the user, given express's request. A throw from the mapping is the app's
    // error: express answers a synchronous one with 500, and a rejection goes to next(err).
    const mapped = auth.authenticate(req, req);
    const place = (settled: AuthResult): void => {
      if (settled.ok && settled.principal !== undefined)
        (req as unknown as Record<string, unknown>)[principal.property] = settled.principal;
      settle(settled, req, res, next);
    };
    if (mapped instanceof Promise) mapped.then(place, next);
    else place(mapped);
  };
}

function settle(result: AuthResult, req: Request, res: Response, next: NextFunction): void {
  if (result.ok) {
    req.clientCert = result.certificate;
    next();
    return;
  }
  // A Buffer, not a string: res.send(string) would append "; charset=utf-8" to the content-type.
  res
    .status(result.problem.status)
    .set(PROBLEM_HEADERS)
    .send(Buffer.from(JSON.stringify(result.problem)));
}

/**
 * The certificate admitted on this request, typed non-null: for handlers behind
 * `clientCert({ mode: 'require' })`, where it is always set. Throws a TypeError when the request
 * has none (the middleware did not run on the route, or its mode let the request through without
 * one): a mistake in the app, never a client's.
 */
export function clientCertOf(req: Request): ClientCertificate {
  return admittedCertificate(req.clientCert, 'req.clientCert', true);
}

export default clientCert;
