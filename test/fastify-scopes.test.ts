/**
 * The fastify plugin registered in more than one scope: before, a second
 * registration that could see the first one's request decorator (the same scope, or a scope
 * inside it) threw "The decorator 'clientCert' has already been added!" out of the plugin as an
 * uncaught exception, and `ready()` never settled.
 *
 * Now each registration applies to the routes of its scope and the scopes inside it, as fastify
 * hooks do: sibling scopes each have their own options; an inner registration adds its checks to
 * an outer one's and cannot lift them; twice in one scope is a start-up error that names the fix.
 * Real servers on port 0, real HTTP, a forwarded certificate from the trusted loopback proxy, on
 * fastify 5 and 4 (the workspace's `fastify4` alias, as in conformance/harness.ts).
 */

import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type FastifyFactory from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientCertOptions } from '../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../packages/core/src/testkit/index.js';
import { clientCert } from '../packages/fastify/src/index.js';
import { type ClientResponse, request } from './helpers/http-client.js';

const require = createRequire(import.meta.url);
const MAJORS = ['fastify', 'fastify4'].map((name) => ({
  name,
  version: (require(`${name}/package.json`) as { version: string }).version,
  Fastify: require(name) as typeof FastifyFactory,
}));

/** What every route answers: the certificate's subject and the identity that admitted it, or null. */
async function whoami(req: FastifyRequest): Promise<{ subject: string; identity: string | null } | null> {
  const cert = req.clientCert;
  return cert ? { subject: cert.subject.rfc4514, identity: cert.authorization?.identity ?? null } : null;
}

/** Status, problem `code` (on a refusal) and body (on success). */
function outcome(response: ClientResponse): { status: number; code?: string; body?: unknown } {
  const body = JSON.parse(response.text) as { code?: string };
  return response.status === 200 ? { status: 200, body } : { status: response.status, code: body.code! };
}

for (const { name, version, Fastify } of MAJORS) {
  describe(`fastify plugin in several scopes (${name} ${version})`, () => {
    let root: TestCA;
    let alice: TestCertificate;
    let app: FastifyInstance | undefined;
    let base: ClientCertOptions;

    before(async () => {
      root = await createCA();
      alice = await root.issue({ subject: 'CN=alice,O=Acme' });
      base = { logger: false, trustProxy: '127.0.0.1', ca: root.cert };
    });

    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    /** Builds the app, listens on port 0, and returns a GET with or without alice's forwarded certificate. */
    async function start(
      build: (app: FastifyInstance) => void,
    ): Promise<(path: string, withCert: boolean) => Promise<ReturnType<typeof outcome>>> {
      app = Fastify() as unknown as FastifyInstance;
      build(app);
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      return async (path, withCert) =>
        outcome(
          await request({
            url,
            path,
            localAddress: '127.0.0.1',
            headers: withCert ? { 'x-forwarded-client-cert': envoyXfcc(alice) } : {},
          }),
        );
    }

    const aliceAs = (identity: string | null): { status: number; body: unknown } => ({
      status: 200,
      body: { subject: 'CN=alice,O=Acme', identity },
    });
    const required = { status: 403, code: 'client_certificate_required' };

    it('a route setting is honoured whether the route is declared before or after the registration', async () => {
      const get = await start((server) => {
        server.get('/before', { config: { clientCert: false } }, whoami);
        server.get('/accepting', { config: { clientCert: { mode: 'accept' } } }, whoami);
        server.register(clientCert, { ...base, mode: 'require' });
        server.get('/after', { config: { clientCert: false } }, whoami);
        server.get('/guarded', whoami);
      });
      expect(await get('/before', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/accepting', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/after', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/guarded', false)).to.deep.equal(required);
      expect(await get('/accepting', true)).to.deep.equal(aliceAs(null));
    });

    it('sibling scopes: each applies its own options to its own routes (require in one, accept in the other)', async () => {
      const get = await start((server) => {
        server.register(
          async (scope) => {
            await scope.register(clientCert, { ...base, mode: 'require' });
            scope.get('/me', whoami);
          },
          { prefix: '/strict' },
        );
        server.register(
          async (scope) => {
            await scope.register(clientCert, { ...base, mode: 'accept' });
            scope.get('/me', whoami);
          },
          { prefix: '/open' },
        );
      });
      expect(await get('/strict/me', false)).to.deep.equal(required);
      expect(await get('/open/me', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/strict/me', true)).to.deep.equal(aliceAs(null));
      expect(await get('/open/me', true)).to.deep.equal(aliceAs(null));
    });

    it("an inner scope adds its own checks to the outer registration; the certificate is the inner one's", async () => {
      const get = await start((server) => {
        server.register(clientCert, {
          ...base,
          mode: 'accept',
          rules: { identities: [{ name: 'member', subject: { O: 'Acme' } }] },
        });
        server.get('/me', whoami);
        server.register(
          async (scope) => {
            await scope.register(clientCert, {
              ...base,
              mode: 'require',
              rules: { identities: [{ name: 'admin', commonName: 'alice' }] },
            });
            scope.get('/me', whoami);
          },
          { prefix: '/admin' },
        );
      });
      expect(await get('/me', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/admin/me', false)).to.deep.equal(required);
      expect(await get('/me', true)).to.deep.equal(aliceAs('member'));
      expect(await get('/admin/me', true)).to.deep.equal(aliceAs('admin'));
    });

    it("attacker: an inner registration with mode accept does not lift the outer one's require", async () => {
      const get = await start((server) => {
        server.register(clientCert, { ...base, mode: 'require' });
        server.get('/me', whoami);
        server.register(
          async (scope) => {
            await scope.register(clientCert, { ...base, mode: 'accept' });
            scope.get('/me', whoami);
          },
          { prefix: '/public' },
        );
      });
      expect(await get('/public/me', false)).to.deep.equal(required);
      expect(await get('/me', false)).to.deep.equal(required);
      expect(await get('/public/me', true)).to.deep.equal(aliceAs(null));
    });

    it('registered in an inner scope first, then in the outer one: both start and apply', async () => {
      const get = await start((server) => {
        server.register(
          async (scope) => {
            await scope.register(clientCert, { ...base, mode: 'require' });
            scope.get('/me', whoami);
          },
          { prefix: '/strict' },
        );
        server.register(clientCert, { ...base, mode: 'accept' });
        server.get('/me', whoami);
      });
      expect(await get('/strict/me', false)).to.deep.equal(required);
      expect(await get('/me', false)).to.deep.equal({ status: 200, body: null });
      expect(await get('/strict/me', true)).to.deep.equal(aliceAs(null));
    });

    it('twice in the same scope: ready() rejects with an error that names the fix (no uncaught exception)', async () => {
      const uncaught: unknown[] = [];
      const onUncaught = (error: unknown): void => void uncaught.push(error);
      process.on('uncaughtException', onUncaught);
      try {
        app = Fastify() as unknown as FastifyInstance;
        app.register(clientCert, { ...base, mode: 'require' });
        app.register(clientCert, { ...base, mode: 'accept' });
        const error = await app.ready().then(
          () => null,
          (e: unknown) => e as { code?: string; message: string; name: string },
        );
        expect(error?.name).to.equal('ClientCertError');
        expect(error?.code).to.equal('invalid_option');
        expect(error?.message).to.match(/registered twice in the same fastify scope: register it once per scope/);
        expect(error?.message).to.match(/encapsulated scope/);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
      expect(uncaught).to.deep.equal([]);
    });
  });
}
