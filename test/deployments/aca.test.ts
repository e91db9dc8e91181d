/**
 * Azure Container Apps. Its ingress (Envoy) accepts any client certificate, self-signed ones
 * included, verifies nothing, and puts it in X-Forwarded-Client-Cert; it connects to the
 * container from the environment's private network, so the ACA default trustProxy is loopback,
 * the private ranges and 100.64/10. Trust must therefore come from `ca` (or pins): without them
 * ACA admits nobody; `proxyVerified` cannot be set; accepting anything the ingress saw is only
 * `dangerouslyTrustAnyForwardedCertificate: true`, which says so at every start-up.
 *
 * Every case runs with the preset named (`proxy: 'azure-container-apps'`) and with ACA detected
 * from its environment (CONTAINER_APP_NAME and CONTAINER_APP_ENV_DNS_SUFFIX set while the app is
 * constructed, restored afterwards), on every adapter. The ingress is played by peers in 10/8,
 * 100.64/10 and fc00::/7 (on the harness's 127.0.0.1 server and on a dual-stack one).
 */
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { type Adapter, adapters } from '../conformance/harness.js';
import {
  type CapturedLog,
  captureLog,
  expectWhoCanMint,
  getFrom,
  startDualStack,
  startupLine,
  warningsCoded,
  withEnv,
} from './apps.js';
import { type Fixtures, fixtures } from './fixtures.js';
import { peer, usePrivatePeers } from './private-peers.js';

/** What ACA's environment sets in every container. */
const ACA_ENV = {
  CONTAINER_APP_NAME: 'orders',
  CONTAINER_APP_ENV_DNS_SUFFIX: 'kindhill-1234abcd.westeurope.azurecontainerapps.io',
};
const ACA_PEERS = 'loopback, uniquelocal, 100.64.0.0/10';

interface How {
  title: string;
  /** The options as the user writes them for ACA. */
  options(extra: ClientCertOptions): ClientCertOptions;
  /** Runs the app's construction (the environment is set only meanwhile). */
  around<T>(body: () => Promise<T>): Promise<T>;
  /** In the start-up line. */
  says: string;
}

const HOWS: How[] = [
  {
    title: "proxy: 'azure-container-apps'",
    options: (extra) => ({ proxy: 'azure-container-apps', ...extra }),
    around: (body) => body(),
    says: 'clientcert: mode require; proxy azure-container-apps; ',
  },
  {
    title: 'ACA detected from the environment',
    options: (extra) => extra,
    around: (body) => withEnv(ACA_ENV, body),
    says: 'clientcert: mode require; proxy azure-container-apps (detected from the environment); ',
  },
];

/** ACA's XFCC: one element, Hash;Cert;Chain (header-formats §2). */
const acaXfcc = (cert: TestCertificate): Record<string, string> => ({
  'x-forwarded-client-cert': envoyXfcc(cert, { details: ['Cert', 'Chain'] }),
});

/** The same request from the ingress's possible addresses; every outcome must be `expected`. */
async function fromIngress(
  adapter: Adapter,
  how: How,
  options: ClientCertOptions,
  cert: TestCertificate,
): Promise<{ got: Record<string, string>; logs: CapturedLog[] }> {
  const logs = [captureLog(), captureLog()];
  const [v4, dual] = await how.around(() =>
    Promise.all([
      adapter.start({ options: { ...options, logger: logs[0]!.logger } }),
      startDualStack(adapter.name, { ...options, logger: logs[1]!.logger }),
    ]),
  );
  try {
    const port4 = Number(new URL(v4.url).port);
    const headers = acaXfcc(cert);
    const got = {
      '10/8 → 127.0.0.1': await getFrom('127.0.0.1', port4, peer('10/8').address, headers),
      '100.64/10 → 127.0.0.1': await getFrom('127.0.0.1', port4, peer('100.64/10').address, headers),
      '10/8 → :: (mapped)': await getFrom('127.0.0.1', dual.port, peer('10/8').address, headers),
      'fc00::/7 → ::': await getFrom('::1', dual.port, peer('fc00::/7').address, headers),
    };
    return { got, logs };
  } finally {
    await Promise.all([v4.close(), dual.close()]);
  }
}

const every = (outcome: string): Record<string, string> => ({
  '10/8 → 127.0.0.1': outcome,
  '100.64/10 → 127.0.0.1': outcome,
  '10/8 → :: (mapped)': outcome,
  'fc00::/7 → ::': outcome,
});

describe('deployments: Azure Container Apps', () => {
  usePrivatePeers();
  const ambient = { name: process.env.CONTAINER_APP_NAME, suffix: process.env.CONTAINER_APP_ENV_DNS_SUFFIX };
  let f: Fixtures;
  before(async () => {
    f = await fixtures();
  });

  for (const how of HOWS) {
    describe(how.title, () => {
      for (const adapter of adapters) {
        it(`${adapter.name}: no ca or pins admits nobody: a self-signed CN=anyone-at-all (and Alice's real certificate) from the ingress → 403 client_certificate_untrusted`, async () => {
          for (const cert of [f.anyone, f.alice]) {
            const { got, logs } = await fromIngress(adapter, how, how.options({}), cert);
            expect(got, cert.x509.subject).to.deep.equal(every('403 client_certificate_untrusted'));
            for (const log of logs) {
              expect(startupLine(log)).to.include(how.says);
              expect(startupLine(log)).to.include(
                `; forwarded headers trusted from ${ACA_PEERS} (default for azure-container-apps); `,
              );
              expectWhoCanMint(log, 'nobody (no certificate can be trusted)');
              // The warning names the fix (ca or pins) and never suggests proxyVerified.
              const [untrusted, ...more] = warningsCoded(log, 'forwarded_untrusted');
              expect(more).to.deep.equal([]);
              expect(untrusted).to.include('set `ca`');
              expect(untrusted).to.include('(azure-container-apps forwards certificates without verifying them)');
              expect(untrusted).not.to.include('proxyVerified');
              expect(warningsCoded(log, 'trust_proxy_default')).to.deep.equal([]);
            }
          }
        });

        it(`${adapter.name}: proxyVerified: true → construction throws invalid_option`, async () => {
          const error = await how
            .around(() => adapter.construct(how.options({ proxyVerified: true }), 'app'))
            .then(
              () => null,
              (e: unknown) => e as { code?: string; message?: string },
            );
          expect(error, 'construction succeeded').not.to.equal(null);
          expect(error!.code).to.equal('invalid_option');
          expect(error!.message).to.include('proxyVerified');
          expect(error!.message).to.include('azure-container-apps');
        });

        it(`${adapter.name}: with ca, Alice → 200 verifiedBy chain; self-signed CN=anyone-at-all → 403 client_certificate_untrusted`, async () => {
          const options = how.options({ ca: f.root.cert });
          const alice = await fromIngress(adapter, how, options, f.alice);
          expect(alice.got).to.deep.equal(every('200 CN=alice,O=Acme source=xfcc verifiedBy=chain'));
          const anyone = await fromIngress(adapter, how, options, f.anyone);
          expect(anyone.got).to.deep.equal(every('403 client_certificate_untrusted'));
          for (const log of alice.logs) {
            expectWhoCanMint(
              log,
              `any peer in trustProxy (${ACA_PEERS}), with any certificate the trust anchors accept: forwarded certificates prove no key possession`,
            );
            expect(warningsCoded(log, 'forwarded_untrusted')).to.deep.equal([]);
          }
        });

        it(`${adapter.name}: dangerouslyTrustAnyForwardedCertificate: true → CN=anyone-at-all 200 verifiedBy none, and the start-up warns unverified_forwarded`, async () => {
          const { got, logs } = await fromIngress(
            adapter,
            how,
            how.options({ dangerouslyTrustAnyForwardedCertificate: true }),
            f.anyone,
          );
          expect(got).to.deep.equal(every('200 CN=anyone-at-all source=xfcc verifiedBy=none'));
          for (const log of logs) {
            const [warning, ...more] = warningsCoded(log, 'unverified_forwarded');
            expect(more).to.deep.equal([]);
            expect(warning).to.include(
              `dangerouslyTrustAnyForwardedCertificate is on: any peer in trustProxy (${ACA_PEERS}) can present a certificate it made itself`,
            );
            expectWhoCanMint(
              log,
              `any peer in trustProxy (${ACA_PEERS}), with any certificate at all, even one it made itself`,
            );
            expect(startupLine(log)).to.include(
              'trust: NOTHING for forwarded certificates (dangerouslyTrustAnyForwardedCertificate)',
            );
          }
        });
      }
    });
  }

  describe('afterwards', () => {
    it('the environment is as it was (the other tests see no ACA)', () => {
      expect({ name: process.env.CONTAINER_APP_NAME, suffix: process.env.CONTAINER_APP_ENV_DNS_SUFFIX }).to.deep.equal(
        ambient,
      );
    });
  });
});
