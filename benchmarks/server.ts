/**
 * One framework's benchmark servers, all in this process (a separate process from the load
 * generator): started by run.ts, which reads the ports from the line of stdout starting with `PORTS `.
 *
 *   node --conditions=@clientcert/source --import tsx benchmarks/server.ts <express|koa|fastify> <fixtures.json>
 *
 * Every variant answers `GET /` with "ok" (200). Variants:
 * - bare-http / bare-https: the framework alone (HTTPS: requestCert, the test CA as `ca`);
 * - xfcc: HTTP, `source: 'xfcc'`, `ca`, `trustProxy: '127.0.0.1'`;
 * - tls: HTTPS, `source: 'tls'`, `ca` (decided once per connection);
 * - noop-https: HTTPS with one middleware (hook) that does nothing: what any middleware costs;
 * - express only: cca (client-certificate-auth) and passport (passport-client-cert), on HTTPS.
 * SIGTERM exits normally, so that `--cpu-prof` writes its profile.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type Framework, isHttps, VARIANTS, type Variant } from './config.js';
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

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function listen(handler: Listener, secure: boolean): Promise<number> {
  const server = secure ? https.createServer(tlsOptions, handler) : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function expressApp(variant: Variant): Promise<number> {
  const { default: express } = await import('express');
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  if (variant === 'xfcc' || variant === 'tls') {
    const { clientCert } = await import('../packages/express/src/index.js');
    app.use(clientCert(variant === 'xfcc' ? xfccOptions : tlsSourceOptions));
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
  app.get('/', (_req, res) => {
    res.send('ok');
  });
  return listen(app as unknown as Listener, isHttps(variant));
}

async function koaApp(variant: Variant): Promise<number> {
  const { default: Koa } = await import('koa');
  const app = new Koa();
  if (variant === 'xfcc' || variant === 'tls') {
    const { clientCert } = await import('../packages/koa/src/index.js');
    app.use(clientCert(variant === 'xfcc' ? xfccOptions : tlsSourceOptions));
  } else if (variant === 'noop-https') {
    app.use((_ctx, next) => next());
  }
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  return listen(app.callback(), isHttps(variant));
}

async function fastifyApp(variant: Variant): Promise<number> {
  const { default: Fastify } = await import('fastify');
  // One type for both: the HTTPS instance differs only in its raw server type, which this code never touches.
  const app = (isHttps(variant)
    ? Fastify({ https: tlsOptions, keepAliveTimeout: 60_000 })
    : Fastify({ keepAliveTimeout: 60_000 })) as unknown as FastifyInstance;
  if (variant === 'xfcc' || variant === 'tls') {
    const { clientCert } = await import('../packages/fastify/src/index.js');
    await app.register(clientCert, variant === 'xfcc' ? xfccOptions : tlsSourceOptions);
  } else if (variant === 'noop-https') {
    app.addHook('onRequest', (_request, _reply, done) => done());
  }
  app.get('/', async () => 'ok');
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

async function main(): Promise<void> {
  const start = { express: expressApp, koa: koaApp, fastify: fastifyApp }[framework];
  const ports: Partial<Record<Variant, number>> = {};
  for (const variant of VARIANTS[framework]) ports[variant] = await start(variant);
  process.stdout.write(`PORTS ${JSON.stringify(ports)}\n`);
}

// run.ts asks for the process's CPU time before and after each load run: server CPU per request
// is the measure the load generator (sharing the machine's cores) cannot distort.
process.on('message', () => process.send?.(process.cpuUsage()));

const exit = (): void => process.exit(0);
process.on('SIGTERM', exit);
process.on('SIGINT', exit);
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
