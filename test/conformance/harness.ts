/**
 * One small server factory per framework. Every factory builds the same app:
 *
 * - the clientCert middleware app-wide with the scenario's options;
 * - `GET /whoami` answering the attached certificate (see `whoami`);
 * - the scenario's extra routes, each with its own configuration: express and koa put a
 *   middleware on the route (or declare the route before the app-wide middleware to opt out),
 *   fastify uses the route's `config: { clientCert: {...} | false }`.
 *
 * Servers listen on 127.0.0.1, port 0, over HTTPS when TLS options are given, else plain HTTP;
 * with `http2`, over HTTP/2 instead: TLS `h2`, or cleartext `h2c` (node:http2, the compatibility
 * API koa and fastify run on). Express does not run on node:http2 (see `expressAdapter`).
 *
 * Each factory takes the framework module, so that the same table runs on every supported major
 * (`FRAMEWORKS`): express 5 and 4, koa 3 and 2, fastify 5 and 4. The older majors are the
 * workspace's `express4`, `koa2` and `fastify4` aliases, typed as the current ones (their runtime
 * API, as used here, is the same).
 */
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type Express from 'express';
import type FastifyFactory from 'fastify';
import type { FastifyInstance } from 'fastify';
import type KoaApplication from 'koa';
import type { ClientCertificate, ClientCertOptions } from '../../packages/core/src/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';

/** What `GET /whoami` (and every extra route) answers. */
export type Whoami =
  | { cert: null }
  | {
      subject: string;
      issuer: string;
      sha256: string;
      serial: string;
      source: string | null;
      verifiedBy: string | null;
      spiffeId: string | null;
      san: { dns: string[]; uri: string[]; email: string[]; ip: string[] };
      chainLength: number;
      authorization: { pin: string | null; identity: string | null } | null;
    };

export function whoami(cert: ClientCertificate | null | undefined): Whoami {
  if (!cert) return { cert: null };
  return {
    subject: cert.subject.rfc4514,
    issuer: cert.issuer.rfc4514,
    sha256: cert.fingerprints.sha256,
    serial: cert.serialNumber,
    source: cert.source,
    verifiedBy: cert.verifiedBy,
    spiffeId: cert.spiffeId,
    san: { dns: [...cert.san.dns], uri: [...cert.san.uri], email: [...cert.san.email], ip: [...cert.san.ip] },
    chainLength: cert.chain.length,
    authorization: cert.authorization,
  };
}

export interface TlsServerOptions {
  cert: string;
  key: string;
  ca: string;
  requestCert: true;
  rejectUnauthorized: false;
}

export interface RouteSpec {
  path: string;
  /** Options for this route only, or `false` to opt the route out of client certificates. */
  clientCert: ClientCertOptions | false;
}

export interface AppSpec {
  /** App-wide options. The harness adds `logger: false` unless the options name a logger. */
  options: ClientCertOptions;
  routes?: RouteSpec[];
  /** HTTPS when given, else plain HTTP. */
  tls?: TlsServerOptions;
  /** HTTP/2 (h2 with `tls`, else h2c) instead of HTTP/1.1; only for adapters with `http2`. */
  http2?: boolean;
}

export interface RunningApp {
  /** e.g. `https://127.0.0.1:40123` */
  url: string;
  close(): Promise<void>;
}

export interface Adapter {
  name: 'express' | 'koa' | 'fastify';
  /** The framework version it runs on, e.g. `5.3.0`. */
  version: string;
  /** Whether the framework runs on node:http2 (`AppSpec.http2`). */
  http2: boolean;
  start(spec: AppSpec): Promise<RunningApp>;
  /**
   * Construct an app with these options, app-wide or on one route, as far as the framework needs
   * to validate them (express/koa: creating the middleware; fastify: `register` + `ready`).
   * Rejects with the error the adapter threw.
   */
  construct(options: unknown, where: 'app' | 'route'): Promise<void>;
}

const HOST = '127.0.0.1';

export function quiet(options: ClientCertOptions): ClientCertOptions {
  return 'logger' in options ? options : { logger: false, ...options };
}

export type AnyServer = http.Server | https.Server | http2.Http2Server | http2.Http2SecureServer;

/** `server` listening on HOST, port 0, as `running` describes it. */
export async function listen(server: AnyServer, secure: boolean): Promise<RunningApp> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return running(server, secure);
}

/**
 * A server on HOST, listening or about to (a framework's own `serve` may have called listen), as
 * the table drives it: its URL, and a close that also ends kept-alive connections and HTTP/2
 * sessions (HTTP/2 servers have no closeAllConnections()).
 */
export async function running(server: AnyServer, secure: boolean): Promise<RunningApp> {
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (session: http2.Http2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${secure ? 'https' : 'http'}://${HOST}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
        if ('closeAllConnections' in server) server.closeAllConnections();
        for (const session of sessions) session.destroy();
      }),
  };
}

function nodeServer(spec: AppSpec, handler: http.RequestListener): AnyServer {
  if (spec.http2) {
    // The compatibility API hands the same (req, res) shape to the framework's handler.
    const h2Handler = handler as unknown as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;
    return spec.tls ? http2.createSecureServer(spec.tls, h2Handler) : http2.createServer(h2Handler);
  }
  return spec.tls ? https.createServer(spec.tls, handler) : http.createServer(handler);
}

/**
 * Express 4 and 5 do not run on node:http2: they re-parent each request and response onto
 * prototypes derived from node:http's IncomingMessage and ServerResponse, which drops the
 * Http2ServerRequest accessors (`req.socket` is undefined, reading the body throws an uncaught
 * error, the response never ends) before any middleware runs.
 */
function expressAdapter(express: typeof Express, version: string): Adapter {
  return {
    name: 'express',
    version,
    http2: false,
    async start(spec) {
      if (spec.http2) throw new Error('express does not run on node:http2');
      const app = express();
      // Opting out in express: declare the route before the app-wide middleware.
      for (const route of spec.routes ?? []) {
        if (route.clientCert === false) app.get(route.path, (req, res) => void res.json(whoami(req.clientCert)));
      }
      app.use(expressClientCert(quiet(spec.options)));
      app.get('/whoami', (req, res) => void res.json(whoami(req.clientCert)));
      for (const route of spec.routes ?? []) {
        if (route.clientCert !== false) {
          app.get(
            route.path,
            expressClientCert(quiet(route.clientCert)),
            (req, res) => void res.json(whoami(req.clientCert)),
          );
        }
      }
      return listen(nodeServer(spec, app), spec.tls !== undefined);
    },
    async construct(options, where) {
      const app = express();
      if (where === 'app') app.use(expressClientCert(options as ClientCertOptions));
      else app.get('/route', expressClientCert(options as ClientCertOptions), (_req, res) => void res.end());
    },
  };
}

function koaAdapter(Koa: typeof KoaApplication, version: string): Adapter {
  return {
    name: 'koa',
    version,
    http2: true,
    async start(spec) {
      const app = new Koa();
      const answer = (ctx: KoaApplication.Context): void => {
        // The koa contract: the same certificate (or null) on ctx and on ctx.state.
        if (ctx.clientCert !== ctx.state.clientCert) {
          ctx.status = 500;
          ctx.body = { error: 'ctx.clientCert and ctx.state.clientCert differ' };
          return;
        }
        ctx.body = whoami(ctx.clientCert);
      };
      // Koa has no router: routes are path checks. Opting out: answer before the app-wide middleware.
      const optedOut = new Set((spec.routes ?? []).filter((r) => r.clientCert === false).map((r) => r.path));
      app.use(async (ctx, next) => {
        if (ctx.method === 'GET' && optedOut.has(ctx.path)) return answer(ctx);
        await next();
      });
      app.use(koaClientCert(quiet(spec.options)));
      const perRoute = new Map<string, KoaApplication.Middleware>();
      for (const route of spec.routes ?? []) {
        if (route.clientCert !== false) perRoute.set(route.path, koaClientCert(quiet(route.clientCert)));
      }
      app.use(async (ctx, next) => {
        if (ctx.method !== 'GET') return next();
        if (ctx.path === '/whoami') return answer(ctx);
        const middleware = perRoute.get(ctx.path);
        if (middleware) return middleware(ctx, async () => answer(ctx));
        await next();
      });
      return listen(nodeServer(spec, app.callback()), spec.tls !== undefined);
    },
    async construct(options, where) {
      const app = new Koa();
      const middleware = koaClientCert(options as ClientCertOptions);
      if (where === 'app') app.use(middleware);
      else app.use(async (ctx, next) => (ctx.path === '/route' ? middleware(ctx, next) : next()));
    },
  };
}

function fastifyAdapter(Fastify: typeof FastifyFactory, version: string): Adapter {
  return {
    name: 'fastify',
    version,
    http2: true,
    async start(spec) {
      // One type for all: the routes and hooks do not depend on the server flavour.
      const options = spec.http2
        ? { http2: true as const, ...(spec.tls ? { https: spec.tls } : {}) }
        : spec.tls
          ? { https: spec.tls }
          : {};
      const app = Fastify(options as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
      try {
        await app.register(fastifyClientCert, quiet(spec.options));
        app.get('/whoami', async (request) => whoami(request.clientCert));
        for (const route of spec.routes ?? []) {
          const config = { clientCert: route.clientCert === false ? (false as const) : quiet(route.clientCert) };
          app.get(route.path, { config }, async (request) => whoami(request.clientCert));
        }
        await app.listen({ port: 0, host: HOST });
      } catch (error) {
        await app.close().catch(() => undefined);
        throw error;
      }
      const { port } = app.server.address() as AddressInfo;
      return {
        url: `${spec.tls ? 'https' : 'http'}://${HOST}:${port}`,
        close: async () => {
          await app.close();
        },
      };
    },
    async construct(options, where) {
      const app = Fastify();
      try {
        if (where === 'app') {
          app.register(fastifyClientCert, options as ClientCertOptions);
        } else {
          // Route settings are validated when the route is declared after the plugin has loaded.
          await app.register(fastifyClientCert, { logger: false });
          app.get('/route', { config: { clientCert: options as ClientCertOptions } }, async () => ({}));
        }
        await app.ready();
      } finally {
        await app.close().catch(() => undefined);
      }
    },
  };
}

const require = createRequire(import.meta.url);
const versionOf = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;

/** One set of framework majors and its three adapters. */
export interface Frameworks {
  /** e.g. `express 5.3.0, koa 3.3.0, fastify 5.12.8` */
  label: string;
  adapters: readonly Adapter[];
}

function frameworks(names: { express: string; koa: string; fastify: string }): Frameworks {
  const list = [
    expressAdapter(require(names.express) as typeof Express, versionOf(names.express)),
    koaAdapter(require(names.koa) as typeof KoaApplication, versionOf(names.koa)),
    fastifyAdapter(require(names.fastify) as typeof FastifyFactory, versionOf(names.fastify)),
  ];
  return { label: list.map((a) => `${a.name} ${a.version}`).join(', '), adapters: list };
}

/** The current majors (the frameworks' own names), then the previous ones (the workspace aliases). */
export const FRAMEWORKS: readonly Frameworks[] = [
  frameworks({ express: 'express', koa: 'koa', fastify: 'fastify' }),
  frameworks({ express: 'express4', koa: 'koa2', fastify: 'fastify4' }),
];

/** The adapters on the current majors. */
export const adapters: readonly Adapter[] = FRAMEWORKS[0]!.adapters;
