/**
 * Revocation during an outage: one deadline per check whatever it waits for, one connection per
 * responder and back-off (not one per certificate), and decisions served from the cache until the
 * failing source may be tried again. Real servers on loopback (test/load/fault-server.ts) that
 * answer, hang or reset on demand, in front of a real OCSP responder; work is counted, not timed,
 * except for one generous bound on the wait.
 */
import { spawn } from 'node:child_process';
import type { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { stat } from 'node:fs';
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { expect } from 'chai';
import { createClientCertAuth, type DecisionEvent } from '../../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../../packages/core/src/testkit/index.js';
import { createCrl, type OcspResponder, startOcspResponder } from '../../../../packages/core/src/testkit/revocation.js';
import {
  compileRevocation,
  type RevocationOptions,
  type RevocationResult,
} from '../../../../packages/core/src/trust/revocation/index.js';
import { type FaultServer, relayOnce, startFaultServer } from '../../../load/fault-server.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const CERTIFICATES = 5;
const UNREACHABLE =
  'revocation status of the certificate at depth 0 could not be determined: the OCSP responder could not be reached';

function unknownOf(result: RevocationResult): Extract<RevocationResult, { status: 'unknown' }> {
  if (result.status !== 'unknown') expect.fail(`expected unknown, got ${result.status}`);
  return result;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) expect.fail(`timed out waiting for ${what}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function busyFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // the process is busy (parsing a burst of requests, say)
  }
}

/** A CRL URL in another process (so that it answers while this one is busy), answering `delayMs` after each request. */
async function slowCrlServer(body: Buffer, delayMs: number): Promise<{ url: string; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const body = Buffer.from('${body.toString('base64')}', 'base64');` +
        `require('node:http').createServer((req, res) => setTimeout(() => res.end(body), ${delayMs}))` +
        `.listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  return { url: `http://127.0.0.1:${line.toString().trim()}/root.crl`, stop: () => child.kill() };
}

describe('revocation during an outage', () => {
  let root: TestCA;
  let leaves: TestCertificate[];
  let responder: OcspResponder;
  let crlBody: Buffer;
  const servers: FaultServer[] = [];

  before(async () => {
    root = await createCA({ subject: 'CN=outage test root' });
    leaves = [];
    for (let i = 0; i < CERTIFICATES; i++) {
      leaves.push(await root.issue({ subject: `CN=outage client ${i}`, serialNumber: `50${i}0` }));
    }
    responder = await startOcspResponder(root, { good: leaves.map((leaf) => leaf.x509.serialNumber) });
    crlBody = (await createCrl(root)).der;
  });

  after(async () => {
    await responder?.close();
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  /** An OCSP responder in front of the real one, and a CRL URL, both answering until told otherwise. */
  async function start(): Promise<{ ocsp: FaultServer; crl: FaultServer }> {
    const ocsp = await startFaultServer(relayOnce(responder.url));
    const crl = await startFaultServer(async () => ({ contentType: 'application/pkix-crl', body: crlBody }));
    servers.push(ocsp, crl);
    return { ocsp, crl };
  }

  const chainOf = (leaf: TestCertificate): X509Certificate[] => [leaf.x509, root.x509];

  describe('one deadline per check', () => {
    it('waits one deadline, not one per source, when a CRL URL and the OCSP responder both hang', async () => {
      const timeoutMs = 1000;
      const { ocsp, crl } = await start();
      ocsp.fault = crl.fault = { kind: 'hang' };
      const checker = compileRevocation({
        crls: crl.url,
        ocsp: { responderUrl: ocsp.url },
        timeoutMs,
        retryAfterMs: MINUTE,
      });
      const started = performance.now();
      const checking = checker.check(chainOf(leaves[0]!), new Date());
      expect(checking).to.be.instanceOf(Promise);
      // Both asked at once: the OCSP query does not wait for the CRL load to fail first.
      await until(() => crl.openNow() === 1 && ocsp.openNow() === 1, 'both exchanges to be open');
      const result = unknownOf(await checking);
      const waited = performance.now() - started;
      expect({ message: result.message, transient: result.transient }).to.deep.equal({
        message: UNREACHABLE,
        transient: true,
      });
      // A generous bound: one deadline and scheduling; two deadlines in a row would be 2000 ms.
      expect(waited, 'ms waited').to.be.below(1.7 * timeoutMs);
      // Both still in flight at the deadline: the answer may change at any moment, so it holds until
      // now only. (On a loaded machine a fetch's own timeout, the same 1000 ms, may end it just
      // before the check's deadline: then it holds until the retry, a minute on.)
      expect(result.validUntil).to.be.at.most(Date.now() + MINUTE);

      await until(() => crl.openNow() === 0 && ocsp.openNow() === 0, 'both exchanges to be given up');
      // Another certificate, after both failed: at once, from the back-off, without a fetch.
      const checkedAt = Date.now();
      const again = checker.check(chainOf(leaves[1]!), new Date(checkedAt));
      expect(again).not.to.be.instanceOf(Promise);
      const backedOff = unknownOf(again as RevocationResult);
      expect(backedOff.message).to.equal(UNREACHABLE);
      expect(backedOff.validUntil).to.be.within(checkedAt + MINUTE - 5 * SECOND, checkedAt + MINUTE);
      expect({ crl: crl.stats().requests, ocsp: ocsp.stats().requests }).to.deep.equal({ crl: 1, ocsp: 1 });
    });

    it('answers from OCSP beside a CRL URL that hangs, without waiting for the load', async () => {
      const { ocsp, crl } = await start();
      crl.fault = { kind: 'hang' };
      const checker = compileRevocation({ crls: crl.url, ocsp: { responderUrl: ocsp.url }, timeoutMs: 5000 });
      const result = await checker.check(chainOf(leaves[0]!), new Date());
      expect(result.status).to.equal('good');
      // Answered while the CRL load was still open: it goes on in the background.
      expect(crl.openNow(), 'CRL loads open when the answer came').to.equal(1);
      expect(ocsp.stats().requests).to.equal(1);
    });

    it('an OCSP good beside a CRL still loading holds only until the CRL speaks: a certificate it lists is refused next', async () => {
      // The responder still says good (say, its answer was made before the revocation); the CRL lists it.
      const listing = (await createCrl(root, { revoked: [{ serialNumber: '5000' }] })).der;
      const ocsp = await startFaultServer(relayOnce(responder.url));
      const crl = await startFaultServer(async () => ({ contentType: 'application/pkix-crl', body: listing }));
      servers.push(ocsp, crl);
      crl.fault = { kind: 'slow', delayMs: 300 };
      const checker = compileRevocation({ crls: crl.url, ocsp: { responderUrl: ocsp.url }, timeoutMs: 5000 });
      const checkedAt = Date.now();
      const first = await checker.check(chainOf(leaves[0]!), new Date(checkedAt));
      expect(first.status, 'OCSP answers while the CRL loads').to.equal('good');
      expect(first.validUntil, 'held until the check only: a decision is not cached on it').to.equal(checkedAt);
      // Every check until the CRL is in hand is OCSP's good for that moment only; then the CRL's word.
      const seen = new Set<string>();
      await until(() => {
        const at = Date.now();
        const result = checker.check(chainOf(leaves[0]!), new Date(at));
        if (result instanceof Promise) return false;
        seen.add(result.status === 'good' && result.validUntil === at ? 'good for now' : result.status);
        return result.status === 'revoked';
      }, 'the CRL to be in hand');
      expect([...seen].filter((status) => status !== 'good for now')).to.deep.equal(['revoked']);
      expect(crl.stats().requests).to.equal(1);
    });

    it('an OCSP good beside a CRL URL that failed holds until the CRL may be fetched again, not for its own lifetime', async () => {
      const { ocsp, crl } = await start();
      crl.fault = { kind: 'reset' };
      const retryAfterMs = 30 * SECOND;
      const checker = compileRevocation({
        crls: crl.url,
        ocsp: { responderUrl: ocsp.url },
        timeoutMs: 5000,
        retryAfterMs,
      });
      expect((await checker.check(chainOf(leaves[0]!), new Date())).status).to.equal('good');
      // Once the load has failed, the answer (OCSP's, from its cache) holds beyond the check itself.
      let later: RevocationResult | null = null;
      await until(() => {
        const at = Date.now();
        const result = checker.check(chainOf(leaves[0]!), new Date(at));
        if (result instanceof Promise || result.validUntil <= at) return false;
        later = result;
        return true;
      }, 'the CRL load to fail');
      const { status, validUntil } = later! as RevocationResult;
      expect(status).to.equal('good');
      expect(validUntil, 'until the CRL may be fetched again').to.be.at.most(Date.now() + retryAfterMs);
      expect({ crl: crl.stats().connections, ocsp: ocsp.stats().requests }).to.deep.equal({ crl: 1, ocsp: 1 });
    });

    it('answers from a CRL that loads without waiting for a hung responder asked beside it', async () => {
      const { ocsp, crl } = await start();
      ocsp.fault = { kind: 'hang' };
      const checker = compileRevocation({ crls: crl.url, ocsp: { responderUrl: ocsp.url }, timeoutMs: 5000 });
      expect((await checker.check(chainOf(leaves[0]!), new Date())).status).to.equal('good');
      // The price of asking both at once while no CRL is in hand: one query, not waited for.
      await until(() => ocsp.stats().requests === 1, 'the OCSP query');
      // With the CRL in hand, OCSP is not asked again.
      const next = checker.check(chainOf(leaves[1]!), new Date());
      expect(next).not.to.be.instanceOf(Promise);
      expect((next as RevocationResult).status).to.equal('good');
      expect({ crl: crl.stats().requests, ocsp: ocsp.stats().requests }).to.deep.equal({ crl: 1, ocsp: 1 });
    });

    it('reads an answer that arrived in time, even when the process was busy past the deadline', async () => {
      const server = await slowCrlServer(crlBody, 300);
      try {
        const checker = compileRevocation({ crls: server.url, timeoutMs: 1000 });
        const checking = checker.check(chainOf(leaves[0]!), new Date());
        // Busy in an I/O callback from ~100 ms to ~1.6 s: the CRL (at ~300 ms) and the check's
        // deadline (1 s) are both due when it ends, and the next turn runs timers before it reads sockets.
        await sleep(100);
        await new Promise<void>((resolve) => stat('.', () => resolve(busyFor(1500))));
        expect((await checking).status).to.equal('good');
      } finally {
        server.stop();
      }
    });
  });

  describe('one connection per responder, not per certificate', () => {
    it('backs off a responder that hangs for every certificate, then probes it with one query', async () => {
      const retryAfterMs = 400;
      const { ocsp } = await start();
      ocsp.fault = { kind: 'hang' };
      const checker = compileRevocation({ ocsp: { responderUrl: ocsp.url }, timeoutMs: 300, retryAfterMs });
      const checkAll = (): Array<RevocationResult | Promise<RevocationResult>> =>
        leaves.map((leaf) => checker.check(chainOf(leaf), new Date()));

      // Nothing known of the responder yet: every certificate asks (all at once, before any failed).
      const first = await Promise.all(checkAll());
      expect(first.map((result) => unknownOf(result).message)).to.deep.equal(leaves.map(() => UNREACHABLE));
      await until(() => ocsp.openNow() === 0, 'the queries to be given up');
      expect(ocsp.stats().connections, 'connections in the first burst').to.equal(CERTIFICATES);

      // Down: every certificate is answered at once, without a connection.
      const during = checkAll();
      for (const result of during) expect(result).not.to.be.instanceOf(Promise);
      expect(ocsp.stats().connections, 'connections during the back-off').to.equal(CERTIFICATES);

      // After the back-off: one probe; the other certificates wait for it and share its failure.
      await sleep(retryAfterMs + 50);
      const probed = await Promise.all(checkAll());
      expect(probed.map((result) => unknownOf(result).message)).to.deep.equal(leaves.map(() => UNREACHABLE));
      expect(ocsp.stats().connections, 'connections after one back-off').to.equal(CERTIFICATES + 1);

      // The responder is back: the probe answers, then the others ask, each once.
      ocsp.fault = { kind: 'answer' };
      await until(() => ocsp.openNow() === 0, 'the probe to be given up');
      await sleep(retryAfterMs + 50);
      const recovered = await Promise.all(checkAll());
      expect(recovered.map((result) => result.status)).to.deep.equal(leaves.map(() => 'good'));
      expect(ocsp.stats().connections, 'connections in all').to.equal(2 * CERTIFICATES + 1);
      expect(ocsp.stats().maxOpenPerQuery).to.equal(1);
    });

    it('a responder that resets: the other certificates are not asked until the retry time', async () => {
      const { ocsp } = await start();
      ocsp.fault = { kind: 'reset' };
      const checker = compileRevocation({ ocsp: { responderUrl: ocsp.url }, retryAfterMs: MINUTE });
      unknownOf(await checker.check(chainOf(leaves[0]!), new Date()));
      for (const leaf of leaves.slice(1)) {
        const result = checker.check(chainOf(leaf), new Date());
        expect(result).not.to.be.instanceOf(Promise);
        expect(unknownOf(result as RevocationResult).message).to.equal(UNREACHABLE);
      }
      expect(ocsp.stats().connections).to.equal(1);
    });

    it('a responder that answers with an error is reachable: only that query backs off, the others still ask', async () => {
      const failing = await startFaultServer(async () => {
        throw new Error('the fault server answers 502');
      });
      servers.push(failing);
      const checker = compileRevocation({ ocsp: { responderUrl: failing.url }, retryAfterMs: MINUTE });
      for (const leaf of leaves.slice(0, 2)) {
        const result = unknownOf(await checker.check(chainOf(leaf), new Date()));
        expect(result.message).to.contain('the OCSP responder returned an error');
      }
      // The first certificate's query is not sent again before its retry time.
      expect(checker.check(chainOf(leaves[0]!), new Date())).not.to.be.instanceOf(Promise);
      expect(failing.stats().requests).to.equal(2);
    });
  });

  describe('decisions from the cache during an outage', () => {
    for (const policy of ['strict', 'soft'] as const) {
      it(`${policy}: the decision is reused until the responder may be asked again, without deciding again`, async () => {
        const { ocsp } = await start();
        ocsp.fault = { kind: 'reset' };
        const events: DecisionEvent[] = [];
        const warnings: string[] = [];
        const revocation: RevocationOptions = { policy, ocsp: { responderUrl: ocsp.url }, retryAfterMs: MINUTE };
        const auth = createClientCertAuth({
          source: 'xfcc',
          trustProxy: '127.0.0.1',
          ca: root.cert,
          revocation,
          logger: { info: () => {}, warn: (line) => void warnings.push(line) },
          onDecision: (event) => void events.push(event),
        });
        const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as net.Socket;
        const header = envoyXfcc(leaves[0]!, { by: ['spiffe://outage.test/proxy'] });
        const ask = () => auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': header } });

        const first = ask();
        expect(first).to.be.instanceOf(Promise);
        const outcomes = [await first];
        for (let i = 0; i < 10; i++) {
          const next = ask();
          expect(next).not.to.be.instanceOf(Promise);
          outcomes.push(await next);
        }
        const summary = outcomes.map((result) => (result.ok ? 'ok' : result.error.code));
        const expected = policy === 'strict' ? 'client_certificate_untrusted' : 'ok';
        expect(summary).to.deep.equal(outcomes.map(() => expected));
        expect(events.map((event) => event.cached)).to.deep.equal([false, ...Array(10).fill(true)]);
        expect(ocsp.stats().connections).to.equal(1);
        // Soft: one line for the outage, not one per request (a refusal's own log line is another feature's).
        const softFails = warnings.filter((line) => line.includes('(warning revocation_soft_fail;'));
        expect(softFails.map((line) => line.includes(UNREACHABLE))).to.deep.equal(policy === 'soft' ? [true] : []);
      });
    }
  });
});
