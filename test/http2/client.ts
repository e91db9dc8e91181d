/**
 * A tiny real HTTP/2 client for tests: one new session per call (TLS `h2`, or cleartext `h2c` for
 * an `http:` URL), several streams on it one after the other, an optional client certificate, and
 * a chosen local address (127.0.0.1 plays the trusted proxy, 127.0.0.2 a stranger).
 */

import type { IncomingHttpHeaders } from 'node:http';
import http2, { type OutgoingHttpHeaders } from 'node:http2';
import type { ClientResponse } from '../helpers/http-client.js';

export interface Http2ClientRequest {
  /** Base URL of the server, e.g. `https://127.0.0.1:43211` (h2) or `http://127.0.0.1:43211` (h2c). */
  url: string;
  path?: string;
  /** Header values given as an array are sent as separate header fields. */
  headers?: OutgoingHttpHeaders;
  localAddress?: string;
  /** TLS only: the CA the server certificate is checked against. */
  ca?: string;
  /** TLS only: the client certificate (a PEM, or a PEM bundle to present a chain) and its key. */
  cert?: string;
  key?: string;
  /** How many requests to send on the session, one stream each, one after the other (default 1). */
  streams?: number;
}

/** The responses of every stream of one session, in order. */
export async function request2(options: Http2ClientRequest): Promise<ClientResponse[]> {
  const url = new URL(options.url);
  const session = http2.connect(url.origin, {
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
    ...(options.cert ? { cert: options.cert } : {}),
    ...(options.key ? { key: options.key } : {}),
  });
  try {
    const responses: ClientResponse[] = [];
    for (let i = 0; i < (options.streams ?? 1); i++) {
      responses.push(await stream(session, options.path ?? '/', options.headers ?? {}));
    }
    return responses;
  } finally {
    session.close();
  }
}

function stream(
  session: http2.ClientHttp2Session,
  path: string,
  headers: OutgoingHttpHeaders,
): Promise<ClientResponse> {
  return new Promise<ClientResponse>((resolve, reject) => {
    const onSessionError = (error: Error): void => reject(error);
    session.once('error', onSessionError);
    const req = session.request({ ':method': 'GET', ':path': path, ...headers });
    let status = 0;
    const received: IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (fields) => {
      status = Number(fields[':status']);
      for (const [name, value] of Object.entries(fields)) if (!name.startsWith(':')) received[name] = value as string;
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      session.off('error', onSessionError);
      resolve({ status, headers: received, text: Buffer.concat(chunks).toString('utf8') });
    });
    req.end();
  });
}
