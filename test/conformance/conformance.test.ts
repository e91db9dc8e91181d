/**
 * Runs the conformance table (scenarios.ts) unchanged against every adapter (harness.ts), over
 * real HTTP/HTTPS servers on port 0 and real clients: one fresh server per test, one fresh
 * connection per request. Every supported framework major runs the whole table (harness.ts
 * FRAMEWORKS: express 5 and 4, koa 3 and 2, fastify 5 and 4); the table is cheap enough.
 *
 * The frameworks that run on node:http2 (koa and fastify, every major; express does not, see
 * harness.ts) run the table over HTTP/2 too: TLS rows over `h2`, plain-HTTP rows (the forwarded
 * headers) over cleartext `h2c`. Each row's request is sent on two streams of one session, and both
 * must get the row's answer: over HTTP/2 each stream has a socket object of its own, and
 * per-connection state must hold for every stream. The whole file: ~10 s on 2 cores.
 */

import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import { expect } from 'chai';
import type { Logger } from '../../packages/core/src/index.js';
import { type ClientResponse, request } from '../helpers/http-client.js';
import { honoAdapter } from '../hono/conformance-adapter.js';
import { request2 } from '../http2/client.js';
import { nestjsAdapters } from '../nestjs/conformance-adapter.js';
import { passportAdapter } from '../passport/conformance-adapter.js';
import { type AppSpec, FRAMEWORKS, type RunningApp, type Whoami } from './harness.js';
import {
  ALICE_SAN,
  createFixtures,
  DN,
  type Expect,
  type Fixtures,
  ISSUER,
  invalidOptions,
  resolve,
  type Scenario,
  type Send,
  scenarios,
} from './scenarios.js';

const PROBLEM_KEYS = ['code', 'detail', 'instance', 'status', 'title', 'type'];
const NO_SAN = { dns: [], uri: [], email: [], ip: [] };

function appSpec(scenario: Scenario, f: Fixtures, http2: boolean): AppSpec {
  return {
    options: resolve(scenario.options, f),
    routes: scenario.routes ? resolve(scenario.routes, f) : [],
    ...(scenario.server === 'https' ? { tls: tlsOptions(f) } : {}),
    ...(http2 ? { http2 } : {}),
  };
}

/** HTTP/2: requests per session, each on a stream of its own. */
const STREAMS = 2;

function tlsOptions(f: Fixtures): NonNullable<AppSpec['tls']> {
  return { cert: f.server.cert, key: f.server.key, ca: f.root.cert, requestCert: true, rejectUnauthorized: false };
}

function xfccValues(send: Send, f: Fixtures): string[] {
  const other = send.headers === undefined ? [] : Object.values(resolve(send.headers, f));
  if (send.xfcc === undefined) return other;
  const value = resolve(send.xfcc, f);
  return [...(Array.isArray(value) ? value : [value]), ...other];
}

/** The row's request: over HTTP/1.1 once, over HTTP/2 on `STREAMS` streams of one session. */
async function sendRequest(app: RunningApp, send: Send, f: Fixtures, http2: boolean): Promise<ClientResponse[]> {
  const headers: OutgoingHttpHeaders = {};
  if (send.xfcc !== undefined) {
    const value = resolve(send.xfcc, f);
    headers[send.xfccHeader ?? 'x-forwarded-client-cert'] =
      Array.isArray(value) && value.length === 1 ? value[0] : value;
  }
  if (send.headers !== undefined) Object.assign(headers, resolve(send.headers, f));
  const client = send.cert ? f.clients[send.cert] : undefined;
  const options = {
    url: app.url,
    path: send.path ?? '/whoami',
    headers,
    localAddress: send.from ?? '127.0.0.1',
    ca: f.root.cert,
    ...(client ? { cert: send.presentChain ? client.fullChain : client.cert, key: client.key } : {}),
  };
  return http2 ? request2({ ...options, streams: STREAMS }) : [await request(options)];
}

/** A rejection: exact status, problem+json, the six fields, nothing echoed. */
function expectProblem(res: ClientResponse, status: number, code: string, sent: string[]): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.headers['content-type']).to.equal('application/problem+json');
  expect(res.headers['cache-control']).to.equal('no-store');
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).to.deep.equal(PROBLEM_KEYS);
  expect(body.status).to.equal(status);
  expect(body.code).to.equal(code);
  expect(body.type).to.equal(`urn:clientcert:problem:${code}`);
  expect(body.title).to.be.a('string').and.not.equal('');
  expect(body.detail).to.be.a('string').and.not.equal('');
  expect(body.instance).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
  // No stack trace, no certificate text, nothing from the request echoed back.
  expect(res.text).not.to.match(/-----BEGIN|%2D%2D%2D|\bMII[A-Za-z0-9+/]{8}|\n\s+at |\bat .*\.ts:\d+/);
  for (const value of sent) {
    for (const part of value.split(/[;,]/)) {
      const [, fieldValue = ''] = part.split(/=(.*)/s);
      if (fieldValue.replace(/"/g, '').length >= 6) expect(res.text).not.to.include(fieldValue.replace(/"/g, ''));
    }
  }
}

function expectOutcome(res: ClientResponse, expected: Expect, f: Fixtures, sent: string[]): void {
  if ('code' in expected) {
    expectProblem(res, expected.status, expected.code, sent);
    return;
  }
  expect(res.status, res.text).to.equal(200);
  expect(res.headers['content-type']).to.match(/^application\/json\b/);
  const body = JSON.parse(res.text) as Whoami;
  if (expected.cert === null) {
    expect(body).to.deep.equal({ cert: null });
    return;
  }
  expect(body).not.to.have.property('cert');
  const { chainLength, authorization, ...identity } = body as Exclude<Whoami, { cert: null }>;
  expect(authorization).to.deep.equal(expected.authorization ?? { pin: null, identity: null });
  const client = f.clients[expected.cert];
  expect(identity).to.deep.equal({
    subject: DN[expected.cert],
    issuer: ISSUER[expected.cert],
    sha256: client.sha256,
    serial: client.x509.serialNumber,
    source: expected.source,
    verifiedBy: expected.verifiedBy,
    spiffeId: expected.cert === 'alice' ? ALICE_SAN.uri[0] : null,
    san: expected.cert === 'alice' ? ALICE_SAN : NO_SAN,
  });
  expect(chainLength).to.be.a('number');
  if (expected.chainLength === 'at least 1') expect(chainLength).to.be.at.least(1);
  else if (expected.chainLength !== undefined) expect(chainLength).to.equal(expected.chainLength);
}

interface RecordingLogger extends Logger {
  infos: string[];
  warns: string[];
}

function recordingLogger(): RecordingLogger {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (m) => void infos.push(m), warn: (m) => void warns.push(m) };
}

describe('conformance', () => {
  let f: Fixtures;

  before(async function () {
    this.timeout(120_000); // RSA key generation
    f = await createFixtures();
  });

  // Hono (on @hono/node-server), the Passport strategy (on express) and NestJS (on express and fastify) beside the three: same rows, same codes.
  const honoPackage = new URL('../../node_modules/hono/package.json', import.meta.url);
  const honoVersion = (JSON.parse(readFileSync(honoPackage, 'utf8')) as { version: string }).version;
  const all = [
    ...FRAMEWORKS.flatMap((frameworks) => frameworks.adapters),
    honoAdapter(honoVersion),
    passportAdapter,
    ...nestjsAdapters,
  ];
  const runs = [
    ...all.map((adapter) => ({ adapter, http2: false })),
    ...all.filter((a) => a.http2).map((adapter) => ({ adapter, http2: true })),
  ];
  for (const { adapter, http2 } of runs) {
    describe(`${adapter.name} ${adapter.version}${http2 ? ' over HTTP/2' : ''}`, () => {
      let app: RunningApp | undefined;

      afterEach(async () => {
        await app?.close();
        app = undefined;
      });

      describe('scenarios', () => {
        for (const scenario of scenarios) {
          it(scenario.name, async () => {
            app = await adapter.start(appSpec(scenario, f, http2));
            const responses = await sendRequest(app, scenario.send, f, http2);
            expect(responses).to.have.length(http2 ? STREAMS : 1);
            for (const res of responses) expectOutcome(res, scenario.expect, f, xfccValues(scenario.send, f));
          });
        }
      });

      // Construction and start-up do not depend on the transport: HTTP/1.1 runs them.
      if (http2) return;

      describe('invalid options throw invalid_option at construction, naming the option', () => {
        for (const where of ['app', 'route'] as const) {
          for (const { option, options } of invalidOptions) {
            it(`${where}: ${JSON.stringify(options)}`, async () => {
              let caught: unknown;
              await adapter.construct({ logger: false, ...(options as object) }, where).catch((error: unknown) => {
                caught = error;
              });
              expect(caught, 'construction should throw').to.be.instanceOf(Error);
              expect((caught as { code?: unknown }).code).to.equal('invalid_option');
              expect((caught as Error).message).to.include(`"${option}"`);
            });
          }
        }
      });

      describe('start-up report', () => {
        it('reports what it trusts once, and an ignored header from a stranger at most once, without echoing it', async () => {
          const logger = recordingLogger();
          app = await adapter.start({ options: { ca: f.root.cert, trustProxy: '127.0.0.1', logger } });
          expect(logger.infos).to.have.length(1);
          expect(logger.infos[0]).to.match(/^clientcert: mode require;/);
          expect(logger.infos[0]).to.include('127.0.0.1').and.include('1 trust anchor');
          expect(logger.warns).to.deep.equal([]);

          const evil = 'Cert="%0A%0Dclientcert-log-injection"';
          for (let i = 0; i < 2; i++) {
            const res = await request({
              url: app.url,
              path: '/whoami',
              localAddress: '127.0.0.2',
              headers: { 'x-forwarded-client-cert': evil },
            });
            expectProblem(res, 403, 'client_certificate_required', [evil]);
          }
          // The ignored header, once, and the rejection, once (both rate-limited); neither echoes the header.
          expect(logger.warns).to.have.length(2);
          expect(logger.warns[0]).to.include('x-forwarded-client-cert').and.include('untrusted_peer_header');
          expect(logger.warns[1]).to.include('client_certificate_required').and.include('peer 127.0.0.2');
          for (const line of logger.warns) expect(line).to.not.include('log-injection');
        });

        it('warns at start-up when forwarded certificates could never be trusted (no ca, no pins), never suggesting proxyVerified', async () => {
          const logger = recordingLogger();
          app = await adapter.start({ options: { logger, source: 'xfcc' } });
          expect(logger.infos).to.have.length(1);
          expect(logger.warns).to.have.length(1);
          expect(logger.warns[0]).to.include('`ca`').and.include('`pins`').and.not.include('proxyVerified');
        });

        it('logger: false reports nothing', async () => {
          const original = { info: console.info, warn: console.warn, log: console.log };
          const seen: unknown[] = [];
          console.info = console.warn = console.log = (...args: unknown[]) => void seen.push(args);
          try {
            app = await adapter.start({ options: { logger: false } });
            await request({
              url: app.url,
              path: '/whoami',
              localAddress: '127.0.0.2',
              headers: { 'x-forwarded-client-cert': 'x' },
            });
          } finally {
            Object.assign(console, original);
          }
          expect(seen).to.deep.equal([]);
        });
      });
    });
  }
});
