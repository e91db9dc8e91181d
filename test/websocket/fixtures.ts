/**
 * What the WebSocket tests share: the certificates, a server on port 0 (HTTPS with an optional
 * client certificate, or plain HTTP behind a proxy), and what a rejected handshake's answer says.
 *
 * The proxy is 127.0.0.2 (`trustProxy`); 127.0.0.1 is anyone else who can reach the app. Linux
 * routes all of 127/8 over loopback, so a client binds either with `localAddress`.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ClientOptions, WebSocket } from 'ws';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';

export const PROXY = '127.0.0.2';
export const STRANGER = '127.0.0.1';
export const ALICE = 'CN=alice,O=Acme';

export interface Fixtures {
  root: TestCA;
  /** A client of the app's CA. */
  alice: TestCertificate;
  /** A client of another CA: a real certificate, and a real key, that the app does not trust. */
  foreign: TestCertificate;
  /** The server's certificate for 127.0.0.1, from the app's CA. */
  server: TestCertificate;
}

let made: Promise<Fixtures> | undefined;

export function fixtures(): Promise<Fixtures> {
  return (made ??= (async () => {
    const [root, other] = await Promise.all([
      createCA({ subject: 'CN=WebSocket Clients CA' }),
      createCA({ subject: 'CN=Some Other CA' }),
    ]);
    const [alice, foreign, server] = await Promise.all([
      root.issue({ subject: ALICE }),
      other.issue({ subject: 'CN=alice,O=Acme' }),
      root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } }),
    ]);
    return { root, alice, foreign, server };
  })());
}

export interface Served {
  server: http.Server;
  /** `ws://127.0.0.1:port` or `wss://…`. */
  url: string;
  close(): Promise<void>;
}

/**
 * An HTTPS server asking for (not requiring) a client certificate, so that a missing or foreign
 * one reaches the app and is answered with a problem; or, with `tls` false, plain HTTP.
 */
export async function serve(f: Fixtures, tls: boolean): Promise<Served> {
  const server = tls
    ? https.createServer({
        cert: f.server.cert,
        key: f.server.key,
        ca: f.root.cert,
        requestCert: true,
        rejectUnauthorized: false,
      })
    : http.createServer();
  server.on('request', (_req, res) => res.writeHead(404).end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A refused handshake as `status content-type cache-control code`, after checking the body's status agrees. */
export function refusal(status: number, headers: http.IncomingHttpHeaders, body: string): string {
  let parsed: { status?: unknown; code?: unknown };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return `${status} ${headers['content-type']} (body not JSON: ${body.slice(0, 80)})`;
  }
  const agrees = parsed.status === status ? '' : ` (body status ${String(parsed.status)})`;
  return `${status} ${headers['content-type']} ${headers['cache-control']} ${String(parsed.code)}${agrees}`;
}

/** `403 application/problem+json no-store <code>`: what every refusal before the upgrade must look like. */
export const refused = (code: string, status = 403): string => `${status} application/problem+json no-store ${code}`;

/**
 * One WebSocket handshake with a real `ws` client: `open <first message>` once the server speaks,
 * the refusal (see `refusal`) when it answers the upgrade with anything but 101, or `error <message>`.
 */
export function connect(url: string, options: ClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.once('message', (data) => {
      resolve(`open ${String(data)}`);
      ws.close();
    });
    ws.once('unexpected-response', (_request, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(refusal(res.statusCode ?? 0, res.headers, body)));
    });
    ws.on('error', (error) => resolve(`error ${error.message}`));
  });
}
