/**
 * clientCertOf(req): the admitted certificate, typed non-null, behind mode 'require'; a TypeError
 * naming the mistake where a request can have none (mode 'accept' without a certificate).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../packages/core/src/testkit/index.js';
import { clientCert as expressClientCert, clientCertOf as expressClientCertOf } from '../packages/express/src/index.js';
import { clientCert as fastifyClientCert, clientCertOf as fastifyClientCertOf } from '../packages/fastify/src/index.js';
import { clientCert as koaClientCert, clientCertOf as koaClientCertOf } from '../packages/koa/src/index.js';
import { request } from './helpers/http-client.js';

const MISTAKE = 'clientCertOf() is for routes behind';

describe('clientCertOf: the certificate typed non-null', () => {
  let root: TestCA;
  let alice: TestCertificate;
  const servers: http.Server[] = [];

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice' });
  });
  after(() => {
    for (const server of servers) server.close();
  });

  async function listen(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** [with alice's certificate, without one] as `status text`. */
  async function both(url: string): Promise<string[]> {
    const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
    const answers = [];
    for (const sent of [headers, {}]) {
      const res = await request({ url, path: '/', localAddress: '127.0.0.1', headers: sent });
      answers.push(`${res.status} ${res.text}`);
    }
    return answers;
  }

  const options = () => ({ logger: false as const, mode: 'accept' as const, ca: root.cert, trustProxy: '127.0.0.1' });

  it('express', async () => {
    const app = express();
    app.use(expressClientCert(options()));
    app.get('/', (req, res) => {
      res.send(expressClientCertOf(req).subject.get('CN'));
    });
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(`${error.name}: ${error.message.includes(MISTAKE)}`);
    });
    expect(await both(await listen(app))).to.deep.equal(['200 alice', '500 TypeError: true']);
  });

  it('koa', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = 500;
        ctx.body = `${(error as Error).name}: ${(error as Error).message.includes(MISTAKE)}`;
      }
    });
    app.use(koaClientCert(options()));
    app.use((ctx) => {
      ctx.body = koaClientCertOf(ctx).subject.get('CN');
    });
    expect(await both(await listen(app.callback()))).to.deep.equal(['200 alice', '500 TypeError: true']);
  });

  it('fastify', async () => {
    const app = Fastify();
    await app.register(fastifyClientCert, options());
    app.get('/', async (req) => fastifyClientCertOf(req).subject.get('CN'));
    app.setErrorHandler(async (error: Error, _request, reply) =>
      reply.code(500).send(`${error.name}: ${error.message.includes(MISTAKE)}`),
    );
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      expect(await both(url)).to.deep.equal(['200 alice', '500 TypeError: true']);
    } finally {
      await app.close();
    }
  });
});
