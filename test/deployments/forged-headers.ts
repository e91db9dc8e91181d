/**
 * Item 1 of the deployment suite, for one deployment: a forwarded header from a host of a private
 * range that the configuration does not name is ignored, and the SAME request from loopback (the
 * default trustProxy) is honored, so that the test fails if headers were ignored altogether.
 *
 * For each configuration (the user's options without `ca` and a self-made certificate; with `ca`
 * and Alice's real, public certificate; for proxies whose verification is a matter of their
 * configuration, `proxyVerified: true`) × mode × adapter, two servers run the same app:
 * - the harness's, on 127.0.0.1: IPv4 peers arrive as themselves (`10.213.0.2`);
 * - a dual-stack one on `::`: IPv4 peers arrive mapped (`::ffff:10.213.0.2`), IPv6 peers as they are.
 * Every peer sends the headers (plus an X-Forwarded-For claiming loopback), and the outcomes are
 * compared as one table, so that a failure shows every peer at once. The start-up line must say
 * who can mint an identity.
 */
import { expect } from 'chai';
import { type ClientCertOptions, PRESETS, type ProxyName } from '../../packages/core/src/index.js';
import type { TestCertificate } from '../../packages/core/src/testkit/index.js';
import { adapters } from '../conformance/harness.js';
import {
  type CapturedLog,
  captureLog,
  expectWhoCanMint,
  getFrom,
  startDualStack,
  startupLine,
  warningsCoded,
} from './apps.js';
import { type Deployment, type Fixtures, fixtures } from './fixtures.js';
import { PRIVATE_PEERS } from './private-peers.js';

interface Variant {
  title: string;
  options(f: Fixtures): ClientCertOptions;
  cert(f: Fixtures): TestCertificate;
  /** What loopback gets (`<status> <code>` or `200 <subject> source=… verifiedBy=…`). */
  fromLoopback: string;
  /** The start-up line's `who can mint an identity:` clause. */
  who: string;
}

const LOOPBACK_PROXY_WORD = 'any peer in trustProxy (loopback), with any certificate it says it verified';
const LOOPBACK_ANCHORS =
  'any peer in trustProxy (loopback), with any certificate the trust anchors accept: forwarded certificates prove no key possession';
const NOBODY = 'nobody (no certificate can be trusted)';

function variants(d: Deployment): Variant[] {
  const proxyCounts = d.verification !== 'config';
  const list: Variant[] = [
    {
      title: `default options${proxyCounts ? " (the proxy's verdict counts)" : ''}, a self-made CN=admin`,
      options: () => d.options,
      cert: (f) => f.admin,
      fromLoopback: proxyCounts
        ? `200 CN=admin source=${d.source} verifiedBy=proxy`
        : '403 client_certificate_untrusted',
      who: proxyCounts ? LOOPBACK_PROXY_WORD : NOBODY,
    },
  ];
  if (!proxyCounts && d.options.proxy) {
    list.push({
      title: 'proxyVerified: true, a self-made CN=admin',
      options: () => ({ ...d.options, proxyVerified: true }),
      cert: (f) => f.admin,
      fromLoopback: `200 CN=admin source=${d.source} verifiedBy=proxy`,
      who: LOOPBACK_PROXY_WORD,
    });
  }
  list.push({
    title: "ca set, Alice's real certificate",
    options: (f) => ({ ...d.options, ca: f.root.cert }),
    cert: (f) => f.alice,
    fromLoopback: `200 CN=alice,O=Acme source=${d.source} verifiedBy=chain`,
    who: LOOPBACK_ANCHORS,
  });
  return list;
}

/** A forger claims to be loopback too: only the socket's address may count. */
const CLAIM = { 'x-forwarded-for': '127.0.0.1' };

export function forgedHeaderSuite(d: Deployment): void {
  describe(`${d.title}: a forged header from a private-range peer not in trustProxy is ignored; from loopback it is honored`, () => {
    let f: Fixtures;
    before(async () => {
      f = await fixtures();
    });

    for (const variant of variants(d)) {
      for (const mode of ['require', 'accept'] as const) {
        for (const adapter of adapters) {
          it(`${variant.title}, mode ${mode}, ${adapter.name}`, async () => {
            const options: ClientCertOptions = { ...variant.options(f), mode };
            const headers = { ...d.headers(variant.cert(f)), ...CLAIM };
            const logs: CapturedLog[] = [captureLog(), captureLog()];
            const v4 = await adapter.start({ options: { ...options, logger: logs[0]!.logger } });
            const dual = await startDualStack(adapter.name, { ...options, logger: logs[1]!.logger });
            try {
              const port4 = Number(new URL(v4.url).port);
              const ignored = mode === 'require' ? '403 client_certificate_required' : '200 no certificate';
              const expected: Record<string, string> = {};
              const sent: Array<Promise<[string, string]>> = [];
              const send = (label: string, host: string, port: number, from: string, wanted: string): void => {
                expected[label] = wanted;
                sent.push(getFrom(host, port, from, headers).then((got) => [label, got]));
              };
              for (const p of PRIVATE_PEERS) {
                if (p.family === 4) {
                  send(`${p.range} ${p.address} → 127.0.0.1`, '127.0.0.1', port4, p.address, ignored);
                  send(`${p.range} ::ffff:${p.address} → ::`, '127.0.0.1', dual.port, p.address, ignored);
                } else {
                  send(`${p.range} ${p.address} → ::`, '::1', dual.port, p.address, ignored);
                }
              }
              send('loopback 127.0.0.1 → 127.0.0.1', '127.0.0.1', port4, '127.0.0.1', variant.fromLoopback);
              send('loopback ::ffff:127.0.0.1 → ::', '127.0.0.1', dual.port, '127.0.0.1', variant.fromLoopback);
              send('loopback ::1 → ::', '::1', dual.port, '::1', variant.fromLoopback);
              const got = Object.fromEntries(await Promise.all(sent));
              expect(got).to.deep.equal(expected);

              for (const log of logs) {
                expectWhoCanMint(log, variant.who);
                expect(startupLine(log)).to.include(
                  '; forwarded headers trusted from loopback (default: a proxy on this host); ',
                );
                // A proxy that connects from elsewhere, left with the loopback default, is said to be ignored.
                const remote = d.options.proxy ? PRESETS[d.options.proxy as ProxyName].remote : false;
                expect(warningsCoded(log, 'trust_proxy_default'), log.warn.join('\n')).to.have.length(remote ? 1 : 0);
              }
            } finally {
              await Promise.all([v4.close(), dual.close()]);
            }
          });
        }
      }
    }
  });
}
