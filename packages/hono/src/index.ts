import {
  admittedCertificate,
  type ClientCertificate,
  type ClientCertOptions,
  type ClientCertUser,
  type PrincipalOption,
  type RequestLike,
  validateOption,
} from '@clientcert/core';
import { type AuthResult, createRequestAuth, problemResponse, type RequestConnection } from '@clientcert/fetch';
import type { Context, MiddlewareHandler } from 'hono';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ClientCertUser,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';

export { ClientCertError, isClientCertError } from '@clientcert/core';
export type { RequestConnection, TlsPeer } from '@clientcert/fetch';

/** The variables this middleware sets, for apps that type their own `Variables`. */
export interface ClientCertVariables {
  /** The authenticated client certificate, or null when none was required and none came. */
  clientCert: ClientCertificate | null;
}

declare module 'hono' {
  // Importing this package makes `c.get('clientCert')` typed in every Hono app.
  interface ContextVariableMap {
    /** Undefined where the middleware did not run: see `clientCertOf`. */
    clientCert: ClientCertificate | null | undefined;
    /** The user `principal` mapped the certificate to (under the default `principalProperty`). */
    user: ClientCertUser | undefined;
  }
}

export interface HonoClientCertOptions extends Omit<ClientCertOptions, 'principal'> {
  /** The app's user for an admitted certificate, set as `c.get('user')` (see `principalProperty`); null → 403. */
  principal?: PrincipalOption<Context>;
  /**
   * What the server knows about the request's connection, where the runtime exposes it outside
   * the request: e.g. on Bun or Deno `(c) => ({ remoteAddress: getConnInfo(c).remote.address })`
   * (`getConnInfo` from `hono/bun` or `hono/deno`). Default: under `@hono/node-server`, Node's
   * request (`c.env.incoming`: its TLS peer, its address); elsewhere nothing, so no forwarded
   * header is read.
   */
  connection?: (c: Context) => RequestConnection | undefined;
}

/**
 * Hono middleware: authenticates the client certificate and sets `c.get('clientCert')`, or
 * answers with an RFC 9457 problem response. Use it app-wide or per route.
 */
export function clientCert(options?: HonoClientCertOptions): MiddlewareHandler<{ Variables: ClientCertVariables }> {
  const { connection: given, ...coreOptions } = options ?? {};
  const connection =
    given === undefined
      ? nodeConnection
      : validateOption.functionOption<(c: Context) => RequestConnection | undefined>(
          given,
          'connection',
          'of the Hono context, e.g. (c) => ({ remoteAddress: getConnInfo(c).remote.address }), or left out under @hono/node-server',
        );
  const auth = createRequestAuth(coreOptions);
  const principal = auth.options.principal;
  return async function clientCertMiddleware(c, next) {
    // The core maps the user, given Hono's context. A throw from the mapping propagates: Hono's
    // onError answers it (500), not a 403.
    const settled: AuthResult = await auth.authenticate(c.req.raw, connection(c), c);
    if (!settled.ok) return problemResponse(settled);
    c.set('clientCert', settled.certificate);
    if (principal !== null && settled.principal !== undefined) c.set(principal.property as 'user', settled.principal);
    await next();
  };
}

/**
 * `@hono/node-server` puts Node's request on `c.env.incoming`: its socket is the connection (the
 * TLS peer, the peer's address) and its `rawHeaders` tell a header sent twice. Elsewhere: none.
 */
export function nodeConnection(c: Context): RequestConnection | undefined {
  const incoming = (c.env as { incoming?: Partial<RequestLike> } | undefined)?.incoming;
  if (typeof incoming !== 'object' || incoming === null || typeof incoming.headers !== 'object') return undefined;
  return { incoming: incoming as RequestLike };
}

/**
 * The certificate admitted on this request, typed non-null: for handlers behind
 * `clientCert({ mode: 'require' })`, where it is always set. Throws a TypeError when the request
 * has none (the middleware did not run on the route, or its mode let the request through without
 * one): a mistake in the app, never a client's.
 */
export function clientCertOf(c: Context): ClientCertificate {
  return admittedCertificate(c.get('clientCert'), "c.get('clientCert')", false);
}

export default clientCert;
