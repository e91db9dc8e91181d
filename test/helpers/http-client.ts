/**
 * A tiny real HTTP/HTTPS client for tests: one fresh connection per request (`agent: false`, so no
 * pooled socket or TLS session outlives the request), an optional client certificate, and a
 * chosen local address so that tests can play a trusted proxy (127.0.0.1) or a stranger
 * (127.0.0.2; Linux routes all of 127/8 to loopback).
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface ClientRequest {
  /** Base URL of the server, e.g. `https://127.0.0.1:43211`. */
  url: string;
  path?: string;
  method?: string;
  /** Header values given as an array are sent as separate header lines. */
  headers?: OutgoingHttpHeaders;
  /** Source address of the connection (default: chosen by the OS, 127.0.0.1 on loopback). */
  localAddress?: string;
  /** HTTPS only: the CA the server certificate is checked against. */
  ca?: string;
  /** HTTPS only: the client certificate (a PEM, or a PEM bundle to present a chain) and its key. */
  cert?: string;
  key?: string;
}

export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export function request(options: ClientRequest): Promise<ClientResponse> {
  const url = new URL(options.path ?? '/', options.url);
  const common = {
    method: options.method ?? 'GET',
    host: url.hostname,
    port: url.port,
    path: url.pathname + url.search,
    headers: options.headers ?? {},
    agent: false as const,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  };
  return new Promise<ClientResponse>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
    };
    const req =
      url.protocol === 'https:'
        ? https.request(
            {
              ...common,
              ...(options.ca ? { ca: options.ca } : {}),
              ...(options.cert ? { cert: options.cert } : {}),
              ...(options.key ? { key: options.key } : {}),
            },
            onResponse,
          )
        : http.request(common, onResponse);
    req.on('error', reject);
    req.end();
  });
}
