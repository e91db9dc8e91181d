/**
 * Cloudflare and AWS ALB in front of the app: both connect from addresses the operator must name
 * (Cloudflare's published ranges, the ALB's subnets), and both may reach the app over TLS.
 *
 * 1. With the default trustProxy (loopback) their headers from any private-range host are ignored
 *    (forged-headers.ts), and the start-up warns `trust_proxy_default`.
 * 2. Cloudflare Authenticated Origin Pulls: Cloudflare's connection presents its own certificate
 *    (CN=origin-pull.cloudflare.net, which the server's TLS `ca` verifies). With `proxy:
 *    'cloudflare'` the identity comes from cf-client-cert-der-base64 (+ cf-cert-verified) only:
 *    Alice's headers → 200 alice; no headers → 403, never origin-pull.
 * 3. ALB with HTTPS targets: the ALB connects over TLS without a client certificate; with `proxy:
 *    'aws-alb'` the identity comes from x-amzn-mtls-clientcert-leaf → 200 alice (it was 403: the
 *    TLS connection was read, and had no certificate).
 * trustProxy is 127.0.0.1 here (standing for the proxy's addresses); 10.213.0.2 is anyone else.
 */
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { adapters, type TlsServerOptions } from '../conformance/harness.js';
import { request } from '../helpers/http-client.js';
import { captureLog, expectWhoCanMint, outcome } from './apps.js';
import { DEPLOYMENTS, type Fixtures, fixtures, presetHeaders } from './fixtures.js';
import { forgedHeaderSuite } from './forged-headers.js';
import { peer, usePrivatePeers } from './private-peers.js';

const ALICE = 'CN=alice,O=Acme';
const PROXY = '127.0.0.1';

interface Config {
  title: string;
  options(f: Fixtures): ClientCertOptions;
  verifiedBy: 'proxy' | 'chain';
  who: string;
}

const verdictOrCa = (proxy: 'cloudflare' | 'aws-alb'): Config[] => [
  {
    title: `proxy: '${proxy}', trustProxy: '${PROXY}' (the proxy's verification counts)`,
    options: () => ({ proxy, trustProxy: PROXY }),
    verifiedBy: 'proxy',
    who: `any peer in trustProxy (${PROXY}), with any certificate it says it verified`,
  },
  {
    title: `proxy: '${proxy}', trustProxy: '${PROXY}', ca`,
    options: (f) => ({ proxy, trustProxy: PROXY, ca: f.root.cert }),
    verifiedBy: 'chain',
    who: `any peer in trustProxy (${PROXY}), with any certificate the trust anchors accept: forwarded certificates prove no key possession`,
  },
];

/** One HTTPS GET /whoami from `from`, optionally presenting a client certificate. */
async function get(
  port: number,
  f: Fixtures,
  from: string,
  client: { cert: string; key: string } | null,
  headers: Record<string, string> = {},
): Promise<string> {
  return outcome(
    await request({
      url: `https://127.0.0.1:${port}`,
      path: '/whoami',
      localAddress: from,
      ca: f.root.cert,
      headers,
      ...(client ?? {}),
    }),
  );
}

describe('deployments: Cloudflare and AWS ALB', () => {
  usePrivatePeers();
  forgedHeaderSuite(DEPLOYMENTS.cloudflare);
  forgedHeaderSuite(DEPLOYMENTS['aws-alb']);

  describe("Cloudflare Authenticated Origin Pulls: the origin-pull certificate is Cloudflare's, never a user's", () => {
    let f: Fixtures;
    before(async () => {
      f = await fixtures();
    });

    for (const config of verdictOrCa('cloudflare')) {
      for (const adapter of adapters) {
        it(`${config.title}, ${adapter.name}`, async () => {
          // The origin's TLS trusts only the origin-pull CA, as Cloudflare's set-up says.
          const tls: TlsServerOptions = {
            cert: f.server.cert,
            key: f.server.key,
            ca: f.originPullCa.cert,
            requestCert: true,
            rejectUnauthorized: false,
          };
          const log = captureLog();
          const app = await adapter.start({ options: { ...config.options(f), logger: log.logger }, tls });
          try {
            const port = Number(new URL(app.url).port);
            const originPull = { cert: f.originPull.cert, key: f.originPull.key };
            const aliceHeaders = presetHeaders('cloudflare', f.alice);
            const got: Record<string, string> = {
              "origin pull, Alice's headers": await get(port, f, PROXY, originPull, aliceHeaders),
              'origin pull, no headers': await get(port, f, PROXY, originPull),
              "origin pull from 10/8 (not in trustProxy), Alice's headers": await get(
                port,
                f,
                peer('10/8').address,
                originPull,
                aliceHeaders,
              ),
            };
            const expected: Record<string, string> = {
              "origin pull, Alice's headers": `200 ${ALICE} source=base64-der verifiedBy=${config.verifiedBy}`,
              'origin pull, no headers': '403 client_certificate_required',
              "origin pull from 10/8 (not in trustProxy), Alice's headers": '403 client_certificate_required',
            };
            if (config.verifiedBy === 'proxy') {
              got["origin pull, Alice's certificate, cf-cert-verified: false"] = await get(port, f, PROXY, originPull, {
                ...aliceHeaders,
                'cf-cert-verified': 'false',
              });
              expected["origin pull, Alice's certificate, cf-cert-verified: false"] =
                '403 client_certificate_untrusted';
            }
            expect(got).to.deep.equal(expected);
            expectWhoCanMint(log, config.who);
          } finally {
            await app.close();
          }
        });
      }
    }
  });

  describe('ALB with HTTPS targets: the identity is the x-amzn-mtls-clientcert-leaf header, not the TLS connection', () => {
    let f: Fixtures;
    before(async () => {
      f = await fixtures();
    });

    for (const config of verdictOrCa('aws-alb')) {
      for (const adapter of adapters) {
        it(`${config.title}, ${adapter.name}`, async () => {
          const tls: TlsServerOptions = {
            cert: f.server.cert,
            key: f.server.key,
            ca: f.root.cert,
            requestCert: true,
            rejectUnauthorized: false,
          };
          const log = captureLog();
          const app = await adapter.start({ options: { ...config.options(f), logger: log.logger }, tls });
          try {
            const port = Number(new URL(app.url).port);
            const leaf = presetHeaders('aws-alb', f.alice);
            const alice = { cert: f.alice.cert, key: f.alice.key };
            expect({
              "ALB over TLS (no client certificate), Alice's headers": await get(port, f, PROXY, null, leaf),
              'ALB over TLS, no header': await get(port, f, PROXY, null),
              "from 10/8 (not in trustProxy) over TLS, Alice's headers": await get(
                port,
                f,
                peer('10/8').address,
                null,
                leaf,
              ),
              "from the ALB's address with Alice's own TLS certificate, no header": await get(port, f, PROXY, alice),
            }).to.deep.equal({
              "ALB over TLS (no client certificate), Alice's headers": `200 ${ALICE} source=aws-alb verifiedBy=${config.verifiedBy}`,
              'ALB over TLS, no header': '403 client_certificate_required',
              "from 10/8 (not in trustProxy) over TLS, Alice's headers": '403 client_certificate_required',
              // With a proxy named, the TLS connection is never read (it is the proxy's).
              "from the ALB's address with Alice's own TLS certificate, no header": '403 client_certificate_required',
            });
            expectWhoCanMint(log, config.who);
          } finally {
            await app.close();
          }
        });
      }
    }
  });
});
