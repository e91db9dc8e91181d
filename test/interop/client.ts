/**
 * The real TLS client of the interop tests: a fresh connection per request (no pooled socket, no
 * TLS session resumption) to a proxy on 127.0.0.1, checking the proxy's certificate for
 * `localhost`, optionally presenting a client certificate, and sending any headers it likes (a
 * forged certificate header among them).
 *
 * SNI and Host are both `localhost`: Caddy with client authentication refuses a Host that differs
 * from the SNI (421), and a client that connects to an IP address sends no SNI at all.
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface ProxyRequest {
  port: number;
  path?: string;
  headers?: OutgoingHttpHeaders;
  /** The CA the proxy's server certificate is checked against. */
  ca: string;
  /** The client certificate to present, and its key. */
  cert?: string;
  key?: string;
}

export type ProxyResult =
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; text: string }
  /** No HTTP response: the connection failed (e.g. the proxy refused the certificate in the handshake). */
  | { kind: 'error'; code: string; message: string };

export function throughProxy(options: ProxyRequest): Promise<ProxyResult> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: ProxyResult): void => {
      if (!settled) {
        settled = true;
        resolve(result);
      }
    };
    const req = https.request(
      {
        host: '127.0.0.1',
        port: options.port,
        servername: 'localhost',
        path: options.path ?? '/whoami',
        method: 'GET',
        headers: { host: `localhost:${options.port}`, ...options.headers },
        agent: false,
        ca: options.ca,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error: NodeJS.ErrnoException) =>
          settle({ kind: 'error', code: error.code ?? 'ERR', message: error.message }),
        );
        res.on('end', () =>
          settle({
            kind: 'response',
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      settle({ kind: 'error', code: error.code ?? 'ERR', message: error.message }),
    );
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
    req.end();
  });
}
