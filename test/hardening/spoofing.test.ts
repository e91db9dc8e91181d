/**
 * Spoofing: for every source and every proxy preset, a forwarded header sent by a peer outside
 * `trustProxy` is never honored — whatever X-Forwarded-For, Forwarded or X-Real-IP claim — and
 * IPv4-mapped IPv6 peers are matched as their IPv4 address, no more. Real servers on port 0; the
 * trusted proxy is 127.0.0.1, the stranger 127.0.0.2. Each group also sends the same headers
 * from the trusted proxy and expects them honored, so a test cannot pass by ignoring everything.
 */

import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { PROXY_NAMES, type ProxyName } from '../../packages/core/src/options/presets.js';
import { compileTrustProxy } from '../../packages/core/src/sources/proxy-trust.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { albEscape, b64, nginxEscape } from '../helpers/encodings.js';
import { request } from '../helpers/http-client.js';
import { ADAPTERS, parseBody, startServer } from './servers.js';

const PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';

let root: TestCA;
let alice: TestCertificate;

before(async function () {
  this.timeout(30_000);
  root = await createCA({ subject: 'CN=Spoofing Root' });
  alice = await root.issue({ subject: 'CN=alice' });
});

interface Case {
  name: string;
  options: () => ClientCertOptions;
  headers: () => Record<string, string>;
}

/** Node's one-attribute-per-line name (DER order) as the RFC 2253 string proxies send (simple names only). */
function rfc2253(nodeName: string): string {
  return nodeName.split('\n').reverse().join(',');
}

/** What each preset's proxy sends for a verified client (verdict headers say "verified"). */
function presetHeaders(proxy: ProxyName): Record<string, string> {
  const pem = alice.cert;
  switch (proxy) {
    case 'azure-container-apps':
    case 'envoy':
    case 'istio':
      return { 'x-forwarded-client-cert': envoyXfcc(alice) };
    case 'nginx':
    case 'ingress-nginx':
      // ingress-nginx also describes the certificate it verified (and the app compares).
      return {
        'ssl-client-cert': nginxEscape(pem),
        'ssl-client-verify': 'SUCCESS',
        'ssl-client-subject-dn': rfc2253(alice.x509.subject),
        'ssl-client-issuer-dn': rfc2253(alice.x509.issuer),
      };
    case 'traefik':
      return { 'x-forwarded-tls-client-cert': b64(alice.der) };
    case 'haproxy':
      return { 'x-ssl-client-cert': b64(alice.der), 'x-ssl-client-verify': '0' };
    case 'caddy':
      return { 'x-client-cert': b64(alice.der) };
    case 'aws-alb':
      return {
        'x-amzn-mtls-clientcert-leaf': albEscape(pem),
        'x-amzn-mtls-clientcert-serial-number': alice.x509.serialNumber,
        'x-amzn-mtls-clientcert-issuer': rfc2253(alice.x509.issuer),
      };
    case 'aws-alb-passthrough':
      return { 'x-amzn-mtls-clientcert': albEscape(pem) };
    case 'cloudflare':
      return {
        'cf-client-cert-der-base64': b64(alice.der),
        'cf-client-cert-sha256': alice.sha256,
        'cf-cert-verified': 'true',
      };
    case 'cloudflare-rfc9440':
      return { 'client-cert': `:${b64(alice.der)}:` };
    case 'azure-app-service':
      return { 'x-arr-clientcert': b64(alice.der) };
  }
}

const CASES: Case[] = [
  {
    name: 'source xfcc',
    options: () => ({ source: 'xfcc' }),
    headers: () => ({ 'x-forwarded-client-cert': envoyXfcc(alice) }),
  },
  {
    name: 'source rfc9440',
    options: () => ({ source: 'rfc9440' }),
    headers: () => ({ 'client-cert': `:${b64(alice.der)}:` }),
  },
  {
    name: 'source traefik',
    options: () => ({ source: 'traefik' }),
    headers: () => ({ 'x-forwarded-tls-client-cert': b64(alice.der) }),
  },
  {
    name: 'source url-pem',
    options: () => ({ source: 'url-pem' }),
    headers: () => ({ 'ssl-client-cert': nginxEscape(alice.cert) }),
  },
  {
    name: 'source base64-der',
    options: () => ({ source: 'base64-der' }),
    headers: () => ({ 'x-client-cert': b64(alice.der) }),
  },
  {
    name: 'source aws-alb',
    options: () => ({ source: 'aws-alb' }),
    headers: () => ({ 'x-amzn-mtls-clientcert': albEscape(alice.cert) }),
  },
  {
    name: 'source custom',
    options: () => ({ source: { header: 'x-cert-hex', decode: (v: string) => Buffer.from(v, 'hex') } }),
    headers: () => ({ 'x-cert-hex': alice.der.toString('hex') }),
  },
  // Presets; the verifying ones also run without `ca`, so that only the proxy's verdict could admit.
  ...PROXY_NAMES.map(
    (proxy): Case => ({
      name: `proxy ${proxy}, ca`,
      options: () => ({ proxy, ca: root.cert }),
      headers: () => presetHeaders(proxy),
    }),
  ),
  ...(['nginx', 'haproxy', 'cloudflare', 'aws-alb'] as const).map(
    (proxy): Case => ({
      name: `proxy ${proxy}, verified by the proxy (no ca)`,
      options: () => ({ proxy }),
      headers: () => presetHeaders(proxy),
    }),
  ),
];

/** Address games a stranger plays: the library must look at socket.remoteAddress only. */
const CLAIMS: ReadonlyArray<Record<string, string>> = [
  {},
  { 'x-forwarded-for': PROXY },
  { 'x-forwarded-for': `${STRANGER}, ${PROXY}` },
  { forwarded: `for=${PROXY};proto=https` },
  { 'x-real-ip': PROXY, 'x-client-ip': PROXY, 'true-client-ip': PROXY, 'cf-connecting-ip': PROXY },
  { 'x-forwarded-for': `::ffff:${PROXY}`, forwarded: 'for="[::ffff:127.0.0.1]"' },
];

describe('hardening: spoofing — a header from outside trustProxy is never honored', function () {
  this.timeout(60_000);

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      for (const c of CASES) {
        it(`${c.name}: honored from the proxy; from a stranger → 403 client_certificate_required, whatever it claims`, async () => {
          const options = { ca: root.cert, ...c.options(), trustProxy: PROXY };
          if (c.name.endsWith('(no ca)')) delete (options as { ca?: string }).ca;
          const app = await startServer(adapter, { options });
          try {
            const fromProxy = await request({
              url: app.url(),
              path: '/whoami',
              headers: c.headers(),
              localAddress: PROXY,
            });
            expect(fromProxy.status, fromProxy.text).to.equal(200);
            expect(parseBody(fromProxy.text).sha256).to.equal(alice.sha256);
            for (const claim of CLAIMS) {
              const res = await request({
                url: app.url(),
                path: '/whoami',
                headers: { ...c.headers(), ...claim },
                localAddress: STRANGER,
              });
              expect(res.status, `${JSON.stringify(claim)}: ${res.text}`).to.equal(403);
              expect(parseBody(res.text).code).to.equal('client_certificate_required');
            }
          } finally {
            await app.close();
          }
        });
      }
    });
  }
});

/** GET /whoami to [::1] (the shared client takes the bracketed URL host as a name). */
function requestFromV6Loopback(
  port: number,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '::1', port, path: '/whoami', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('hardening: spoofing — IPv4-mapped IPv6 peers', function () {
  this.timeout(30_000);

  it('proxy-addr (as trustProxy compiles it): 127.0.0.1 matches ::ffff:127.0.0.1 only, never ::ffff:127.0.0.2 or ::1', () => {
    const trust = compileTrustProxy('127.0.0.1').fn;
    expect(trust('::ffff:127.0.0.1', 0)).to.equal(true);
    expect(trust('::ffff:127.0.0.2', 0)).to.equal(false);
    expect(trust('::1', 0)).to.equal(false);
    expect(trust('127.0.0.2', 0)).to.equal(false);
    const mapped = compileTrustProxy('::ffff:127.0.0.1').fn;
    expect(mapped('127.0.0.1', 0)).to.equal(true);
    expect(mapped('127.0.0.2', 0)).to.equal(false);
    const ranges = compileTrustProxy(['10.0.0.0/8']).fn;
    expect(ranges('::ffff:10.1.2.3', 0)).to.equal(true);
    expect(ranges('::ffff:11.1.2.3', 0)).to.equal(false);
  });

  it('a dual-stack server on :: sees IPv4 peers as ::ffff:a.b.c.d (the premise of the next tests)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.socket.remoteAddress ?? '');
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '::', () => resolve()));
    try {
      const { port } = server.address() as AddressInfo;
      await request({ url: `http://127.0.0.1:${port}`, localAddress: STRANGER });
      expect(seen).to.deep.equal([`::ffff:${STRANGER}`]);
    } finally {
      server.close();
    }
  });

  for (const adapter of ADAPTERS) {
    it(`${adapter} on ::, trustProxy 127.0.0.1: ::ffff:127.0.0.1 honored, ::ffff:127.0.0.2 and ::1 ignored`, async () => {
      const app = await startServer(adapter, { host: '::', options: { ca: root.cert, trustProxy: PROXY } });
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      try {
        const fromProxy = await request({ url: app.url('127.0.0.1'), path: '/whoami', headers, localAddress: PROXY });
        expect(fromProxy.status, fromProxy.text).to.equal(200);
        expect(parseBody(fromProxy.text).sha256).to.equal(alice.sha256);

        const fromStranger = await request({
          url: app.url('127.0.0.1'),
          path: '/whoami',
          headers: { ...headers, 'x-forwarded-for': PROXY },
          localAddress: STRANGER,
        });
        expect(fromStranger.status).to.equal(403);
        expect(parseBody(fromStranger.text).code).to.equal('client_certificate_required');

        const fromV6Loopback = await requestFromV6Loopback(app.port, headers);
        expect(fromV6Loopback.status).to.equal(403);
        expect(parseBody(fromV6Loopback.text).code).to.equal('client_certificate_required');
      } finally {
        await app.close();
      }
    });
  }

  it('a trustProxy function is given the socket address (mapped form included), never a forwarded claim', async () => {
    const asked: string[] = [];
    const app = await startServer('express', {
      host: '::',
      options: {
        ca: root.cert,
        trustProxy: (address) => {
          asked.push(address);
          return address === `::ffff:${PROXY}`;
        },
      },
    });
    try {
      const headers = {
        'x-forwarded-client-cert': envoyXfcc(alice),
        'x-forwarded-for': `::ffff:${PROXY}`,
        forwarded: `for=${PROXY}`,
      };
      const res = await request({ url: app.url('127.0.0.1'), path: '/whoami', headers, localAddress: STRANGER });
      expect(res.status).to.equal(403);
      expect(asked).to.deep.equal([`::ffff:${STRANGER}`]);
      const ok = await request({ url: app.url('127.0.0.1'), path: '/whoami', headers, localAddress: PROXY });
      expect(ok.status).to.equal(200);
    } finally {
      await app.close();
    }
  });
});
