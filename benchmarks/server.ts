/**
 * One framework's benchmark servers, all in this process (a separate process from the load
 * generator): started by run.ts, which reads the ports from the line of stdout starting with `PORTS `.
 *
 *   node --conditions=@clientcert/source --import tsx benchmarks/server.ts <express|koa|fastify> <fixtures.json>
 *
 * Every variant answers `GET /` with 200: "ok", or the caller's CN where a route reads it. Variants:
 * - bare-http / bare-https / bare-h2: the framework alone (HTTPS and HTTP/2 over TLS: requestCert,
 *   the test CA as `ca`), "ok";
 * - xfcc: HTTP, `source: 'xfcc'`, `ca`, `trustProxy: '127.0.0.1'`, a subject rule, "ok";
 * - tls: HTTPS, `source: 'tls'`, `ca`, a subject rule (decided once per connection), "ok";
 * - xfcc-cn: HTTP, the default options for a sidecar (`source: 'xfcc'`, `trustProxy: 'loopback'`,
 *   `ca`, no rules), answering `clientCert.subject.get('CN')`;
 * - tls-cn: HTTPS, `source: 'tls'`, `ca`, no rules, answering the CN;
 * - tls-h2 (koa, fastify): HTTP/2 over TLS, `source: 'tls'`, `ca`, `mode: 'accept'` (so that one
 *   endpoint serves clients with a certificate, verified as in require mode, and without), answering
 *   the CN or "anonymous";
 * - noop-https: HTTPS with one middleware (hook) that does nothing: what any middleware costs;
 * - express only: cca (client-certificate-auth) and passport (passport-client-cert), on HTTPS.
 * Over IPC: `cpu` answers the process's CPU usage; `profile-start` / `{ profileTo }` run the V8
 * profiler around one load run (`pnpm bench -- --profile`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ClientCertificate, ClientCertOptions } from '../packages/core/src/index.js';
import { type Framework, isH2, isHttps, VARIANTS, type Variant } from './config.js';
import type { Fixtures } from './fixtures.js';

const framework = process.argv[2] as Framework;
const fixtures = JSON.parse(readFileSync(process.argv[3]!, 'utf8')) as Fixtures;
const ca = readFileSync(fixtures.caFile, 'utf8');
const tlsOptions: https.ServerOptions = {
  cert: readFileSync(fixtures.serverCertFile),
  key: readFileSync(fixtures.serverKeyFile),
  ca,
  requestCert: true,
  rejectUnauthorized: false, // the middleware (or the peer package) decides, as in production set-ups
};
const xfccOptions = {
  source: 'xfcc' as const,
  ca,
  trustProxy: '127.0.0.1',
  rules: { subject: { CN: fixtures.clientCN } },
};
const tlsSourceOptions = { source: 'tls' as const, ca, rules: { subject: { CN: fixtures.clientCN } } };

/** The middleware's options for a variant, or null for the variants without clientcert. */
function optionsOf(variant: Variant): ClientCertOptions | null {
  if (variant === 'xfcc') return xfccOptions;
  if (variant === 'tls') return tlsSourceOptions;
  if (variant === 'xfcc-cn') return { source: 'xfcc', trustProxy: 'loopback', ca };
  if (variant === 'tls-cn') return { source: 'tls', ca };
  if (variant === 'tls-h2') return { source: 'tls', ca, mode: 'accept' };
  return null;
}

/** The variants whose route reads who the caller is, as an application using the identity does. */
const readsCN = (variant: Variant): boolean => variant === 'xfcc-cn' || variant === 'tls-cn' || variant === 'tls-h2';
const cnOf = (certificate: ClientCertificate | null | undefined): string =>
  certificate?.subject.get('CN') ?? 'anonymous';

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function listen(handler: Listener, variant: Variant): Promise<number> {
  let server: http.Server | https.Server | http2.Http2SecureServer;
  if (isH2(variant)) server = http2.createSecureServer(tlsOptions, handler as never);
  else if (isHttps(variant)) server = https.createServer(tlsOptions, handler);
  else server = http.createServer(handler);
  if (!isH2(variant)) (server as http.Server).keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function expressApp(variant: Variant): Promise<number> {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const options = optionsOf(variant);
  if (options) {
    const { clientCert } = await import('../packages/express/src/index.js');
    app.use(clientCert(options));
  } else if (variant === 'noop-https') {
    app.use((_req, _res, next) => next());
  } else if (variant === 'cca') {
    const { default: clientCertificateAuth } = await import('client-certificate-auth');
    app.use(clientCertificateAuth((cert) => cert.subject?.CN === fixtures.clientCN));
  } else if (variant === 'passport') {
    const { default: passport } = await import('passport');
    const { Strategy } = await import('passport-client-cert');
    passport.use(
      new Strategy((cert, done) => {
        if (cert.subject?.CN === fixtures.clientCN) done(null, { cn: cert.subject.CN });
        else done(null, false);
      }),
    );
    app.use(passport.initialize());
    app.use(passport.authenticate('client-cert', { session: false }));
  }
  if (readsCN(variant)) app.get('/', (req, res) => void res.send(cnOf(req.clientCert)));
  else app.get('/', (_req, res) => void res.send('ok'));
  return listen(app as unknown as Listener, variant);
}

async function koaApp(variant: Variant): Promise<number> {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  const options = optionsOf(variant);
  if (options) {
    const { clientCert } = await import('../packages/koa/src/index.js');
    app.use(clientCert(options));
  } else if (variant === 'noop-https') {
    app.use((_ctx, next) => next());
  }
  if (readsCN(variant)) app.use((ctx) => void (ctx.body = cnOf(ctx.state.clientCert)));
  else app.use((ctx) => void (ctx.body = 'ok'));
  return listen(app.callback(), variant);
}

async function fastifyApp(variant: Variant): Promise<number> {
  const { default: Fastify } = await import('fastify');
  // One type for all: the HTTPS and HTTP/2 instances differ only in their raw server types, which this code never touches.
  let app: FastifyInstance;
  if (isH2(variant)) app = Fastify({ http2: true, https: tlsOptions }) as unknown as FastifyInstance;
  else if (isHttps(variant))
    app = Fastify({ https: tlsOptions, keepAliveTimeout: 60_000 }) as unknown as FastifyInstance;
  else app = Fastify({ keepAliveTimeout: 60_000 });
  const options = optionsOf(variant);
  if (options) {
    const { clientCert } = await import('../packages/fastify/src/index.js');
    await app.register(clientCert, options);
  } else if (variant === 'noop-https') {
    app.addHook('onRequest', (_request, _reply, done) => done());
  }
  if (readsCN(variant)) app.get('/', async (request) => cnOf(request.clientCert));
  else app.get('/', async () => 'ok');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const start = { express: expressApp, koa: koaApp, fastify: fastifyApp }[framework];
  const ports: Partial<Record<Variant, number>> = {};
  for (const variant of VARIANTS[framework]) ports[variant] = await start(variant);
  process.stdout.write(`PORTS ${JSON.stringify(ports)}\n`);
}

/** The V8 profiler of this process, started and stopped by run.ts around one load run (`--profile`). */
let profiler: Session | null = null;

async function onMessage(message: 'cpu' | 'profile-start' | { profileTo: string }): Promise<unknown> {
  // run.ts asks for the process's CPU time before and after each load run: server CPU per request
  // is the measure the load generator (sharing the machine's cores) cannot distort.
  if (message === 'cpu') return process.cpuUsage();
  if (message === 'profile-start') {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
    return 'profiling';
  }
  const { profile } = await profiler!.post('Profiler.stop');
  writeFileSync(message.profileTo, JSON.stringify(profile));
  profiler!.disconnect();
  return 'profiled';
}
process.on('message', (message: Parameters<typeof onMessage>[0]) => {
  onMessage(message).then((answer) => process.send?.(answer));
});

const exit = (): void => process.exit(0);
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
