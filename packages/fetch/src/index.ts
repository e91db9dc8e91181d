import type { IncomingHttpHeaders } from 'node:http';
import {
  type AuthResult,
  type ClientCertOptions,
  type ClientCertAuth as CoreAuth,
  createClientCertAuth,
  PROBLEM_HEADERS,
  type ProblemDetails,
  type RequestLike,
} from '@clientcert/core';
import { type TlsPeer, tlsConnection } from './tls-peer.js';

export type {
  AuthResult,
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ProblemDetails,
  RejectionCode,
  RequestLike,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';
export type { CertificateInput, TlsPeer } from './tls-peer.js';

/**
 * What the server knows about the connection a `Request` came on, beyond the request itself. Give
 * what your runtime exposes; without any of it, no forwarded header is read (its sender is unknown)
 * and there is no TLS peer, so every request is answered as one without a certificate.
 */
export interface RequestConnection {
  /**
   * The immediate peer's IP address (Bun: `server.requestIP(request)?.address`, Deno:
   * `info.remoteAddr.hostname`). Forwarded-certificate headers are read only when it is in
   * `trustProxy`.
   */
  readonly remoteAddress?: string;
  /** The TLS peer, where the server ends TLS itself and exposes the client's certificate. */
  readonly tls?: TlsPeer;
  /**
   * Node only: the request as Node's server received it (`IncomingMessage`, or HTTP/2's
   * `Http2ServerRequest`), e.g. `c.env.incoming` under `@hono/node-server`. The core then reads it
   * as the express adapter does: the TLS peer from its socket (decided once per connection), the
   * peer's address, and `rawHeaders` (a forwarded header sent twice is refused). `remoteAddress`
   * and `tls` are then ignored.
   */
  readonly incoming?: RequestLike;
}

/** The core compiled once from options, deciding Web `Request`s. */
export interface RequestAuth {
  /**
   * Decide one request: a result now, or a Promise when revocation data must be fetched or a
   * predicate is async (`await` it either way). Never rejects for a client's input: a bad
   * certificate or header is a result with `ok: false` and the problem to answer with.
   * `context` is what `principal` is given (default: `request`), e.g. a framework's own context.
   */
  authenticate(request: Request, connection?: RequestConnection, context?: unknown): AuthResult | Promise<AuthResult>;
  /** One line saying what this configuration trusts, as reported at start-up. */
  describe(): string;
  /** The options as the core compiled them (for a wrapper that answers as the core does). */
  readonly options: CoreAuth['options'];
}

/**
 * Compile `options` once (the start-up line is logged here) and decide each request with
 * `authenticate(request, connection)`. Make it once per app, not per request.
 */
export function createRequestAuth(options?: ClientCertOptions): RequestAuth {
  const core: CoreAuth = createClientCertAuth(options);
  return {
    // `principal` is given the Web Request itself, unless the caller names another context.
    authenticate: (request, connection, context = request) =>
      core.authenticate(toRequestLike(request, connection), context),
    describe: () => core.describe(),
    options: core.options,
  };
}

/**
 * Decide one request with a `RequestAuth` made by `createRequestAuth`:
 * `authenticateRequest(request, { remoteAddress, auth })`. The same as
 * `auth.authenticate(request, connection)`.
 */
export function authenticateRequest(
  request: Request,
  connection: RequestConnection & { readonly auth: RequestAuth },
): AuthResult | Promise<AuthResult> {
  return connection.auth.authenticate(request, connection);
}

/**
 * The rejection as a `Response`: its status (403 unless `rejectStatus`), `content-type:
 * application/problem+json`, `cache-control: no-store`, and the core's problem as the body.
 */
export function problemResponse(result: { readonly problem: ProblemDetails }): Response {
  return new Response(JSON.stringify(result.problem), { status: result.problem.status, headers: PROBLEM_HEADERS });
}

/** What the core reads of a request: its headers as Node gives them, and the connection. */
export function toRequestLike(request: Request, connection?: RequestConnection | null): RequestLike {
  const given: RequestConnection = connection ?? {};
  if (given.incoming != null) return given.incoming;
  const headers = nodeHeaders(request?.headers);
  const remoteAddress = typeof given.remoteAddress === 'string' ? given.remoteAddress : undefined;
  if (given.tls != null) return { socket: tlsConnection(given.tls, remoteAddress), headers };
  return { headers, remoteAddress };
}

/**
 * Web `Headers` as Node's lower-case record. Both join a repeated header's values with `, `; only
 * Node also keeps each line (`rawHeaders`), so a header sent twice cannot be told from one line
 * here: a forwarded header split in two reaches the core joined, as one value (XFCC then has two
 * elements, of which the default `xfcc.element: 'last'` takes the nearest proxy's).
 */
export function nodeHeaders(headers: Headers | undefined): IncomingHttpHeaders {
  const record: IncomingHttpHeaders = {};
  if (headers === undefined || typeof headers.forEach !== 'function') return record;
  // set-cookie is a response header: a request's is not read, and Headers lists it once per value.
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') record[name] = value;
  });
  return record;
}
