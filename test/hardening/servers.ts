/**
 * Real servers for the hardening tests, one per adapter, with what the conformance harness does
 * not offer: the listening host (`::` for IPv4-mapped peers), a raised header-size limit (1 MB
 * values), and raw requests. Every app answers `GET /whoami` with the attached certificate's
 * fingerprint, source and verification, or `{ cert: null }`.
 */
import http from 'node:http';
import https from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { ClientCertificate, ClientCertOptions } from '../../packages/core/src/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';

export type AdapterName = 'express' | 'koa' | 'fastify';
export const ADAPTERS: readonly AdapterName[] = ['express', 'koa', 'fastify'];

export interface Identity {
  sha256: string | null;
  source?: string | null;
  verifiedBy?: string | null;
}

const identity = (cert: ClientCertificate | null | undefined): Identity =>
  cert ? { sha256: cert.fingerprints.sha256, source: cert.source, verifiedBy: cert.verifiedBy } : { sha256: null };

export interface ServerSpec {
  options: ClientCertOptions;
  /** Default 127.0.0.1; `::` accepts IPv4 peers as IPv4-mapped IPv6 addresses. */
  host?: string;
  tls?: https.ServerOptions;
  /** Node's limit for the whole header section (default 16 KiB). */
  maxHeaderSize?: number;
}

export interface Running {
  port: number;
  /** `http://127.0.0.1:port` or `https://...` (or `[::1]` when asked). */
  url: (host?: string) => string;
  /** The Node server, e.g. to watch TLS sessions. */
  server: http.Server | https.Server;
  close(): Promise<void>;
}

function nodeServer(spec: ServerSpec, handler: http.RequestListener): http.Server | https.Server {
  const common = spec.maxHeaderSize ? { maxHeaderSize: spec.maxHeaderSize } : {};
  return spec.tls ? https.createServer({ ...common, ...spec.tls }, handler) : http.createServer(common, handler);
}

function handlerFor(adapter: AdapterName, options: ClientCertOptions): http.RequestListener | 'fastify' {
  const quiet = { logger: false as const, ...options };
  if (adapter === 'express') {
    const app = express();
    app.use(expressClientCert(quiet));
    app.get('/whoami', (req, res) => void res.json(identity(req.clientCert)));
    return app;
  }
  if (adapter === 'koa') {
    const app = new Koa();
    app.use(koaClientCert(quiet));
    app.use(async (ctx) => {
      ctx.body = identity(ctx.clientCert);
    });
    return app.callback();
  }
  return 'fastify';
}

export async function startServer(adapter: AdapterName, spec: ServerSpec): Promise<Running> {
  const host = spec.host ?? '127.0.0.1';
  let server: http.Server | https.Server;
  let closeApp: () => Promise<void>;
  const handler = handlerFor(adapter, spec.options);
  if (handler === 'fastify') {
    let created: http.Server | https.Server | undefined;
    const app = Fastify({
      serverFactory: (h) => {
        created = nodeServer(spec, h);
        return created;
      },
    });
    await app.register(fastifyClientCert, { logger: false, ...spec.options });
    app.get('/whoami', async (request) => identity(request.clientCert));
    await app.listen({ port: 0, host });
    server = created!;
    closeApp = async () => {
      server.closeAllConnections();
      await app.close();
    };
  } else {
    server = nodeServer(spec, handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    closeApp = () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  }
  const { port } = server.address() as AddressInfo;
  const scheme = spec.tls ? 'https' : 'http';
  return {
    port,
    server,
    url: (h = '127.0.0.1') => `${scheme}://${h.includes(':') ? `[${h}]` : h}:${port}`,
    close: closeApp,
  };
}

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * Sends header lines exactly as given over plain TCP (one request, `Connection: close`): for
 * values Node's client refuses to write (control characters, duplicates in a chosen order).
 */
export function rawRequest(
  port: number,
  headerLines: readonly string[],
  localAddress = '127.0.0.1',
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(
        Buffer.from(
          `GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${headerLines.map((l) => `${l}\r\n`).join('')}\r\n`,
          'latin1',
        ),
      );
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, body: text.slice(text.indexOf('\r\n\r\n') + 4) });
    });
  });
}

/** The problem `code` of a response body, or its identity, whichever it is. */
export function parseBody(text: string): { code?: string; sha256?: string | null; source?: string | null } {
  try {
    return JSON.parse(text) as { code?: string; sha256?: string | null };
  } catch {
    return {};
  }
}
