/**
 * Kubernetes ingress-nginx in front of the app.
 *
 * 1. The ingress controller connects from the pod network, which the default trustProxy
 *    (loopback) does not trust: every other pod forging the four ssl-client-* headers is ignored
 *    (forged-headers.ts), and the start-up warns `trust_proxy_default`.
 * 2. The proxy's description must agree with the certificate. ingress-nginx writes
 *    ssl-client-verify and the subject and issuer DNs from the client's real certificate on every
 *    host with `auth-tls-secret`, but overwrites ssl-client-cert only with
 *    `auth-tls-pass-certificate-to-upstream: "true"` (header-formats §5.3). Without it Mallory,
 *    holding her own valid certificate, sends Alice's public certificate in ssl-client-cert and
 *    nginx forwards it beside Mallory's DNs and SUCCESS: the mismatch must be refused (403
 *    client_certificate_untrusted), and a certificate header without the DN headers too.
 *    Shown with the headers sent straight from loopback, and through real nginx configured as
 *    ingress-nginx's template configures it.
 *
 * The refusals come from the DN cross-check (sources/proxy-description.ts): without it the
 * ingress-nginx preset would not compare the DN headers, and Mallory would get in as Alice.
 */
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { adapters, type RunningApp } from '../conformance/harness.js';
import { nginxEscape } from '../helpers/encodings.js';
import { throughProxy } from '../interop/client.js';
import { type RunningProxy, requireBinary, startProxy } from '../interop/proxy-process.js';
import { type CapturedLog, captureLog, expectWhoCanMint, getFrom, outcome } from './apps.js';
import { DEPLOYMENTS, type Fixtures, fixtures, rfc2253 } from './fixtures.js';
import { forgedHeaderSuite } from './forged-headers.js';
import { ingressNginxHeaders, nginxSiteLaunch } from './nginx-site.js';
import { usePrivatePeers } from './private-peers.js';

const ALICE = 'CN=alice,O=Acme';
const MALLORY = 'CN=mallory,O=Acme';

interface AppConfig {
  title: string;
  options(f: Fixtures): ClientCertOptions;
  verifiedBy: 'proxy' | 'chain';
  who: string;
}

const APP_CONFIGS: AppConfig[] = [
  {
    title: "proxy: 'ingress-nginx', ca",
    options: (f) => ({ proxy: 'ingress-nginx', ca: f.root.cert }),
    verifiedBy: 'chain',
    who: 'any peer in trustProxy (loopback), with any certificate the trust anchors accept: forwarded certificates prove no key possession',
  },
  {
    title: "proxy: 'ingress-nginx' (its verdict counts)",
    options: () => ({ proxy: 'ingress-nginx' }),
    verifiedBy: 'proxy',
    who: 'any peer in trustProxy (loopback), with any certificate it says it verified',
  },
];

describe('deployments: ingress-nginx', () => {
  usePrivatePeers();
  forgedHeaderSuite(DEPLOYMENTS['ingress-nginx']);

  describe('the DN headers must agree with ssl-client-cert (headers from the trusted proxy on loopback)', () => {
    let f: Fixtures;
    before(async () => {
      f = await fixtures();
    });

    for (const config of APP_CONFIGS) {
      for (const adapter of adapters) {
        const start = async (): Promise<{ app: RunningApp; port: number; log: CapturedLog }> => {
          const log = captureLog();
          const app = await adapter.start({ options: { ...config.options(f), logger: log.logger } });
          return { app, port: Number(new URL(app.url).port), log };
        };
        const send = (port: number, headers: Record<string, string>): Promise<string> =>
          getFrom('127.0.0.1', port, '127.0.0.1', headers);
        const dns = (subjectOf: typeof f.alice, issuerOf: typeof f.alice): Record<string, string> => ({
          'ssl-client-subject-dn': rfc2253(subjectOf.x509.subject),
          'ssl-client-issuer-dn': rfc2253(issuerOf.x509.issuer),
        });

        it(`${config.title}, ${adapter.name}: matching DNs → 200 alice (the control)`, async () => {
          const { app, port, log } = await start();
          try {
            const headers = {
              'ssl-client-cert': nginxEscape(f.alice.cert),
              'ssl-client-verify': 'SUCCESS',
              ...dns(f.alice, f.alice),
            };
            expect(await send(port, headers)).to.equal(`200 ${ALICE} source=url-pem verifiedBy=${config.verifiedBy}`);
            expectWhoCanMint(log, config.who);
          } finally {
            await app.close();
          }
        });

        it(`${config.title}, ${adapter.name}: Mallory's real DNs, SUCCESS, Alice's certificate → 403 client_certificate_untrusted`, async () => {
          const { app, port } = await start();
          try {
            const headers = {
              'ssl-client-cert': nginxEscape(f.alice.cert),
              'ssl-client-verify': 'SUCCESS',
              ...dns(f.mallory, f.mallory),
            };
            expect(await send(port, headers)).to.equal('403 client_certificate_untrusted');
          } finally {
            await app.close();
          }
        });

        it(`${config.title}, ${adapter.name}: Alice's subject DN with another issuer DN → 403 client_certificate_untrusted`, async () => {
          const { app, port } = await start();
          try {
            const headers = {
              'ssl-client-cert': nginxEscape(f.alice.cert),
              'ssl-client-verify': 'SUCCESS',
              'ssl-client-subject-dn': rfc2253(f.alice.x509.subject),
              'ssl-client-issuer-dn': rfc2253(f.originPullCa.x509.subject),
            };
            expect(await send(port, headers)).to.equal('403 client_certificate_untrusted');
          } finally {
            await app.close();
          }
        });

        it(`${config.title}, ${adapter.name}: ssl-client-cert without the DN headers → 403 client_certificate_untrusted`, async () => {
          const { app, port } = await start();
          try {
            expect(
              await send(port, { 'ssl-client-cert': nginxEscape(f.alice.cert), 'ssl-client-verify': 'SUCCESS' }),
            ).to.equal('403 client_certificate_untrusted');
          } finally {
            await app.close();
          }
        });
      }
    }
  });

  describe("through real nginx configured as ingress-nginx's template (auth-tls-secret, verify optional)", () => {
    let f: Fixtures;
    let nginx: RunningProxy | undefined;
    const apps: RunningApp[] = [];

    before(async function () {
      const binary = requireBinary(this, 'nginx');
      f = await fixtures();
      const locations = [];
      for (const adapter of adapters) {
        const app = await adapter.start({ options: { proxy: 'ingress-nginx', ca: f.root.cert } });
        apps.push(app);
        const port = Number(new URL(app.url).port);
        locations.push(
          {
            name: `${adapter.name}-pass`,
            upstream: { scheme: 'http' as const, port },
            headers: ingressNginxHeaders(true),
          },
          {
            name: `${adapter.name}-nopass`,
            upstream: { scheme: 'http' as const, port },
            headers: ingressNginxHeaders(false),
          },
        );
      }
      nginx = await startProxy(nginxSiteLaunch(binary, f, locations));
    });

    after(async () => {
      await nginx?.stop();
      await Promise.all(apps.map((app) => app.close()));
    });

    const via = async (
      path: string,
      client: { cert: string; key: string } | null,
      headers: Record<string, string> = {},
    ): Promise<string> => {
      const res = await throughProxy({ port: nginx!.port, path, ca: f.root.cert, headers, ...(client ?? {}) });
      return res.kind === 'response' ? outcome(res) : `no response: ${res.code} ${res.message}`;
    };
    const forgedAlice = (): Record<string, string> => ({ 'ssl-client-cert': nginxEscape(f.alice.cert) });

    for (const adapter of adapters) {
      it(`auth-tls-pass-certificate-to-upstream "true", ${adapter.name}: Alice → 200 alice (nginx's own DNs agree); Mallory forging Alice's certificate → 200 mallory (overwritten); no certificate, forged headers → 403 client_certificate_required`, async () => {
        const path = `/${adapter.name}-pass/whoami`;
        const forgedAll = {
          ...forgedAlice(),
          'ssl-client-verify': 'SUCCESS',
          'ssl-client-subject-dn': ALICE,
          'ssl-client-issuer-dn': rfc2253(f.alice.x509.issuer),
        };
        expect(
          {
            alice: await via(path, f.alice),
            mallory: await via(path, f.mallory, forgedAlice()),
            nobody: await via(path, null, forgedAll),
          },
          nginx!.output(),
        ).to.deep.equal({
          alice: `200 ${ALICE} source=url-pem verifiedBy=chain`,
          mallory: `200 ${MALLORY} source=url-pem verifiedBy=chain`,
          nobody: '403 client_certificate_required',
        });
      });

      it(`without auth-tls-pass-certificate-to-upstream, ${adapter.name}: Mallory with her own certificate sending ssl-client-cert: <Alice's escaped PEM> → 403 client_certificate_untrusted`, async () => {
        expect(await via(`/${adapter.name}-nopass/whoami`, f.mallory, forgedAlice()), nginx!.output()).to.equal(
          '403 client_certificate_untrusted',
        );
      });

      it(`without auth-tls-pass-certificate-to-upstream, ${adapter.name}: Alice (no certificate header reaches the app) → 403 client_certificate_required`, async () => {
        expect(await via(`/${adapter.name}-nopass/whoami`, f.alice), nginx!.output()).to.equal(
          '403 client_certificate_required',
        );
      });
    }
  });
});
