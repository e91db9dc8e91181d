// Compiled by `tsc` (npm test's type check), never run: proves that importing an adapter types
// `clientCert` on the framework's request, and that options are checked.
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type { ClientCertificate } from '../../packages/core/src/index.js';
import {
  clientCert as expressClientCert,
  clientCertOf as expressClientCertOf,
} from '../../packages/express/src/index.js';
import {
  clientCert as fastifyClientCert,
  clientCertOf as fastifyClientCertOf,
} from '../../packages/fastify/src/index.js';
import { clientCert as koaClientCert, clientCertOf as koaClientCertOf } from '../../packages/koa/src/index.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T): void => undefined;

const app = express();
app.use(expressClientCert({ mode: 'require' }));
app.get('/', (req, res) => {
  assertType<Equals<typeof req.clientCert, ClientCertificate | null | undefined>>();
  res.send(req.clientCert?.subject.rfc4514);
});
// @ts-expect-error mode is one of require | accept | ignore
expressClientCert({ mode: 'sometimes' });
// @ts-expect-error unknown options are type errors too
expressClientCert({ colour: 'blue' });

const koa = new Koa();
koa.use(koaClientCert({ mode: 'accept', source: ['xfcc', 'tls'], trustProxy: '10.0.0.0/8' }));
koa.use((ctx) => {
  assertType<Equals<typeof ctx.clientCert, ClientCertificate | null | undefined>>();
  assertType<Equals<typeof ctx.state.clientCert, ClientCertificate | null | undefined>>();
  ctx.body = ctx.clientCert?.fingerprints.sha256;
});

const fastify = Fastify();
void fastify.register(fastifyClientCert, { mode: 'require', ca: [Buffer.from('')], xfcc: { element: 'first' } });
fastify.get('/', { config: { clientCert: { mode: 'accept' } } }, async (request) => {
  assertType<Equals<typeof request.clientCert, ClientCertificate | null>>();
  return request.clientCert?.spiffeId;
});
fastify.get('/health', { config: { clientCert: false } }, async () => 'ok');
// @ts-expect-error per-route option values are checked like the plugin's. (A misspelt key is not:
// fastify infers the route's config type from the literal; the plugin refuses it when the route is declared.)
fastify.get('/typo', { config: { clientCert: { mode: 'required' } } }, async () => 'ok');
// @ts-expect-error source names are checked
void fastify.register(fastifyClientCert, { source: 'carrier-pigeon' });

// clientCertOf: the certificate typed non-null, for handlers behind mode 'require'.
app.get('/strict', (req, res) => {
  const certificate = expressClientCertOf(req);
  assertType<Equals<typeof certificate, ClientCertificate>>();
  res.send(certificate.subject.rfc4514);
});
new Koa().use((ctx) => {
  ctx.body = koaClientCertOf(ctx).subject.rfc4514;
  assertType<Equals<ReturnType<typeof koaClientCertOf>, ClientCertificate>>();
});
Fastify().get('/strict', async (request) => {
  assertType<Equals<ReturnType<typeof fastifyClientCertOf>, ClientCertificate>>();
  return fastifyClientCertOf(request).subject.rfc4514;
});
