/**
 * Revocation under load and faults: 200 concurrent requests to a real fastify server while the
 * CRL URL or the OCSP responder (real servers on loopback) answers, answers just under or just
 * over the deadline, accepts and never answers, resets every connection, or is not there at all.
 *
 * Asserted for every fault: no request waits longer than `timeoutMs` plus a margin; one fetch per
 * query at a time (the revocation server counts the exchanges it has open at once for the same
 * query) and at most one per round, so that an outage costs one deadline, not one per request;
 * the exact outcome under `strict` (403 with its problem code and detail) and under `soft` (200,
 * and the revocation_soft_fail warning once per reason, not per request); then, while the outage
 * goes on, no fetch at all and decisions from the cache. With a CRL URL and OCSP both down a
 * request waits one deadline, not two; a responder that hangs costs one connection per
 * `retryAfterMs` after its first failure, not one per certificate. Then the heap stays flat on
 * one long-lived server through repeated outages.
 *
 * The wait asserted is the slowest request's wall time inside the server (fastify's first hook to
 * the answer sent): at the client it also includes queueing behind the other 199 requests for two
 * shared cores, which is load, not waiting (both are printed). The margin is a coarse guard; what
 * would make a request wait for several deadlines in turn, a second fetch after the first failed,
 * is caught by counting fetches.
 *
 * The certificate comes in Envoy's X-Forwarded-Client-Cert from a loopback proxy rather than over
 * TLS: that is the fleet's shape, and 200 TLS handshakes on two shared cores would put handshake
 * time into the waits measured here, which are about the revocation deadline. Two clients send
 * each certificate at once (two replicas of one workload), so every query has a concurrent twin.
 */
import net from 'node:net';
import { expect } from 'chai';
import Fastify from 'fastify';
import { createClientCertAuth, type RevocationOptions, WARNINGS_DOCS } from '../../packages/core/src/index.js';
import {
  createCA,
  envoyXfcc,
  generateKeyPair,
  type TestCA,
  type TestCertificate,
} from '../../packages/core/src/testkit/index.js';
import {
  createCrl,
  type OcspResponder,
  ocspAiaExtension,
  startOcspResponder,
} from '../../packages/core/src/testkit/revocation.js';
import { clientCert } from '../../packages/fastify/src/index.js';
import { garbageCollector } from '../helpers/gc.js';
import { request } from '../helpers/http-client.js';
import { type Fault, type FaultServer, type FaultStats, relayOnce, startFaultServer } from './fault-server.js';

const TIMEOUT_MS = 500;
/** Allowed beyond the deadline: scheduling on two shared cores, and 200 requests to parse and answer. */
const MARGIN_MS = 1000;
/**
 * Under and over the deadline. The deadline is a timer checked one turn of the event loop late,
 * so that an answer which came in while the loop was busy (parsing the other requests of the
 * burst) is read first: on two cores shared with other work, a CRL sent 150 ms before a 300 ms
 * deadline was once discarded as late. The same lateness works the other way: with the machine
 * loaded, an OCSP answer sent 300 ms after the deadline was once read before the timer ran, and
 * used (a valid answer is never wrong to use). So "over" is a full second over.
 */
const UNDER_MS = TIMEOUT_MS - 300;
const OVER_MS = TIMEOUT_MS + 1000;
/**
 * The deadline where two sources are down at once: longer than the margin, so that a request
 * which waited for two deadlines in a row (2 × 1500 ms) cannot pass for one (1500 + 1000 ms).
 */
const BOTH_TIMEOUT_MS = 1500;
/** Long enough that no back-off ends within a test, unless the test waits for it. */
const RETRY_AFTER_MS = 60_000;
const CLIENTS = 200;
/** Each certificate is sent by two clients at once. */
const CERTIFICATES = CLIENTS / 2;
/** Every tenth certificate is revoked. */
const isRevoked = (index: number): boolean => index % 10 === 0;
/** Cycles of three outages on one server; the heap is compared after the first and after each other. */
const MEMORY_CYCLES = 5;
const MB = 1024 * 1024;
/**
 * Heap growth allowed after the first cycle. Measured: the heap after gc wanders within ~1.7 MB
 * over 15,000 requests without a trend; keeping 2 KB per request would add 4.7 MB here.
 */
const MAX_HEAP_GROWTH = 4 * MB;

type Via = 'crl' | 'ocsp';
type Policy = 'strict' | 'soft';

interface Outcome {
  readonly index: number;
  readonly status: number;
  readonly body: { cn?: string | null; code?: string; detail?: string };
  /** Wall time at the client, from sending the request to the end of the answer. */
  readonly ms: number;
  /** Wall time in the server, from fastify's first hook to the answer being sent. */
  readonly serverMs: number;
}

interface Round {
  readonly outcomes: Outcome[];
  readonly warnings: string[];
  /** The slowest request in the server, and at the client. */
  readonly slowestMs: number;
  readonly slowestClientMs: number;
  readonly stats: FaultStats | null;
}

/** A fault the client sees as a failed exchange, and how it is set up. */
const FAILURES: ReadonlyArray<{ name: string; fault: Fault | 'refused' }> = [
  {
    name: `answers ${OVER_MS} ms late (over the ${TIMEOUT_MS} ms deadline)`,
    fault: { kind: 'slow', delayMs: OVER_MS },
  },
  { name: 'accepts and never answers', fault: { kind: 'hang' } },
  { name: 'resets every connection', fault: { kind: 'reset' } },
  { name: 'refuses connections (nothing listens)', fault: 'refused' },
];

const UNKNOWN: Record<Via, string> = {
  crl: 'revocation status of the certificate at depth 0 could not be determined: a CRL could not be loaded',
  ocsp: 'revocation status of the certificate at depth 0 could not be determined: the OCSP responder could not be reached',
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A URL on loopback where nothing listens (a port taken from the OS, then released). */
async function closedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/`;
}

describe('revocation under load and faults (200 concurrent requests, fastify, XFCC)', function () {
  this.timeout(120_000);
  let root: TestCA;
  let leaves: TestCertificate[];
  let headers: string[];
  let crlServer: FaultServer;
  let ocspServer: FaultServer;
  let responder: OcspResponder | undefined;
  const summary: string[] = [];

  before(async function () {
    this.timeout(60_000);
    root = await createCA({ subject: 'CN=Faults Root CA' });
    const intermediate = await root.intermediate({ subject: 'CN=Faults Issuing CA' });
    let relay: ReturnType<typeof relayOnce> | null = null;
    ocspServer = await startFaultServer((query) => relay!(query));
    const keyPair = await generateKeyPair();
    leaves = [];
    for (let i = 0; i < CERTIFICATES; i++) {
      leaves.push(
        await intermediate.issue({
          subject: `CN=client ${i}`,
          keyPair,
          extensions: [ocspAiaExtension(ocspServer.url)],
        }),
      );
    }
    headers = leaves.map((leaf) => envoyXfcc(leaf, { by: ['spiffe://faults.test/proxy'] }));
    const revoked = leaves.filter((_, i) => isRevoked(i)).map((leaf) => ({ serialNumber: leaf.x509.serialNumber }));
    const good = leaves.filter((_, i) => !isRevoked(i)).map((leaf) => leaf.x509.serialNumber);
    // One URL for the whole path: the root's CRL (covering the intermediate) and the intermediate's.
    const bundle = Buffer.from((await createCrl(root)).pem + (await createCrl(intermediate, { revoked })).pem);
    crlServer = await startFaultServer(async () => ({ contentType: 'application/x-pem-file', body: bundle }));
    responder = await startOcspResponder(intermediate, { good, revoked });
    relay = relayOnce(responder.url);
    await signEveryAnswerOnce();
  });

  after(async () => {
    await Promise.all([crlServer?.close(), ocspServer?.close(), responder?.close()]);
    if (summary.length > 0)
      console.log(`      slowest request per round (timeoutMs ${TIMEOUT_MS}):\n${summary.join('\n')}`);
  });

  /**
   * Asks the real responder about every certificate once, with a generous deadline, so that the
   * rounds replay signed answers (see relayOnce); also checks the responder's answers themselves.
   */
  async function signEveryAnswerOnce(): Promise<void> {
    const auth = createClientCertAuth({
      source: 'xfcc',
      trustProxy: '127.0.0.1',
      ca: root.cert,
      logger: false,
      revocation: { ocsp: true, scope: 'leaf', timeoutMs: 20_000 },
    });
    const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as net.Socket;
    const results = await Promise.all(
      headers.map((value) => auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': value } })),
    );
    const codes = results.map((result) => (result.ok ? 'ok' : result.error.code));
    expect(codes).to.deep.equal(leaves.map((_, i) => (isRevoked(i) ? 'client_certificate_revoked' : 'ok')));
  }

  /** `nowhere`: a URL where nothing listens, instead of the revocation server's. */
  function revocationFor(via: Via, policy: Policy, nowhere: string | null): RevocationOptions {
    const common = { policy, timeoutMs: TIMEOUT_MS, retryAfterMs: RETRY_AFTER_MS };
    if (via === 'crl') return { ...common, crls: nowhere ?? crlServer.url };
    return { ...common, scope: 'leaf', ocsp: nowhere === null ? true : { responderUrl: nowhere } };
  }

  interface App {
    readonly url: string;
    /** What the middleware logged (a soft failure's warning among it); the test empties it between rounds. */
    readonly warnings: string[];
    /** Decisions taken, and how many of them came from a cache. */
    readonly decisions: { taken: number; cached: number };
    close(): Promise<void>;
  }

  async function startApp(revocation: RevocationOptions): Promise<App> {
    const warnings: string[] = [];
    const decisions = { taken: 0, cached: 0 };
    const app = Fastify();
    // The time each request spends in the server, revocation wait included, in a response header.
    const arrived = new WeakMap<object, number>();
    app.addHook('onRequest', (req, _reply, done) => {
      arrived.set(req.raw, performance.now());
      done();
    });
    app.addHook('onSend', (req, reply, payload, done) => {
      reply.header('x-server-ms', String(performance.now() - arrived.get(req.raw)!));
      done(null, payload);
    });
    await app.register(clientCert, {
      source: 'xfcc',
      trustProxy: '127.0.0.1',
      ca: root.cert,
      revocation,
      // The revocation warnings only: a refusal's own log line (request_rejected) is another feature's.
      logger: {
        info: () => {},
        warn: (line) => void (line.includes('(warning request_rejected;') || warnings.push(line)),
      },
      onDecision: (event) => {
        decisions.taken++;
        if (event.cached) decisions.cached++;
      },
    });
    app.get('/whoami', async (req) => ({ cn: req.clientCert?.subject.get('CN') ?? null }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as net.AddressInfo;
    return { url: `http://127.0.0.1:${port}`, warnings, decisions, close: () => app.close() };
  }

  /** 200 requests at once while `server` shows `fault`. */
  async function roundOn(app: App, server: FaultServer | null, fault: Fault): Promise<Round> {
    app.warnings.length = 0;
    if (server) {
      server.resetStats();
      server.fault = fault;
    }
    try {
      const outcomes = await sendAll(app.url);
      return {
        outcomes,
        warnings: [...app.warnings],
        slowestMs: Math.max(...outcomes.map((outcome) => outcome.serverMs)),
        slowestClientMs: Math.max(...outcomes.map((outcome) => outcome.ms)),
        stats: server?.stats() ?? null,
      };
    } finally {
      if (server) server.fault = { kind: 'answer' };
    }
  }

  /** One round on a new server, so that nothing is remembered from the last. */
  async function round(revocation: RevocationOptions, server: FaultServer | null, fault: Fault): Promise<Round> {
    const app = await startApp(revocation);
    try {
      return await roundOn(app, server, fault);
    } finally {
      await app.close();
    }
  }

  function sendAll(url: string): Promise<Outcome[]> {
    return Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const index = client % CERTIFICATES;
        const start = performance.now();
        const response = await request({
          url,
          path: '/whoami',
          headers: { 'x-forwarded-client-cert': headers[index]! },
        });
        const ms = performance.now() - start;
        const serverMs = Number(response.headers['x-server-ms']);
        return { index, status: response.status, body: JSON.parse(response.text) as Outcome['body'], ms, serverMs };
      }),
    );
  }

  function note(label: string, result: Round, more = ''): void {
    const stats = result.stats;
    const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
    const seen = stats
      ? `; ${count(stats.connections, 'connection')}, ${count(stats.requests, 'request')} read, ` +
        `at once ${stats.maxOpenPerQuery} per query and ${stats.maxOpen} in all`
      : '';
    const times = `${result.slowestMs.toFixed(0)} ms in the server, ${result.slowestClientMs.toFixed(0)} ms at the client`;
    summary.push(`        ${label}: ${times}${seen}${more === '' ? '' : `; ${more}`}`);
  }

  function expectWithinDeadline(result: Round, deadlineMs = TIMEOUT_MS): void {
    expect(result.slowestMs, 'the slowest request (ms)').to.be.at.most(deadlineMs + MARGIN_MS);
  }

  /** Good certificates pass with their own CN; revoked ones get 403 client_certificate_revoked. */
  function expectAnswered(result: Round): void {
    for (const { index, status, body } of result.outcomes) {
      if (isRevoked(index)) {
        expect({ status, code: body.code, detail: body.detail }).to.deep.equal({
          status: 403,
          code: 'client_certificate_revoked',
          detail: 'certificate at depth 0 has been revoked',
        });
      } else {
        expect({ status, body }).to.deep.equal({ status: 200, body: { cn: `client ${index}` } });
      }
    }
    expect(result.warnings).to.deep.equal([]);
  }

  /**
   * Strict: 403 client_certificate_untrusted saying why; soft: 200, and one warning for the round
   * (none when `reported`: the same reason was reported less than a minute ago).
   */
  function expectUnknown(result: Round, via: Via, policy: Policy, reported = false): void {
    if (policy === 'strict') {
      for (const { status, body } of result.outcomes) {
        expect({ status, code: body.code, detail: body.detail }).to.deep.equal({
          status: 403,
          code: 'client_certificate_untrusted',
          detail: UNKNOWN[via],
        });
      }
      expect(result.warnings).to.deep.equal([]);
      return;
    }
    for (const { index, status, body } of result.outcomes) {
      expect({ status, body }).to.deep.equal({ status: 200, body: { cn: `client ${index}` } });
    }
    // One line for the outage, not one per request: each reason is reported at most once a minute.
    const warning = `clientcert: ${UNKNOWN[via]}; reported at most once a minute (warning revocation_soft_fail; see ${WARNINGS_DOCS}revocation_soft_fail)`;
    expect(result.warnings).to.deep.equal(reported ? [] : [warning]);
  }

  /**
   * One fetch per query at a time, and one per round: the CRL URL once in all, the responder once
   * per certificate (twins share it). A reset connection carries no request: count connections.
   * `failing`: the responder is not reachable, and once one query has failed the certificates
   * that come after it are not asked: between one fetch and one per certificate.
   */
  function expectOneFetchEach(result: Round, via: Via, fault: Fault, failing = false): void {
    const once = via === 'crl' ? 1 : CERTIFICATES;
    const least = failing ? 1 : once;
    const stats = result.stats!;
    if (fault.kind === 'reset') {
      expect(stats.connections, 'connections').to.be.within(least, once);
      expect(stats.requests, 'requests read').to.equal(0);
      return;
    }
    expect(stats.maxOpenPerQuery, 'fetches of one query open at once').to.equal(1);
    expect(stats.requests, 'fetches').to.be.within(least, once);
    expect(stats.queries, 'distinct queries').to.equal(stats.requests);
  }

  /**
   * The outage goes on: no fetch, and every certificate's decision made at once (a back-off, not
   * a wait) and then served from the cache to its twin at least. Returns the decisions from a cache.
   */
  async function expectFromCache(app: App, server: FaultServer | null, fault: Fault, via: Via, policy: Policy) {
    const before = { ...app.decisions };
    const again = await roundOn(app, server, fault);
    expectUnknown(again, via, policy, true);
    if (server !== null) expect(again.stats!.connections, 'connections while backing off').to.equal(0);
    const cached = app.decisions.cached - before.cached;
    expect(app.decisions.taken - before.taken, 'decisions').to.equal(CLIENTS);
    expect(cached, 'decisions from a cache').to.be.at.least(CERTIFICATES);
    return { again, cached };
  }

  for (const via of ['crl', 'ocsp'] as const) {
    const what = via === 'crl' ? 'a CRL URL (whole chain)' : 'the OCSP responder (leaf)';
    const serverOf = (): FaultServer => (via === 'crl' ? crlServer : ocspServer);

    describe(`${what}`, () => {
      const answering: ReadonlyArray<{ name: string; fault: Fault }> = [
        { name: 'answers', fault: { kind: 'answer' } },
        { name: `answers ${UNDER_MS} ms late (under the deadline)`, fault: { kind: 'slow', delayMs: UNDER_MS } },
      ];
      for (const { name, fault } of answering) {
        for (const policy of ['strict', 'soft'] as const) {
          it(`${name}, ${policy}: good clients pass, revoked ones get 403 client_certificate_revoked; one fetch each`, async () => {
            const result = await round(revocationFor(via, policy, null), serverOf(), fault);
            note(`${via} ${name}, ${policy}`, result);
            expectWithinDeadline(result);
            expectAnswered(result);
            expectOneFetchEach(result, via, fault);
          });
        }
      }

      for (const { name, fault } of FAILURES) {
        for (const policy of ['strict', 'soft'] as const) {
          const outcome =
            policy === 'strict' ? '403 client_certificate_untrusted' : '200 with the revocation_soft_fail warning';
          it(`${name}, ${policy}: every request gets ${outcome} within the deadline, then from the cache`, async () => {
            const server = fault === 'refused' ? null : serverOf();
            const shown: Fault = fault === 'refused' ? { kind: 'answer' } : fault;
            const app = await startApp(revocationFor(via, policy, server === null ? await closedUrl() : null));
            try {
              const result = await roundOn(app, server, shown);
              expectWithinDeadline(result);
              expectUnknown(result, via, policy);
              if (server !== null) expectOneFetchEach(result, via, shown, true);
              const { again, cached } = await expectFromCache(app, server, shown, via, policy);
              note(`${via} ${name}, ${policy}`, result, `then ${cached} of ${CLIENTS} decisions from a cache`);
              note(`${via} ${name}, ${policy}, again`, again);
            } finally {
              await app.close();
            }
          });
        }
      }
    });
  }

  describe('both sources at once, and one long-lived server', () => {
    it('with a CRL URL and OCSP both hanging, a request waits one deadline (both asked at once), then none', async () => {
      crlServer.resetStats();
      crlServer.fault = { kind: 'hang' };
      const app = await startApp({
        policy: 'strict',
        timeoutMs: BOTH_TIMEOUT_MS,
        retryAfterMs: RETRY_AFTER_MS,
        crls: crlServer.url,
        ocsp: true,
      });
      try {
        const result = await roundOn(app, ocspServer, { kind: 'hang' });
        note('crl and ocsp both hang, strict', result);
        // One deadline: OCSP is asked beside the CRL load, not after it failed.
        expectWithinDeadline(result, BOTH_TIMEOUT_MS);
        expect(crlServer.stats().requests, 'CRL fetches').to.equal(1);
        expect(result.stats!.maxOpenPerQuery, 'OCSP fetches of one query open at once').to.equal(1);
        expect(result.stats!.requests, 'OCSP fetches').to.be.within(1, CERTIFICATES);
        expectUnknown(result, 'ocsp', 'strict');
        // The outage goes on: no fetch and no wait; after one more round every decision is a cached one.
        crlServer.resetStats();
        const { again, cached } = await expectFromCache(app, ocspServer, { kind: 'hang' }, 'ocsp', 'strict');
        const third = await expectFromCache(app, ocspServer, { kind: 'hang' }, 'ocsp', 'strict');
        expect(third.cached, 'decisions from a cache in the third round').to.equal(CLIENTS);
        expect(crlServer.stats().connections, 'CRL fetches while backing off').to.equal(0);
        note('crl and ocsp both hang, strict, again', again, `${cached} of ${CLIENTS} decisions from a cache`);
        note('crl and ocsp both hang, strict, a third time', third.again, `${third.cached} from a cache`);
      } finally {
        crlServer.fault = { kind: 'answer' };
        await app.close();
      }
    });

    it('a hung responder costs one connection per retryAfterMs after its first failure, not one per certificate', async () => {
      const retryAfterMs = 1500;
      const app = await startApp({ policy: 'strict', timeoutMs: TIMEOUT_MS, retryAfterMs, scope: 'leaf', ocsp: true });
      const hang: Fault = { kind: 'hang' };
      const connections: number[] = [];
      try {
        const first = await roundOn(app, ocspServer, hang);
        expectWithinDeadline(first);
        expectUnknown(first, 'ocsp', 'strict');
        connections.push(first.stats!.connections);
        expect(first.stats!.connections, 'connections before the first failure').to.be.within(1, CERTIFICATES);
        const during = await roundOn(app, ocspServer, hang);
        expectUnknown(during, 'ocsp', 'strict');
        connections.push(during.stats!.connections);
        expect(during.stats!.connections, 'connections during the back-off').to.equal(0);

        // The back-off ends: one query probes the responder, the others wait for it (one deadline).
        await sleep(retryAfterMs);
        const probed = await roundOn(app, ocspServer, hang);
        expectWithinDeadline(probed);
        expectUnknown(probed, 'ocsp', 'strict');
        connections.push(probed.stats!.connections);
        expect(probed.stats!.connections, 'connections after the back-off').to.equal(1);

        // The responder is back: after the next back-off the probe is answered, then each certificate asks once.
        await sleep(retryAfterMs);
        const recovered = await roundOn(app, ocspServer, { kind: 'answer' });
        expectWithinDeadline(recovered);
        expectAnswered(recovered);
        connections.push(recovered.stats!.connections);
        expectOneFetchEach(recovered, 'ocsp', { kind: 'answer' });
      } finally {
        await app.close();
      }
      summary.push(
        `        a hung responder, ${CERTIFICATES} certificates, retryAfterMs ${retryAfterMs}: connections per round ` +
          `${connections.join(', ')} (first burst, back-off, probe, recovered)`,
      );
    });

    it('keeps the heap flat on one long-lived server through repeated outages (soft)', async function () {
      const gc = garbageCollector();
      if (gc === null) {
        console.log('      skipped: this runtime offers no way to collect garbage, so heap sizes mean nothing');
        this.skip();
      }
      // retryAfterMs 0: every round fetches again, as after each back-off in a long outage.
      const app = await startApp({ policy: 'soft', timeoutMs: TIMEOUT_MS, retryAfterMs: 0, scope: 'leaf', ocsp: true });
      const faults: Fault[] = [{ kind: 'hang' }, { kind: 'reset' }, { kind: 'slow', delayMs: OVER_MS }];
      const heap: number[] = [];
      try {
        for (let cycle = 0; cycle < MEMORY_CYCLES; cycle++) {
          for (const fault of faults) {
            const result = await roundOn(app, ocspServer, fault);
            expectWithinDeadline(result);
            expectUnknown(result, 'ocsp', 'soft', cycle > 0 || fault !== faults[0]);
          }
          gc!();
          heap.push(process.memoryUsage().heapUsed);
        }
      } finally {
        await app.close();
      }
      const requests = MEMORY_CYCLES * faults.length * CLIENTS;
      const mb = (bytes: number): string => (bytes / MB).toFixed(1);
      summary.push(
        `        one server, ${requests} requests through ${MEMORY_CYCLES * faults.length} outages: heap MB after gc ` +
          `per cycle ${heap.map(mb).join(', ')}; ${app.decisions.cached} of ${app.decisions.taken} decisions from a cache`,
      );
      // After the first cycle (warm: compiled code, pools, the server's own buffers) the heap may move by noise only.
      expect(Math.max(...heap.slice(1)) - heap[0]!, 'heap growth after the first cycle (bytes)').to.be.at.most(
        MAX_HEAP_GROWTH,
      );
    });
  });
});
