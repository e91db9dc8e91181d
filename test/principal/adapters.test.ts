/**
 * `principal` on every adapter, real servers on port 0: the mapped user on the framework's usual
 * place (req.user, ctx.state.user, request.user, c.get('user')), the framework's own request as
 * the mapping's context, null as a 403 that never echoes the user, a throw as the framework's
 * 500, never called for a refused certificate or none, and called per request unless cached.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import type {
  ClientCertificate,
  ClientCertUser,
  DecisionEvent,
  PrincipalOption,
} from '../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { clientCert as fastifyClientCert } from '../../packages/fastify/src/index.js';
import { clientCert as honoClientCert } from '../../packages/hono/src/index.js';
import { clientCert as koaClientCert } from '../../packages/koa/src/index.js';
import { request } from '../helpers/http-client.js';
import { Hono, serve } from '../hono/deps.js';

/** The mapping under test, given the certificate and what the framework's context says of `x-tenant`. */
type Mapper = (certificate: ClientCertificate, tenant: string | undefined) => unknown;

interface Setup {
  map: Mapper;
  cache?: boolean;
  mode?: 'require' | 'accept';
  property?: string;
}

/** One framework: serves `/` answering `{ user }` (the value at the property, or null when unset). */
type Serve = (setup: Setup, options: object, servers: http.Server[]) => Promise<string>;

/** Wrap the test's mapping as the adapter's own `principal`, reading the tenant from its context. */
function principalOf<C>(setup: Setup, tenant: (context: C) => string | undefined): PrincipalOption<C> {
  const map = (certificate: ClientCertificate, context: C) =>
    setup.map(certificate, tenant(context)) as ClientCertUser | null | Promise<ClientCertUser | null>;
  return setup.cache ? { map, cache: true } : map;
}

function coreOptions(setup: Setup, options: object): object {
  return {
    ...options,
    mode: setup.mode ?? 'require',
    ...(setup.property === undefined ? {} : { principalProperty: setup.property }),
  };
}

async function listen(server: http.Server, servers: http.Server[]): Promise<string> {
  servers.push(server);
  if (!server.listening) await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const FRAMEWORKS: Record<string, Serve> = {
  express: (setup, options, servers) => {
    const app = express();
    const principal = principalOf<express.Request>(setup, (req) => req.get('x-tenant'));
    app.use(expressClientCert({ ...coreOptions(setup, options), principal }));
    app.get('/', (req, res) => {
      res.json({ user: (req as unknown as Record<string, unknown>)[setup.property ?? 'user'] ?? null });
    });
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).send(`app error: ${error.message}`);
    });
    return listen(app.listen(0, '127.0.0.1'), servers);
  },
  koa: (setup, options, servers) => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = 500;
        ctx.body = `app error: ${(error as Error).message}`;
      }
    });
    const principal = principalOf<Koa.Context>(setup, (ctx) => ctx.get('x-tenant') || undefined);
    app.use(koaClientCert({ ...coreOptions(setup, options), principal }));
    app.use((ctx) => {
      ctx.body = { user: (ctx.state as Record<string, unknown>)[setup.property ?? 'user'] ?? null };
    });
    return listen(app.listen(0, '127.0.0.1'), servers);
  },
  fastify: async (setup, options, servers) => {
    const app = Fastify();
    const principal = principalOf<import('fastify').FastifyRequest>(
      setup,
      (req) => req.headers['x-tenant'] as string | undefined,
    );
    await app.register(fastifyClientCert, { ...coreOptions(setup, options), principal });
    app.get('/', async (req) => ({
      user: (req as unknown as Record<string, unknown>)[setup.property ?? 'user'] ?? null,
    }));
    app.setErrorHandler((error, _req, reply) => {
      reply.code(500).send(`app error: ${(error as Error).message}`);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return listen(app.server, servers);
  },
  hono: (setup, options, servers) => {
    const app = new Hono();
    const principal = principalOf<import('hono').Context>(setup, (c) => c.req.header('x-tenant'));
    app.use(honoClientCert({ ...coreOptions(setup, options), principal }));
    app.get('/', (c) => c.json({ user: c.get((setup.property ?? 'user') as 'user') ?? null }));
    app.onError((error, c) => c.text(`app error: ${error.message}`, 500));
    return listen(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server, servers);
  },
};

describe('principal: the app user from the certificate', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const servers: http.Server[] = [];

  before(async () => {
    root = await createCA({ subject: 'CN=Clients CA' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    // The same names under a CA of the attacker's own.
    mallory = await (await createCA({ subject: 'CN=Clients CA' })).issue({ subject: 'CN=alice,O=Acme' });
  });
  after(() => {
    for (const server of servers) server.close();
  });

  const options = () => ({ logger: false as const, ca: root.cert, trustProxy: '127.0.0.1' });
  /** A user from the certificate's CN and the tenant the framework's context read. */
  const byName = (certificate: ClientCertificate, tenant: string | undefined, _call?: number) => ({
    name: certificate.subject.get('CN'),
    tenant: tenant ?? null,
  });

  async function get(url: string, certificate: TestCertificate | null = alice, localAddress = '127.0.0.1') {
    const headers: Record<string, string> = { 'x-tenant': 'blue' };
    if (certificate) headers['x-forwarded-client-cert'] = envoyXfcc(certificate);
    const res = await request({ url, path: '/', localAddress, headers });
    return { status: res.status, type: res.headers['content-type'], text: res.text };
  }

  for (const [name, serveWith] of Object.entries(FRAMEWORKS)) {
    describe(name, () => {
      const start = (setup: Setup) => serveWith(setup, options(), servers);

      it("puts the mapped user on the framework's usual place, the mapping given the framework's own request", async () => {
        const url = await start({ map: byName });
        const res = await get(url);
        expect(res.status).to.equal(200);
        expect(JSON.parse(res.text)).to.deep.equal({ user: { name: 'alice', tenant: 'blue' } });
      });

      it('null → 403 client_certificate_rejected, a problem that never echoes the certificate', async () => {
        const url = await start({ map: () => null });
        const res = await get(url);
        expect(res.status).to.equal(403);
        expect(res.type).to.equal('application/problem+json');
        const problem = JSON.parse(res.text);
        expect(problem.code).to.equal('client_certificate_rejected');
        expect(problem.detail).to.equal('The client certificate is not mapped to a user of this application.');
        expect(res.text).to.not.include('alice');
      });

      it('undefined is refused as null is', async () => {
        const res = await get(await start({ map: () => undefined }));
        expect([res.status, JSON.parse(res.text).code]).to.deep.equal([403, 'client_certificate_rejected']);
      });

      it('an async mapping: its user, or its null as the 403', async () => {
        const user = await get(await start({ map: async (certificate) => ({ async: certificate.subject.get('CN') }) }));
        expect([user.status, JSON.parse(user.text)]).to.deep.equal([200, { user: { async: 'alice' } }]);
        const none = await get(await start({ map: async () => null }));
        expect([none.status, JSON.parse(none.text).code]).to.deep.equal([403, 'client_certificate_rejected']);
      });

      it("a throwing mapping is the app's error: the framework's 500, not a 403", async () => {
        const fails = () => {
          throw new Error('directory down');
        };
        const sync = await get(await start({ map: fails }));
        expect([sync.status, sync.text]).to.deep.equal([500, 'app error: directory down']);
        const rejects = await get(await start({ map: async () => fails() }));
        expect([rejects.status, rejects.text]).to.deep.equal([500, 'app error: directory down']);
      });

      it('is never called for a foreign certificate (attacker) or none', async () => {
        let calls = 0;
        const url = await start({ map: (certificate, tenant) => byName(certificate, tenant, ++calls) });
        const foreign = await get(url, mallory);
        expect([foreign.status, JSON.parse(foreign.text).code]).to.deep.equal([403, 'client_certificate_untrusted']);
        const none = await get(url, null);
        expect([none.status, JSON.parse(none.text).code]).to.deep.equal([403, 'client_certificate_required']);
        expect(calls).to.equal(0);
      });

      it('is called per request, and once per certificate with cache: true', async () => {
        let calls = 0;
        const counted: Mapper = (certificate, tenant) => byName(certificate, tenant, ++calls);
        const url = await start({ map: counted });
        for (let i = 0; i < 3; i++) expect((await get(url)).status).to.equal(200);
        expect(calls).to.equal(3);
        calls = 0;
        const cachedUrl = await start({ map: counted, cache: true });
        for (let i = 0; i < 3; i++) {
          const res = await get(cachedUrl);
          expect(JSON.parse(res.text)).to.deep.equal({ user: { name: 'alice', tenant: 'blue' } });
        }
        expect(calls).to.equal(1);
      });

      it('mode accept without a certificate: not called, no user', async () => {
        let calls = 0;
        const url = await start({
          map: (certificate, tenant) => byName(certificate, tenant, ++calls),
          mode: 'accept',
        });
        const res = await get(url, null);
        expect([res.status, JSON.parse(res.text), calls]).to.deep.equal([200, { user: null }, 0]);
      });

      it('a certificate mapped to no user: the request_rejected line, and onDecision told of the refusal', async () => {
        const lines: string[] = [];
        const events: DecisionEvent[] = [];
        const logger = { info: () => {}, warn: (line: string) => lines.push(line), error: () => {}, debug: () => {} };
        const onDecision = (event: DecisionEvent) => void events.push(event);
        const url = await serveWith({ map: () => null }, { ...options(), logger, onDecision }, servers);
        lines.length = 0; // the start-up lines
        expect((await get(url)).status).to.equal(403);
        expect(lines.map((line) => line.slice(0, line.indexOf(' ('))).filter(Boolean)).to.deep.equal([
          'clientcert: rejected a request: client_certificate_rejected at principal',
        ]);
        expect(events.map((e) => [e.outcome, e.code, e.check, e.fingerprint])).to.deep.equal([
          ['rejected', 'client_certificate_rejected', 'principal', alice.sha256],
        ]);
      });

      it("attack: a stranger replaying the trusted proxy's header gets no user, not even a cached one (mode accept)", async () => {
        let calls = 0;
        const url = await start({
          map: (certificate, tenant) => byName(certificate, tenant, ++calls),
          cache: true,
          mode: 'accept',
        });
        const proxied = await get(url);
        expect(JSON.parse(proxied.text)).to.deep.equal({ user: { name: 'alice', tenant: 'blue' } });
        const stranger = await get(url, alice, '127.0.0.2'); // outside trustProxy: the header is no evidence
        expect([stranger.status, JSON.parse(stranger.text), calls]).to.deep.equal([200, { user: null }, 1]);
      });

      it('principalProperty names where the user goes', async () => {
        const url = await start({ map: byName, property: 'account' });
        expect(JSON.parse((await get(url)).text)).to.deep.equal({ user: { name: 'alice', tenant: 'blue' } });
      });
    });
  }
});
