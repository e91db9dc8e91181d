/**
 * Interop with real proxies: nginx, HAProxy and Caddy from Debian's packages terminate
 * mTLS from a real Node client on loopback and forward the client certificate in their native
 * header to an app under each adapter (express, koa, fastify: the conformance harness's servers).
 *
 * For every proxy configuration × adapter × app configuration, over real connections:
 *   1. a valid certificate → 200, and the app sees exactly the presented certificate;
 *   2. no certificate → 403 client_certificate_required;
 *   3. a certificate from another CA → refused by the proxy, or 403 untrusted by the app — whichever
 *      that configuration produces, asserted exactly;
 *   4. the native header forged by the client (carrying another valid client's public
 *      certificate) is never honored, with or without a presented certificate;
 *   5. the same forged header sent straight to the app from 127.0.0.2 is ignored (and, as a
 *      control, honored from 127.0.0.1, the trusted proxy address: the forged value is well-formed,
 *      so the 403s above come from the proxy stripping it and from trustProxy, not from a typo).
 * Plus, per proxy configuration, the exact header values the proxy sends (to an echo upstream).
 *
 * Each block starts its proxy once (in `before`) and stops it in `after`; a missing binary skips
 * the block on a developer machine and fails it in CI (see proxy-process.ts).
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import {
  type ClientCertOptions,
  parseCertificate,
  type SourceName,
  type Verification,
} from '../../packages/core/src/index.js';
import { envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { adapters, type RunningApp } from '../conformance/harness.js';
import { b64, nginxEscape } from '../helpers/encodings.js';
import { type ClientResponse, request } from '../helpers/http-client.js';
import { type CaddyVariant, caddyLaunch } from './caddy.js';
import { type ProxyResult, throughProxy } from './client.js';
import { DN, type InteropFixtures, interopFixtures, proxyFiles } from './fixtures.js';
import { type HaproxyVariant, haproxyLaunch } from './haproxy.js';
import { type NginxVariant, nginxLaunch } from './nginx.js';
import {
  findBinary,
  type ProxyKind,
  type ProxyLaunch,
  type RunningProxy,
  requireBinary,
  startProxy,
} from './proxy-process.js';

const TRUSTED_PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';
const CADDY_NO_CERTIFICATE = '{http.request.tls.client.certificate_der_base64}';

/** HAProxy `%[ssl_c_der,base64]`, Caddy `certificate_der_base64`. */
const base64Der = (cert: TestCertificate): string => b64(cert.der);

// ---------------------------------------------------------------------------------------------
// The configurations under test

/** How the app is configured behind the proxy. */
interface AppConfig {
  title: string;
  options(f: InteropFixtures): ClientCertOptions;
  /** `verifiedBy` of an accepted certificate. */
  verifiedBy: Verification;
  /** With `mode: 'accept'` a request without a certificate gets 200 and `clientCert` null. */
  accept?: true;
  /** Run under these adapters only (default: every adapter). */
  only?: Array<'express' | 'koa' | 'fastify'>;
}

/** What a certificate from the other CA produces, exactly. */
type OtherCaOutcome =
  | { by: 'proxy-response'; status: number; text: string }
  | { by: 'handshake'; code: string }
  | { by: 'app'; code: 'client_certificate_untrusted' };

interface Setup {
  title: string;
  kind: ProxyKind;
  launch(binary: string, f: InteropFixtures, upstreamPort: number): ProxyLaunch;
  /** The source name the app reports. */
  source: SourceName;
  apps: AppConfig[];
  /** The proxy's native header(s), carrying `cert` as the proxy would: what a client forges. */
  forged(f: InteropFixtures, cert: TestCertificate): Record<string, string>;
  /** `chain.length` of the forged certificate where it is honored (the forged chain header, if any). */
  forgedChainLength: number;
  otherCa: OtherCaOutcome;
  /** `chain.length` the app reports for alice (what the proxy forwards besides the leaf). */
  chainLength: number;
  /** The headers the proxy sends upstream: with alice's certificate, without one, with mallory's (if forwarded). */
  raw: {
    names: string[];
    withCert(f: InteropFixtures): Record<string, string>;
    withoutCert: Record<string, string>;
    otherCa?(f: InteropFixtures): Record<string, string>;
    /** With the certificate whose subject is made of XFCC delimiters, when the header shows the subject. */
    delimiters?(f: InteropFixtures): Record<string, string>;
  };
}

const appVerifies = (base: ClientCertOptions): AppConfig => ({
  title: 'app verifies (ca)',
  options: (f) => ({ ...base, trustProxy: TRUSTED_PROXY, ca: f.root.cert }),
  verifiedBy: 'chain',
});

/** mode accept: whatever the proxy sends for "no certificate" must read as none, not as malformed. */
const appAccepts = (base: ClientCertOptions): AppConfig => ({
  title: 'mode accept, app verifies (ca)',
  options: (f) => ({ ...base, mode: 'accept', trustProxy: TRUSTED_PROXY, ca: f.root.cert }),
  verifiedBy: 'chain',
  accept: true,
  only: ['express'],
});

const NGINX_400: OtherCaOutcome = {
  by: 'proxy-response',
  status: 400,
  text: '<title>400 The SSL certificate error</title>',
};

function nginxSetup(title: string, variant: NginxVariant, apps: AppConfig[], otherCa: OtherCaOutcome): Setup {
  const xfcc = variant.headers === 'xfcc';
  return {
    title,
    kind: 'nginx',
    launch: (binary, f, upstreamPort) => nginxLaunch(binary, proxyFiles(f), upstreamPort, variant),
    source: xfcc ? 'xfcc' : 'url-pem',
    apps,
    forged: (_f, cert): Record<string, string> =>
      xfcc
        ? { 'x-forwarded-client-cert': envoyXfcc(cert) }
        : { 'ssl-client-cert': nginxEscape(cert.cert), 'ssl-client-verify': 'SUCCESS' },
    forgedChainLength: 0,
    otherCa,
    chainLength: 0,
    raw: xfcc
      ? {
          names: ['x-forwarded-client-cert'],
          // $ssl_client_s_dn is RFC 2253: the comma in "Acme, Inc." arrives escaped inside the quotes.
          withCert: (f) => ({
            'x-forwarded-client-cert': `Cert="${nginxEscape(f.alice.cert)}";Subject="CN=alice,O=Acme\\, Inc.,C=US"`,
          }),
          // Not absent: the directive's literal text stays, around two empty variables.
          withoutCert: { 'x-forwarded-client-cert': 'Cert="";Subject=""' },
          // RFC 2253 escapes each `"`, `;`, `,` and `\` of the value with a backslash; inside XFCC's quotes
          // `\"` and `\\` are escapes too, so the value can neither end the quotes nor add a key.
          delimiters: (f) => ({
            'x-forwarded-client-cert': `Cert="${nginxEscape(f.delimiters.cert)}";Subject="${String.raw`CN=x\"\;Cert=\"forged\"\,By=y\;z\\,O=Acme`}"`,
          }),
        }
      : {
          names: ['ssl-client-cert', 'ssl-client-verify'],
          withCert: (f) => ({ 'ssl-client-cert': nginxEscape(f.alice.cert), 'ssl-client-verify': 'SUCCESS' }),
          // An empty $ssl_client_escaped_cert: nginx sends no ssl-client-cert line at all.
          withoutCert: { 'ssl-client-verify': 'NONE' },
          ...(variant.verifyClient === 'optional_no_ca'
            ? {
                otherCa: (f: InteropFixtures) => ({
                  'ssl-client-cert': nginxEscape(f.mallory.cert),
                  'ssl-client-verify': 'FAILED:unable to verify the first certificate',
                }),
              }
            : {}),
        },
  };
}

function haproxySetup(title: string, variant: HaproxyVariant, otherCa: OtherCaOutcome): Setup {
  return {
    title,
    kind: 'haproxy',
    launch: (binary, f, upstreamPort) => haproxyLaunch(binary, proxyFiles(f), upstreamPort, variant),
    source: 'base64-der',
    apps: [
      appVerifies({ proxy: 'haproxy' }),
      {
        title: 'app relies on x-ssl-client-verify (no ca)',
        options: () => ({ proxy: 'haproxy', trustProxy: TRUSTED_PROXY }),
        verifiedBy: 'proxy',
      },
      appAccepts({ proxy: 'haproxy' }),
    ],
    forged: (f, cert) => ({
      'x-ssl-client-cert': base64Der(cert),
      'x-ssl-client-chain': base64Der(f.root),
      'x-ssl-client-verify': '0',
    }),
    forgedChainLength: 1,
    otherCa,
    chainLength: 1, // see raw.withCert: the chain header holds the root
    raw: {
      names: ['x-ssl-client-cert', 'x-ssl-client-chain', 'x-ssl-client-verify'],
      // ssl_c_chain_der holds the root CA: the Node client sent it after its leaf (OpenSSL builds
      // the client's chain from the `ca` it trusts) although the test only gave it the leaf.
      // Without a chain (mallory below) the header is sent with an empty value, not left out.
      withCert: (f) => ({
        'x-ssl-client-cert': base64Der(f.alice),
        'x-ssl-client-chain': base64Der(f.root),
        'x-ssl-client-verify': '0',
      }),
      withoutCert: {},
      ...(variant.verify === 'lenient'
        ? {
            otherCa: (f: InteropFixtures) => ({
              'x-ssl-client-cert': base64Der(f.mallory),
              'x-ssl-client-chain': '',
              'x-ssl-client-verify': '21', // X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: a lone leaf of an unknown issuer
            }),
          }
        : {}),
    },
  };
}

function caddySetup(title: string, variant: CaddyVariant, apps: AppConfig[], otherCa: OtherCaOutcome): Setup {
  return {
    title,
    kind: 'caddy',
    launch: (binary, f, upstreamPort) => caddyLaunch(binary, proxyFiles(f), upstreamPort, variant),
    source: 'base64-der',
    apps,
    forged: (_f, cert) => ({ 'x-client-cert': base64Der(cert) }),
    forgedChainLength: 0,
    otherCa,
    chainLength: 0,
    raw: {
      names: ['x-client-cert'],
      withCert: (f) => ({ 'x-client-cert': base64Der(f.alice) }),
      // Caddy 2.6 leaves a placeholder it cannot resolve in place: no certificate, the literal text.
      withoutCert: { 'x-client-cert': CADDY_NO_CERTIFICATE },
      ...(variant.mode === 'request'
        ? { otherCa: (f: InteropFixtures) => ({ 'x-client-cert': base64Der(f.mallory) }) }
        : {}),
    },
  };
}

const SETUPS: Setup[] = [
  nginxSetup(
    'nginx: examples/nginx/nginx.conf (ssl-client-cert, ssl_verify_client optional)',
    { headers: 'url-pem', verifyClient: 'optional' },
    [
      appVerifies({ proxy: 'nginx' }),
      {
        title: 'app relies on ssl-client-verify (no ca)',
        options: () => ({ proxy: 'nginx', trustProxy: TRUSTED_PROXY }),
        verifiedBy: 'proxy',
      },
      appAccepts({ proxy: 'nginx' }),
    ],
    NGINX_400,
  ),
  nginxSetup(
    'nginx: ssl-client-cert with ssl_verify_client optional_no_ca',
    { headers: 'url-pem', verifyClient: 'optional_no_ca' },
    [
      appVerifies({ proxy: 'nginx' }),
      {
        title: 'app relies on ssl-client-verify (no ca)',
        options: () => ({ proxy: 'nginx', trustProxy: TRUSTED_PROXY }),
        verifiedBy: 'proxy',
      },
      appAccepts({ proxy: 'nginx' }),
    ],
    { by: 'app', code: 'client_certificate_untrusted' },
  ),
  nginxSetup(
    'nginx: Envoy-style X-Forwarded-Client-Cert (Cert + Subject, no Hash)',
    { headers: 'xfcc', verifyClient: 'optional' },
    [appVerifies({ source: 'xfcc' }), appAccepts({ source: 'xfcc' })],
    NGINX_400,
  ),
  haproxySetup(
    'HAProxy: x-ssl-client-* headers, verify optional',
    { verify: 'strict' },
    { by: 'handshake', code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' },
  ),
  haproxySetup(
    'HAProxy: x-ssl-client-* headers, verify optional with ca-ignore-err/crt-ignore-err all',
    { verify: 'lenient' },
    { by: 'app', code: 'client_certificate_untrusted' },
  ),
  caddySetup(
    'Caddy: X-Client-Cert, client_auth mode verify_if_given',
    { mode: 'verify_if_given' },
    [
      appVerifies({ proxy: 'caddy' }),
      {
        title: "app trusts Caddy's verification (proxyVerified: true)",
        options: () => ({ proxy: 'caddy', trustProxy: TRUSTED_PROXY, proxyVerified: true }),
        verifiedBy: 'proxy',
      },
      appAccepts({ proxy: 'caddy' }),
    ],
    { by: 'handshake', code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' },
  ),
  caddySetup(
    'Caddy: X-Client-Cert, client_auth mode request (Caddy does not verify)',
    { mode: 'request' },
    [appVerifies({ proxy: 'caddy' }), appAccepts({ proxy: 'caddy' })],
    { by: 'app', code: 'client_certificate_untrusted' },
  ),
];

// ---------------------------------------------------------------------------------------------
// Assertions

const PROBLEM_KEYS = ['code', 'detail', 'instance', 'status', 'title', 'type'];

function response(result: ProxyResult | ClientResponse): ClientResponse {
  if ('kind' in result) {
    if (result.kind === 'error') expect.fail(`expected an HTTP response, got ${result.code}: ${result.message}`);
    return result;
  }
  return result;
}

/** The app's rejection, exactly: 403 problem+json with this code. */
function expectProblem(result: ProxyResult | ClientResponse, code: string): void {
  const res = response(result);
  expect(res.status, res.text).to.equal(403);
  expect(res.headers['content-type']).to.equal('application/problem+json');
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(Object.keys(body).sort()).to.deep.equal(PROBLEM_KEYS);
  expect(body.code).to.equal(code);
  expect(body.status).to.equal(403);
}

interface Identity {
  cert: TestCertificate;
  subject: string;
  source: SourceName;
  verifiedBy: Verification;
  chainLength: number;
}

/** 200, and the app saw exactly this certificate (by the SHA-256 of its DER), from this source. */
function expectIdentity(result: ProxyResult | ClientResponse, expected: Identity): void {
  const res = response(result);
  expect(res.status, res.text).to.equal(200);
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(body).to.include({
    sha256: expected.cert.sha256,
    subject: expected.subject,
    issuer: DN.root,
    source: expected.source,
    verifiedBy: expected.verifiedBy,
    chainLength: expected.chainLength,
  });
}

/** No certificate: 403 required, or with mode accept 200 and `clientCert` null. */
function expectNoCertificate(result: ProxyResult | ClientResponse, accept: boolean): void {
  if (!accept) {
    expectProblem(result, 'client_certificate_required');
    return;
  }
  const res = response(result);
  expect(res.status, res.text).to.equal(200);
  expect(JSON.parse(res.text)).to.deep.equal({ cert: null });
}

function expectOtherCa(result: ProxyResult, outcome: OtherCaOutcome): void {
  switch (outcome.by) {
    case 'proxy-response': {
      // The proxy answers itself; nothing reached the app (whose answers are JSON).
      const res = response(result);
      expect(res.status, res.text).to.equal(outcome.status);
      expect(res.headers['content-type']).to.equal('text/html');
      expect(res.text).to.include(outcome.text);
      return;
    }
    case 'handshake':
      expect(result.kind, JSON.stringify(result)).to.equal('error');
      expect((result as { code: string }).code).to.equal(outcome.code);
      return;
    case 'app':
      expectProblem(result, outcome.code);
  }
}

function outcomeTitle(outcome: OtherCaOutcome): string {
  switch (outcome.by) {
    case 'proxy-response':
      return `the proxy answers ${outcome.status} itself`;
    case 'handshake':
      return `the proxy refuses the handshake (${outcome.code})`;
    case 'app':
      return `the proxy forwards it and the app answers 403 ${outcome.code}`;
  }
}

// ---------------------------------------------------------------------------------------------
// An upstream that echoes what the proxy sent

interface EchoServer {
  port: number;
  last(): http.IncomingHttpHeaders;
  close(): Promise<void>;
}

async function startEcho(): Promise<EchoServer> {
  let last: http.IncomingHttpHeaders = {};
  const server = http.createServer((req, res) => {
    last = req.headers;
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, TRUSTED_PROXY, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    last: () => last,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function pick(headers: http.IncomingHttpHeaders, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]));
}

// ---------------------------------------------------------------------------------------------
// The suite

describe('interop with real proxies', () => {
  let f: InteropFixtures;

  before(async () => {
    f = await interopFixtures();
  });

  for (const setup of SETUPS) {
    const installed = findBinary(setup.kind);
    describe(`${setup.title}${installed ? '' : ` [${setup.kind} not installed]`}`, () => {
      let binary: string;

      before(function () {
        binary = requireBinary(this, setup.kind);
      });

      describe('the headers it sends upstream', () => {
        let echo: EchoServer | undefined;
        let proxy: RunningProxy | undefined;

        before(async () => {
          echo = await startEcho();
          proxy = await startProxy(setup.launch(binary, f, echo.port));
        });

        after(async () => {
          await proxy?.stop();
          await echo?.close();
        });

        it('with a client certificate', async () => {
          const res = response(
            await throughProxy({ port: proxy!.port, ca: f.root.cert, cert: f.alice.cert, key: f.alice.key }),
          );
          expect(res.status, proxy!.output()).to.equal(200);
          expect(pick(echo!.last(), setup.raw.names)).to.deep.equal(setup.raw.withCert(f));
        });

        it('without one', async () => {
          const res = response(await throughProxy({ port: proxy!.port, ca: f.root.cert }));
          expect(res.status, proxy!.output()).to.equal(200);
          expect(pick(echo!.last(), setup.raw.names)).to.deep.equal(setup.raw.withoutCert);
        });

        if (setup.raw.delimiters) {
          const delimiters = setup.raw.delimiters;
          it('with a certificate whose subject is made of XFCC delimiters', async () => {
            const res = response(
              await throughProxy({
                port: proxy!.port,
                ca: f.root.cert,
                cert: f.delimiters.cert,
                key: f.delimiters.key,
              }),
            );
            expect(res.status, proxy!.output()).to.equal(200);
            expect(pick(echo!.last(), setup.raw.names)).to.deep.equal(delimiters(f));
          });
        }

        if (setup.raw.otherCa) {
          const otherCa = setup.raw.otherCa;
          it('with a certificate from another CA', async () => {
            const res = response(
              await throughProxy({ port: proxy!.port, ca: f.root.cert, cert: f.mallory.cert, key: f.mallory.key }),
            );
            expect(res.status, proxy!.output()).to.equal(200);
            expect(pick(echo!.last(), setup.raw.names)).to.deep.equal(otherCa(f));
          });
        }
      });

      for (const adapter of adapters) {
        for (const appConfig of setup.apps.filter((a) => !a.only || a.only.includes(adapter.name))) {
          const none = appConfig.accept ? '200 with clientCert null' : '403 client_certificate_required';
          describe(`${adapter.name}, ${appConfig.title}`, () => {
            let app: RunningApp | undefined;
            let appPort: number;
            let proxy: RunningProxy | undefined;
            let via: (options: { cert?: TestCertificate; headers?: Record<string, string> }) => Promise<ProxyResult>;

            before(async () => {
              app = await adapter.start({ options: appConfig.options(f) });
              appPort = Number(new URL(app.url).port);
              proxy = await startProxy(setup.launch(binary, f, appPort));
              via = ({ cert, headers }) =>
                throughProxy({
                  port: proxy!.port,
                  ca: f.root.cert,
                  headers,
                  ...(cert ? { cert: cert.cert, key: cert.key } : {}),
                });
            });

            after(async () => {
              await proxy?.stop();
              await app?.close();
            });

            const alice = (): Identity => ({
              cert: f.alice,
              subject: DN.alice,
              source: setup.source,
              verifiedBy: appConfig.verifiedBy,
              chainLength: setup.chainLength,
            });

            it('(1) a valid client certificate → 200, the app sees exactly that certificate', async () => {
              expectIdentity(await via({ cert: f.alice }), alice());
            });

            it('(1) a certificate whose subject is made of XFCC delimiters → 200, exactly that certificate', async () => {
              const subject = parseCertificate(f.delimiters.der).subject.rfc4514;
              expectIdentity(await via({ cert: f.delimiters }), { ...alice(), cert: f.delimiters, subject });
            });

            it(`(2) no client certificate → ${none}`, async () => {
              expectNoCertificate(await via({}), Boolean(appConfig.accept));
            });

            it(`(3) a certificate from another CA → ${outcomeTitle(setup.otherCa)}`, async () => {
              expectOtherCa(await via({ cert: f.mallory }), setup.otherCa);
            });

            it(`(4) a forged header without a certificate is not honored → ${none}`, async () => {
              expectNoCertificate(await via({ headers: setup.forged(f, f.bob) }), Boolean(appConfig.accept));
            });

            it('(4) a forged header with a certificate: the app sees the presented certificate, not the forged one', async () => {
              expectIdentity(await via({ cert: f.alice, headers: setup.forged(f, f.bob) }), alice());
            });

            it(`(5) the forged header sent straight to the app from 127.0.0.2 is ignored → ${none}`, async () => {
              const res = await request({
                url: app!.url,
                path: '/whoami',
                headers: setup.forged(f, f.bob),
                localAddress: STRANGER,
              });
              expectNoCertificate(res, Boolean(appConfig.accept));
            });

            it('(5, control) the same header straight from 127.0.0.1, the trusted proxy address, is honored', async () => {
              const res = await request({
                url: app!.url,
                path: '/whoami',
                headers: setup.forged(f, f.bob),
                localAddress: TRUSTED_PROXY,
              });
              expectIdentity(res, {
                cert: f.bob,
                subject: DN.bob,
                source: setup.source,
                verifiedBy: appConfig.verifiedBy,
                chainLength: setup.forgedChainLength,
              });
            });
          });
        }
      }
    });
  }
});
