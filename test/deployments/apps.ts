/**
 * What the deployment tests need beside the conformance harness (test/conformance/harness.ts):
 *
 * - the same app (`GET /whoami` answering the harness's `whoami`) listening on `::`, as
 *   `app.listen(port)` does by default: IPv6 peers reach it, and IPv4 peers arrive as
 *   IPv4-mapped addresses (`::ffff:10.213.0.2`). The harness listens on 127.0.0.1 only, where
 *   IPv4 peers arrive as themselves; the tests run both.
 * - a logger that keeps the lines, to assert the start-up line and the warnings;
 * - one GET from a chosen local address, IPv4 or IPv6, summed up as one exact `outcome` string
 *   (`403 client_certificate_required`, `200 CN=alice source=xfcc verifiedBy=chain`, `200 no certificate`).
 */

import http, { type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { ClientCertOptions, Logger } from '../../packages/core/src/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';
import { type Adapter, type Whoami, whoami } from '../conformance/harness.js';
import { type ClientResponse, request } from '../helpers/http-client.js';

export type AdapterName = Adapter['name'];

export interface Listening {
  port: number;
  close(): Promise<void>;
}

/** The harness's app (app-wide middleware, `GET /whoami`) over plain HTTP on `::`, port 0. */
export async function startDualStack(adapter: AdapterName, options: ClientCertOptions): Promise<Listening> {
  const quiet = 'logger' in options ? options : { logger: false as const, ...options };
  if (adapter === 'fastify') {
    const app = Fastify();
    try {
      await app.register(fastifyClientCert, quiet);
      app.get('/whoami', async (req) => whoami(req.clientCert));
      await app.listen({ port: 0, host: '::' });
    } catch (error) {
      await app.close().catch(() => undefined);
      throw error;
    }
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  }
  let handler: http.RequestListener;
  if (adapter === 'express') {
    const app = express();
    app.use(expressClientCert(quiet));
    app.get('/whoami', (req, res) => void res.json(whoami(req.clientCert)));
    handler = app;
  } else {
    const app = new Koa();
    app.use(koaClientCert(quiet));
    app.use(async (ctx) => {
      ctx.body = whoami(ctx.clientCert);
    });
    handler = app.callback();
  }
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '::', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export interface CapturedLog {
  logger: Logger;
  info: string[];
  warn: string[];
}

/** A logger that keeps every line (debug lines are not wanted here and go nowhere). */
export function captureLog(): CapturedLog {
  const info: string[] = [];
  const warn: string[] = [];
  return {
    info,
    warn,
    logger: { info: (m) => void info.push(m), warn: (m) => void warn.push(m), debug: () => undefined },
  };
}

/** The one start-up line (`clientcert: mode …`), asserting there is exactly one. */
export function startupLine(log: CapturedLog): string {
  const lines = log.info.filter((line) => line.startsWith('clientcert: mode '));
  expect(lines, `info lines: ${JSON.stringify(log.info)}`).to.have.length(1);
  return lines[0]!;
}

export const MINT = 'who can mint an identity: ';

/** The start-up line's last clause, exactly: `who can mint an identity: <who>`. */
export function expectWhoCanMint(log: CapturedLog, who: string): void {
  const line = startupLine(log);
  const at = line.indexOf(MINT);
  expect(at, line).to.be.greaterThan(-1);
  expect(line.slice(at)).to.equal(MINT + who);
}

/** The warnings logged with this code (`… (warning <code>; see …)`). */
export function warningsCoded(log: CapturedLog, code: string): string[] {
  return log.warn.filter((line) => line.includes(`(warning ${code}; see `));
}

/** A response as one exact string: status, then the problem code or who the app saw. */
export function outcome(
  res: ClientResponse | { status: number; headers: ClientResponse['headers']; text: string },
): string {
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    return `${res.status} (not JSON) ${res.text.slice(0, 120)}`;
  }
  if (res.status === 200) {
    const seen = body as Whoami;
    if ('cert' in seen) return '200 no certificate';
    return `200 ${seen.subject} source=${seen.source} verifiedBy=${seen.verifiedBy}`;
  }
  const type = String(res.headers['content-type'] ?? '');
  const problem = body as { code?: string; status?: number };
  if (!type.startsWith('application/problem+json') || problem.status !== res.status)
    return `${res.status} (not a problem) ${res.text.slice(0, 120)}`;
  return `${res.status} ${problem.code}`;
}

/** A plain-HTTP GET /whoami to `host` (127.0.0.1 or ::1), from `localAddress`, on a fresh connection. */
export async function getFrom(
  host: string,
  port: number,
  localAddress: string | undefined,
  headers: OutgoingHttpHeaders,
): Promise<string> {
  if (!host.includes(':')) {
    return outcome(
      await request({
        url: `http://${host}:${port}`,
        path: '/whoami',
        headers,
        ...(localAddress ? { localAddress } : {}),
      }),
    );
  }
  // The shared client takes a bracketed URL host for a name; IPv6 goes here.
  const res = await new Promise<ClientResponse>((resolve, reject) => {
    const req = http.request(
      { host, port, path: '/whoami', headers, agent: false, ...(localAddress ? { localAddress } : {}) },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (chunk: Buffer) => chunks.push(chunk));
        r.on('error', reject);
        r.on('end', () =>
          resolve({ status: r.statusCode ?? 0, headers: r.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
  return outcome(res);
}

/** Sets environment variables while `body` runs (e.g. an app's construction), then restores them exactly. */
export async function withEnv<T>(vars: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return await body();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
