// Compiled by `tsc` (npm test's type check), never run: `principal` is called with each
// framework's own request, its user is typed where each adapter puts it, and its shape is checked.
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import type { AuthResult, ClientCertUser } from '../../packages/core/src/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as honoClientCert } from '../../packages/hono/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const assertType = <T extends true>(_proof?: T): void => undefined;

const app = express();
// The context is express's Request, without annotations.
app.use(
  expressClientCert({ principal: (certificate, req) => ({ cn: certificate.subject.get('CN'), path: req.path }) }),
);
app.get('/', (req, res) => {
  assertType<Equals<typeof req.user, Express.User | undefined>>();
  res.end();
});
expressClientCert({ principal: { map: async () => null, cache: true }, principalProperty: 'account' });
// @ts-expect-error cache is a boolean
expressClientCert({ principal: { map: () => null, cache: 'yes' } });

const koa = new Koa();
koa.use(koaClientCert({ principal: (_certificate, ctx) => ({ host: ctx.host }) }));
koa.use((ctx) => {
  assertType<Equals<typeof ctx.state.user, ClientCertUser | undefined>>();
});

const fastify = Fastify();
void fastify.register(fastifyClientCert, { principal: (_certificate, request) => ({ url: request.url }) });

const hono = new Hono();
hono.use(honoClientCert({ principal: (_certificate, c) => ({ path: c.req.path }) }));
hono.get('/', (c) => {
  const user = c.get('user');
  assertType<Equals<typeof user, ClientCertUser | undefined>>();
  return c.text('ok');
});

// The result the core hands the adapters carries the user.
declare const result: AuthResult;
if (result.ok) assertType<Equals<typeof result.principal, ClientCertUser | undefined>>();
