/**
 * Step 1's view of a request: the little the core reads of it (its connection, its peer's address,
 * its headers) and which source `auto` stands for on its connection. Decided here, once, for the
 * pipeline, the trace and the debug line alike.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The little the core needs of a request: Node's IncomingMessage (HTTP/1.1) and Http2ServerRequest
 * (HTTP/2) satisfy it, and so does `{ headers, remoteAddress }` built from a Web `Request`.
 */
export interface RequestLike {
  /**
   * The connection: its TLS peer is the `tls` source, its address decides whether forwarded
   * headers are read. Without one (a Web `Request`), there is no TLS source and nothing is kept
   * per connection.
   */
  readonly socket?: Socket | null;
  /**
   * HTTP/2: the request's stream (`req.stream` of the compatibility API, or the stream of the
   * `'stream'` event). Its session is the connection, one for all its streams.
   */
  readonly stream?: { readonly session?: { readonly socket?: Socket; readonly destroyed?: boolean } | null } | null;
  /**
   * The immediate peer's address, for a request without a socket: forwarded headers are read only
   * when it is in `trustProxy`, and never when it is absent. Ignored when there is a socket (its
   * own address is the peer's).
   */
  readonly remoteAddress?: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received (Node's `rawHeaders`): a forwarded header sent twice is refused. */
  readonly rawHeaders?: readonly string[];
}

/**
 * `auto` is the TLS peer on a TLS connection, else the forwarded header (`forwarded`: XFCC, or the
 * named proxy's format). Any other source is itself.
 */
export function resolveSource<S>(source: 'auto' | S, socket: Socket | undefined, forwarded: S): S | 'tls' {
  if (source !== 'auto') return source as S;
  return (socket as { encrypted?: boolean } | undefined)?.encrypted ? 'tls' : forwarded;
}

/** A request whose headers are missing, as one without headers (its connection kept). */
export function headless(request: unknown): RequestLike {
  const given = typeof request === 'object' && request !== null ? (request as Partial<RequestLike>) : {};
  return {
    socket: given.socket ?? null,
    stream: given.stream ?? null,
    remoteAddress: given.remoteAddress,
    headers: {},
  };
}

/** The immediate peer's address: the connection's, else (no connection) the one the caller gave. */
export function peerAddress(socket: Socket | undefined, request: RequestLike): string | undefined {
  if (socket !== undefined) return socket.remoteAddress;
  return typeof request.remoteAddress === 'string' ? request.remoteAddress : undefined;
}

/**
 * The request's host (HTTP/1.1 `Host`, HTTP/2 `:authority`) is the TLS server name, or no name was
 * sent (the default context verified the certificate). Ports and IPv6 brackets are not names.
 */
export function hostIsServerName(request: RequestLike, socket: Socket): boolean {
  const servername = (socket as { servername?: unknown }).servername;
  if (typeof servername !== 'string' || servername === '') return true;
  const host = request.headers[':authority'] ?? request.headers.host;
  if (typeof host !== 'string') return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name.length === servername.length && name.toLowerCase() === servername.toLowerCase();
}

/**
 * How many times a header (lower-case name) was sent, from Node's `rawHeaders` name/value pairs.
 * A name sent lower-case (HTTP/2 always, Envoy by default) is matched without lower-casing a copy.
 */
export function countLines(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i]!;
    if (header.length === name.length && (header === name || header.toLowerCase() === name)) count += 1;
  }
  return count;
}
