/**
 * @clientcert/nestjs on real Nest apps over each platform (express, fastify): the guard admits a
 * valid certificate (the `@ClientCert()` parameter's subject) and refuses a missing or foreign one
 * with exactly what the express adapter answers (status, content-type, cache-control, problem).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Injectable, Module, type OnModuleInit, Req, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { expect } from 'chai';
import express from 'express';
import type { ClientCertificate, ClientCertOptions as CoreOptions } from '../../packages/core/src/index.js';
import { createCA, envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import {
  ClientCert,
  ClientCertGuard,
  ClientCertModule,
  ClientCertOptions,
  type NestClientCertOptions,
} from '../../packages/nestjs/src/index.js';
import { type ClientResponse, request } from '../helpers/http-client.js';
import { makePki, moduleOf, type Pki, PLATFORMS, type Running, start, withParameters } from './app.js';

let pki: Pki;
before(async function () {
  this.timeout(30_000);
  pki = await makePki(createCA);
});

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** Behind the guard: the certificate's subject, or null where the route's mode let none through. */
@Controller()
@UseGuards(ClientCertGuard)
class GuardedController {
  @Get('whoami')
  whoami(certificate: ClientCertificate) {
    return { subject: certificate.subject.rfc4514 };
  }

  @Get('maybe')
  @ClientCertOptions({ mode: 'accept' })
  maybe(certificate: ClientCertificate | null) {
    return { subject: certificate?.subject.rfc4514 ?? null };
  }

  @Get('me')
  me(req: { user?: unknown }) {
    return { user: req.user ?? null };
  }
}
withParameters(GuardedController, { whoami: [ClientCert()], maybe: [ClientCert()], me: [Req()] });

/** No guard of its own: for the global guard, and for `@ClientCert()` where no guard ran. */
@Controller('plain')
class PlainController {
  @Get()
  whoami(certificate: ClientCertificate | null) {
    return { subject: certificate?.subject.rfc4514 ?? null };
  }
}
withParameters(PlainController, { whoami: [ClientCert()] });

const baseOptions = (): NestClientCertOptions => ({ ca: pki.root.cert, logger: false });

type Caller = { cert: string; key: string } | undefined;

function get(url: string, path: string, who?: Caller, extra: { headers?: Record<string, string>; from?: string } = {}) {
  return request({
    url,
    path,
    ca: pki.root.cert,
    ...(who ? { cert: who.cert, key: who.key } : {}),
    headers: extra.headers ?? {},
    localAddress: extra.from ?? '127.0.0.1',
  });
}

/** `<status> <subject or problem code>`; a refusal must be an RFC 9457 problem as express sends it. */
function summary(response: ClientResponse): string {
  if (response.status === 200) return `200 ${(JSON.parse(response.text) as { subject: string | null }).subject}`;
  expect(response.headers['content-type']).to.equal('application/problem+json');
  expect(response.headers['cache-control']).to.equal('no-store');
  const problem = JSON.parse(response.text) as Record<string, unknown>;
  expect(Object.keys(problem).sort()).to.deep.equal(['code', 'detail', 'instance', 'status', 'title', 'type']);
  expect(problem.status).to.equal(response.status);
  return `${response.status} ${problem.code}`;
}

/** The parts of a refusal that must equal express's: all but the per-request `instance`. */
function comparable(response: ClientResponse) {
  const { instance, ...problem } = JSON.parse(response.text) as Record<string, unknown>;
  expect(instance).to.match(/^urn:uuid:/);
  return {
    status: response.status,
    type: response.headers['content-type'],
    cache: response.headers['cache-control'],
    length: response.headers['content-length'] !== undefined,
    problem,
  };
}

async function expressApp(options: CoreOptions): Promise<string> {
  const app = express();
  app.get('/whoami', expressClientCert(options), (req, res) => {
    res.json({ subject: req.clientCert?.subject.rfc4514 ?? null });
  });
  const tls = { cert: pki.server.cert, key: pki.server.key, ca: pki.root.cert, requestCert: true };
  const server = https.createServer({ ...tls, rejectUnauthorized: false }, app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  running.push({
    url: '',
    app: undefined as never,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

for (const platform of PLATFORMS) {
  describe(`nestjs on platform-${platform}`, () => {
    async function serve(metadata: Parameters<typeof moduleOf>[0], tls = true): Promise<string> {
      const served = await start(platform, moduleOf(metadata), tls ? pki : undefined);
      running.push(served);
      return served.url;
    }

    const guarded = (options: NestClientCertOptions = baseOptions()) =>
      serve({ imports: [ClientCertModule.forRoot(options)], controllers: [GuardedController] });

    it('admits a valid certificate (the @ClientCert() subject); refuses none and a foreign one', async () => {
      const url = await guarded();
      expect(summary(await get(url, '/whoami', pki.alice))).to.equal('200 CN=alice,O=Acme');
      expect(summary(await get(url, '/whoami'))).to.equal('403 client_certificate_required');
      expect(summary(await get(url, '/whoami', pki.foreign))).to.equal('403 client_certificate_untrusted');
    });

    it('refuses with the same status, headers and problem as the express adapter', async () => {
      const nest = await guarded();
      const plain = await expressApp(baseOptions() as CoreOptions);
      for (const caller of [undefined, pki.foreign]) {
        const [fromNest, fromExpress] = [await get(nest, '/whoami', caller), await get(plain, '/whoami', caller)];
        expect(comparable(fromNest)).to.deep.equal(comparable(fromExpress));
      }
    });

    it('answers with rejectStatus: the problem status is the HTTP status', async () => {
      const url = await guarded({ ...baseOptions(), rejectStatus: 401 });
      expect(summary(await get(url, '/whoami'))).to.equal('401 client_certificate_required');
    });

    it("@ClientCertOptions({ mode: 'accept' }) on one route: none passes as null, a foreign one is still refused", async () => {
      const url = await guarded();
      expect(summary(await get(url, '/maybe'))).to.equal('200 null');
      expect(summary(await get(url, '/maybe', pki.alice))).to.equal('200 CN=alice,O=Acme');
      expect(summary(await get(url, '/maybe', pki.foreign))).to.equal('403 client_certificate_untrusted');
      expect(summary(await get(url, '/whoami'))).to.equal('403 client_certificate_required');
    });

    it('compiles the route options once per handler, at start-up, not per request', async () => {
      const started: string[] = [];
      const logger = { info: (line: string) => started.push(line), warn: () => {} };
      const url = await guarded({ ...baseOptions(), logger, warnings: false });
      expect(started).to.have.length(2); // at start-up: the module's, and /maybe's
      for (let i = 0; i < 3; i++) expect(summary(await get(url, '/maybe'))).to.equal('200 null');
      expect(summary(await get(url, '/whoami', pki.alice))).to.equal('200 CN=alice,O=Acme');
      expect(started).to.have.length(2); // none per request
    });

    it('as a global guard (APP_GUARD), and @ClientCertOptions on a controller', async () => {
      @Controller('accepting')
      @ClientCertOptions({ mode: 'accept' })
      class AcceptingController {
        @Get()
        whoami(certificate: ClientCertificate | null) {
          return { subject: certificate?.subject.rfc4514 ?? null };
        }
      }
      withParameters(AcceptingController, { whoami: [ClientCert()] });
      const url = await serve({
        imports: [ClientCertModule.forRoot(baseOptions())],
        controllers: [PlainController, AcceptingController],
        providers: [{ provide: APP_GUARD, useExisting: ClientCertGuard }],
      });
      expect(summary(await get(url, '/plain', pki.alice))).to.equal('200 CN=alice,O=Acme');
      expect(summary(await get(url, '/plain'))).to.equal('403 client_certificate_required');
      expect(summary(await get(url, '/accepting'))).to.equal('200 null');
      expect(summary(await get(url, '/accepting', pki.foreign))).to.equal('403 client_certificate_untrusted');
    });

    it('as a global guard through app.useGlobalGuards(app.get(ClientCertGuard))', async () => {
      const served = await start(
        platform,
        moduleOf({ imports: [ClientCertModule.forRoot(baseOptions())], controllers: [PlainController] }),
        pki,
        (app) => app.useGlobalGuards(app.get(ClientCertGuard)),
      );
      running.push(served);
      expect(summary(await get(served.url, '/plain'))).to.equal('403 client_certificate_required');
      expect(summary(await get(served.url, '/plain', pki.alice))).to.equal('200 CN=alice,O=Acme');
    });

    it('forRootAsync: options from a factory with injected providers, from an imported module', async () => {
      const SETTINGS = Symbol('settings');
      @Module({ providers: [{ provide: SETTINGS, useValue: { ca: pki.root.cert } }], exports: [SETTINGS] })
      class SettingsModule {}
      const url = await serve({
        imports: [
          ClientCertModule.forRootAsync({
            imports: [SettingsModule],
            inject: [SETTINGS],
            useFactory: async (settings: { ca: string }) => ({ ca: settings.ca, logger: false }),
          }),
        ],
        controllers: [GuardedController],
      });
      expect(summary(await get(url, '/whoami', pki.alice))).to.equal('200 CN=alice,O=Acme');
      expect(summary(await get(url, '/whoami', pki.foreign))).to.equal('403 client_certificate_untrusted');
    });

    it('principal: the user goes on the request, mapped with the ExecutionContext; null → 403', async () => {
      const url = await guarded({
        ...baseOptions(),
        principal: (certificate, context) =>
          certificate.subject.get('CN') === 'alice' ? { name: 'alice', via: context.getType() } : null,
      });
      const me = await get(url, '/me', pki.alice);
      expect(me.status).to.equal(200);
      expect(JSON.parse(me.text)).to.deep.equal({ user: { name: 'alice', via: 'http' } });
      const unmapped = await guarded({ ...baseOptions(), principal: async () => null });
      expect(summary(await get(unmapped, '/me', pki.alice))).to.equal('403 client_certificate_rejected');
    });

    it('@ClientCert() on a route without the guard is the app’s mistake: 500, never a certificate', async () => {
      const url = await serve({ imports: [ClientCertModule.forRoot(baseOptions())], controllers: [PlainController] });
      const response = await get(url, '/plain', pki.alice);
      expect(response.status).to.equal(500);
      expect(response.text).to.not.contain('alice');
    });

    describe('behind a proxy (XFCC over plain HTTP)', () => {
      const proxied = (): NestClientCertOptions => ({ ...baseOptions(), proxy: 'envoy', trustProxy: '127.0.0.1' });

      it('admits the certificate a trusted proxy forwards', async () => {
        const url = await serve(
          { imports: [ClientCertModule.forRoot(proxied())], controllers: [GuardedController] },
          false,
        );
        const headers = { 'x-forwarded-client-cert': envoyXfcc(pki.alice) };
        expect(summary(await get(url, '/whoami', undefined, { headers }))).to.equal('200 CN=alice,O=Acme');
        const foreign = { 'x-forwarded-client-cert': envoyXfcc(pki.foreign) };
        expect(summary(await get(url, '/whoami', undefined, { headers: foreign }))).to.equal(
          '403 client_certificate_untrusted',
        );
      });

      it('ignores a forged XFCC from a peer outside trustProxy (attack)', async () => {
        const url = await serve(
          { imports: [ClientCertModule.forRoot(proxied())], controllers: [GuardedController] },
          false,
        );
        const headers = { 'x-forwarded-client-cert': envoyXfcc(pki.alice) };
        expect(summary(await get(url, '/whoami', undefined, { headers, from: '127.0.0.2' }))).to.equal(
          '403 client_certificate_required',
        );
      });
    });
  });
}

describe('nestjs: start-up', () => {
  it('refuses bad module options when the app starts, naming the option', async () => {
    let failure: unknown;
    try {
      const served = await start(
        'express',
        moduleOf({ imports: [ClientCertModule.forRoot({ mode: 'sometimes' as never })] }),
      );
      running.push(served);
    } catch (error) {
      failure = error;
    }
    expect(failure).to.have.property('code', 'invalid_option');
    expect(String((failure as Error).message)).to.contain('mode');
  });

  it("refuses a route's bad @ClientCertOptions when the app starts, not at its first request", async () => {
    @Controller('bad')
    class BadController {
      @Get()
      @ClientCertOptions({ rejectStatus: 200 })
      bad() {
        return {};
      }
    }
    let failure: unknown;
    try {
      const imports = [ClientCertModule.forRoot(baseOptions())];
      running.push(await start('fastify', moduleOf({ imports, controllers: [BadController] })));
    } catch (error) {
      failure = error;
    }
    expect(failure).to.have.property('code', 'invalid_option');
    expect(String((failure as Error).message)).to.contain('rejectStatus');
  });

  it('injects by token: a provider can read the compiled guard', async () => {
    @Injectable()
    class Reader implements OnModuleInit {
      found = false;
      @Inject(ClientCertGuard) readonly guard!: ClientCertGuard;
      onModuleInit(): void {
        this.found = this.guard instanceof ClientCertGuard;
      }
    }
    const served = await start(
      'express',
      moduleOf({ imports: [ClientCertModule.forRoot(baseOptions())], providers: [Reader] }),
    );
    running.push(served);
    expect(served.app.get(Reader).found).to.equal(true);
  });
});
