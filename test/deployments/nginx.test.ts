/**
 * nginx in front of the app.
 *
 * 1. nginx beside the app (loopback): a forged ssl-client-cert + `ssl-client-verify: SUCCESS` from
 *    any private-range host is ignored (forged-headers.ts).
 * 2. Real nginx re-encrypting to the app over TLS with its own client certificate
 *    (`proxy_ssl_certificate`, CN=nginx-upstream-client, issued by the clients' CA, so the app's
 *    TLS stack verifies it): the connection's certificate is nginx's, never an end user's. An end
 *    user without a certificate gets 403 client_certificate_required, with `proxy: 'nginx'` and with
 *    `source: ['url-pem', 'tls']`; Alice gets 200 alice by the header. Direct clients of the TLS
 *    port: under `['url-pem', 'tls']` a peer outside trustProxy is a client (its TLS certificate
 *    counts, its headers do not); a trusted peer's TLS certificate never counts. `source: 'tls'`
 *    (TLS passthrough) is the control that nginx really presents its certificate. The default
 *    options (`auto`, no proxy named) are the documented trade-off: the TLS peer is taken for the
 *    client, so nginx's certificate is read, and the warning proxy_not_named says to name it.
 */
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { adapters, type RunningApp } from '../conformance/harness.js';
import { nginxEscape } from '../helpers/encodings.js';
import { request } from '../helpers/http-client.js';
import { throughProxy } from '../interop/client.js';
import { type RunningProxy, requireBinary, startProxy } from '../interop/proxy-process.js';
import { type CapturedLog, captureLog, expectWhoCanMint, outcome, warningsCoded } from './apps.js';
import { DEPLOYMENTS, type Fixtures, fixtures } from './fixtures.js';
import { forgedHeaderSuite } from './forged-headers.js';
import { NGINX_HEADERS, nginxSiteLaunch } from './nginx-site.js';
import { peer, usePrivatePeers } from './private-peers.js';

const ALICE = 'CN=alice,O=Acme';
const TRUST_ANCHORS_FORWARDED =
  'any peer in trustProxy (loopback), with any certificate the trust anchors accept: forwarded certificates prove no key possession';

interface ReencryptConfig {
  name: string;
  title: string;
  options(f: Fixtures): ClientCertOptions;
  /** What nginx forwards (default: the example's ssl-client-cert and ssl-client-verify). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** Warnings that must have been logged once each, by code. */
  warns?: string[];
  /** Expected outcomes, by request. */
  expected: Record<Request, string>;
  who: string;
}

type Request =
  | 'via nginx, no certificate'
  | 'via nginx, no certificate, forged ssl-client-cert for Alice'
  | 'via nginx, Alice'
  | "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory"
  | "direct from 127.0.0.1, Alice's TLS certificate";

const CONFIGS: ReencryptConfig[] = [
  {
    name: 'proxy-nginx',
    title: "proxy: 'nginx'",
    options: () => ({ proxy: 'nginx' }),
    expected: {
      'via nginx, no certificate': '403 client_certificate_required',
      'via nginx, no certificate, forged ssl-client-cert for Alice': '403 client_certificate_required',
      'via nginx, Alice': `200 ${ALICE} source=url-pem verifiedBy=proxy`,
      "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory":
        '403 client_certificate_required',
      "direct from 127.0.0.1, Alice's TLS certificate": '403 client_certificate_required',
    },
    who: 'any peer in trustProxy (loopback), with any certificate it says it verified',
  },
  {
    name: 'proxy-nginx-ca',
    title: "proxy: 'nginx', ca",
    options: (f) => ({ proxy: 'nginx', ca: f.root.cert }),
    expected: {
      'via nginx, no certificate': '403 client_certificate_required',
      'via nginx, no certificate, forged ssl-client-cert for Alice': '403 client_certificate_required',
      'via nginx, Alice': `200 ${ALICE} source=url-pem verifiedBy=chain`,
      "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory":
        '403 client_certificate_required',
      "direct from 127.0.0.1, Alice's TLS certificate": '403 client_certificate_required',
    },
    who: TRUST_ANCHORS_FORWARDED,
  },
  {
    name: 'url-pem-then-tls-ca',
    title: "source: ['url-pem', 'tls'], ca",
    options: (f) => ({ source: ['url-pem', 'tls'], ca: f.root.cert }),
    expected: {
      'via nginx, no certificate': '403 client_certificate_required',
      'via nginx, no certificate, forged ssl-client-cert for Alice': '403 client_certificate_required',
      'via nginx, Alice': `200 ${ALICE} source=url-pem verifiedBy=chain`,
      // A peer outside trustProxy is a client: its TLS certificate counts, its header does not.
      "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory": `200 ${ALICE} source=tls verifiedBy=chain`,
      // A peer in trustProxy is a proxy: its TLS certificate is its own.
      "direct from 127.0.0.1, Alice's TLS certificate": '403 client_certificate_required',
    },
    who: `a TLS client holding the private key of a certificate that chains to the trust anchors; and ${TRUST_ANCHORS_FORWARDED}`,
  },
  {
    // The control: TLS passthrough reads the connection's certificate, here nginx's own.
    name: 'tls-only',
    title: "source: 'tls' (the control: TLS passthrough reads nginx's own certificate)",
    options: () => ({ source: 'tls' }),
    expected: {
      'via nginx, no certificate': '200 CN=nginx-upstream-client source=tls verifiedBy=tls',
      'via nginx, no certificate, forged ssl-client-cert for Alice':
        '200 CN=nginx-upstream-client source=tls verifiedBy=tls',
      'via nginx, Alice': '200 CN=nginx-upstream-client source=tls verifiedBy=tls',
      "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory": `200 ${ALICE} source=tls verifiedBy=tls`,
      "direct from 127.0.0.1, Alice's TLS certificate": `200 ${ALICE} source=tls verifiedBy=tls`,
    },
    who: 'a TLS client holding the private key of a certificate that the TLS stack verified',
  },
  {
    // `auto` without `proxy`: a TLS peer is the client, whatever its address, so that direct mTLS
    // works on loopback too. A trusted peer that forwards XFCC over TLS is a re-encrypting proxy
    // nobody named: its requests are refused (neither its own certificate nor its header counts),
    // with the proxy_not_named warning saying to name it. Naming the proxy (above) is the fix.
    name: 'auto-xfcc-proxy-not-named',
    title:
      "default options (no proxy named), nginx sending XFCC over TLS: refused, never the proxy's identity; warning proxy_not_named",
    options: () => ({}),
    headers: [['X-Forwarded-Client-Cert', '\'Cert="$ssl_client_escaped_cert";Subject="$ssl_client_s_dn"\'']],
    warns: ['proxy_not_named'],
    expected: {
      'via nginx, no certificate': '403 client_certificate_untrusted',
      'via nginx, no certificate, forged ssl-client-cert for Alice': '403 client_certificate_untrusted',
      'via nginx, Alice': '403 client_certificate_untrusted',
      "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory": `200 ${ALICE} source=tls verifiedBy=tls`,
      "direct from 127.0.0.1, Alice's TLS certificate": `200 ${ALICE} source=tls verifiedBy=tls`,
    },
    who: 'a TLS client holding the private key of a certificate that the TLS stack verified',
  },
];

describe('deployments: nginx', () => {
  usePrivatePeers();
  forgedHeaderSuite(DEPLOYMENTS.nginx);

  describe("real nginx re-encrypting to the app with proxy_ssl_certificate (CN=nginx-upstream-client): with the proxy named, or `tls` listed beside its header, the proxy's certificate never authenticates an end user", () => {
    let f: Fixtures;
    let nginx: RunningProxy | undefined;
    const apps: RunningApp[] = [];
    const running = new Map<string, { port: number; log: CapturedLog }>();

    before(async function () {
      const binary = requireBinary(this, 'nginx');
      f = await fixtures();
      const tls = {
        cert: f.server.cert,
        key: f.server.key,
        ca: f.root.cert,
        requestCert: true as const,
        rejectUnauthorized: false as const,
      };
      for (const config of CONFIGS) {
        for (const adapter of adapters) {
          const log = captureLog();
          const app = await adapter.start({ options: { ...config.options(f), logger: log.logger }, tls });
          apps.push(app);
          running.set(`${adapter.name}-${config.name}`, { port: Number(new URL(app.url).port), log });
        }
      }
      nginx = await startProxy(
        nginxSiteLaunch(
          binary,
          f,
          CONFIGS.flatMap((config) =>
            adapters.map((adapter) => ({
              name: `${adapter.name}-${config.name}`,
              upstream: { scheme: 'https' as const, port: running.get(`${adapter.name}-${config.name}`)!.port },
              headers: config.headers ?? NGINX_HEADERS,
            })),
          ),
        ),
      );
    });

    after(async () => {
      await nginx?.stop();
      await Promise.all(apps.map((app) => app.close()));
    });

    for (const config of CONFIGS) {
      for (const adapter of adapters) {
        it(`${config.title}, ${adapter.name}`, async () => {
          const { port, log } = running.get(`${adapter.name}-${config.name}`)!;
          const path = `/${adapter.name}-${config.name}/whoami`;
          const via = async (
            client: { cert?: string; key?: string },
            headers: Record<string, string> = {},
          ): Promise<string> => {
            const res = await throughProxy({ port: nginx!.port, path, ca: f.root.cert, headers, ...client });
            return res.kind === 'response' ? outcome(res) : `no response: ${res.code} ${res.message}`;
          };
          const direct = async (from: string, headers: Record<string, string> = {}): Promise<string> =>
            outcome(
              await request({
                url: `https://127.0.0.1:${port}`,
                path: '/whoami',
                localAddress: from,
                headers,
                ca: f.root.cert,
                cert: f.alice.cert,
                key: f.alice.key,
              }),
            );
          const got: Record<Request, string> = {
            'via nginx, no certificate': await via({}),
            'via nginx, no certificate, forged ssl-client-cert for Alice': await via(
              {},
              { 'ssl-client-cert': nginxEscape(f.alice.cert), 'ssl-client-verify': 'SUCCESS' },
            ),
            'via nginx, Alice': await via({ cert: f.alice.cert, key: f.alice.key }),
            "direct from 10/8, Alice's TLS certificate, forged ssl-client-cert for Mallory": await direct(
              peer('10/8').address,
              { 'ssl-client-cert': nginxEscape(f.mallory.cert), 'ssl-client-verify': 'SUCCESS' },
            ),
            "direct from 127.0.0.1, Alice's TLS certificate": await direct('127.0.0.1'),
          };
          expect(got, nginx!.output()).to.deep.equal(config.expected);
          expectWhoCanMint(log, config.who);
          for (const code of ['proxy_not_named', 'trust_proxy_default', 'forwarded_untrusted']) {
            expect(warningsCoded(log, code), `warning ${code}: ${log.warn.join('\n')}`).to.have.length(
              config.warns?.includes(code) ? 1 : 0,
            );
          }
        });
      }
    }
  });
});
