import {
  type AuthResult,
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  PROBLEM_HEADERS,
} from '@clientcert/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';

declare global {
  // Importing this package makes `req.clientCert` typed on every express Request.
  namespace Express {
    interface Request {
      /** The authenticated client certificate, or null when none was required and none came. */
      clientCert?: ClientCertificate | null;
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
export function clientCert(options?: ClientCertOptions): RequestHandler {
  const auth = createClientCertAuth(options);
  return function clientCertMiddleware(req: Request, res: Response, next: NextFunction): void {
    const result = auth.authenticate(req);
    if (result instanceof Promise) result.then((settled) => settle(settled, req, res, next), next);
    else settle(result, req, res, next); // no closure per request on the synchronous (cached) path
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
  const certificate = req.clientCert;
  if (certificate == null)
    throw new TypeError(
      "clientcert: this request has no client certificate: clientCertOf() is for routes behind clientCert({ mode: 'require' }); where a request may have none (mode 'accept', a route with clientCert: false), read req.clientCert instead (null when none was presented)",
    );
  return certificate;
}

export default clientCert;
