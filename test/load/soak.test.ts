/**
 * Soak: a proxy's connection pool forwarding a fleet. One million authentications through the
 * core over 20,000 client certificates in one global rotation (Envoy XFCC with the leaf and its
 * intermediate), with the default options, a handful of upstream connections reused round-robin,
 * and every header value a fresh string, as the HTTP parser makes it. After the first rotation
 * every decision is in the caches: resident memory must then stay flat.
 *
 * Every request must get its own client's certificate (the CN is checked each time), synchronously
 * once warm, and nothing may be logged. Resident memory is sampled (after a full collection when
 * the runtime allows one) at the end of the first rotation and every 50,000 requests, and printed
 * on one line.
 */
import type { Socket } from 'node:net';
import { setImmediate as turn } from 'node:timers/promises';
import { expect } from 'chai';
import { type AuthResult, type ClientCertAuth, createClientCertAuth } from '../../packages/core/src/index.js';
import { createCA, envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { garbageCollector } from '../helpers/gc.js';
import { issueFleet } from './fleet.js';

const CERTIFICATES = 20_000;
const REQUESTS = 1_000_000;
const SAMPLE_EVERY = 50_000;
/** Upstream keep-alive connections of the proxy's pool: each carries every client in turn. */
const CONNECTIONS = 8;
/** Growth of the resident set allowed after the first rotation. */
const MAX_GROWTH = 0.1;
const MB = 1024 * 1024;

/** Where `fresh` copies through: one buffer for all, as a socket's read buffer is reused. */
const scratch = Buffer.allocUnsafe(64 * 1024);

/** A new string equal to `value`: what the HTTP parser hands over for each request. */
function fresh(value: string): string {
  return scratch.toString('latin1', 0, scratch.write(value, 'latin1'));
}

interface Clients {
  readonly ca: string;
  /** Each client's X-Forwarded-Client-Cert as Envoy writes it (leaf and intermediate). */
  readonly headers: readonly string[];
  /** Each client's CN, which its requests must be answered with. */
  readonly names: readonly string[];
}

async function fleetBehindEnvoy(): Promise<Clients> {
  const root = await createCA({ subject: 'CN=Soak Root CA' });
  const intermediate = await root.intermediate({ subject: 'CN=Soak Issuing CA' });
  const fleet = await issueFleet(intermediate, CERTIFICATES);
  const headers: string[] = [];
  const names: string[] = [];
  for (let i = 0; i < CERTIFICATES; i++) {
    headers.push(envoyXfcc(fleet.leaf(i), { by: ['spiffe://fleet.test/proxy'] }));
    names.push(fleet.cn(i));
  }
  return { ca: root.cert, headers, names };
}

/**
 * Request number `n` of the rotation; fails the test unless it is answered with its own client's
 * CN. Synchronous when the decision is (once warm, always): no await on the measured path.
 */
function authenticateOne(auth: ClientCertAuth, clients: Clients, socket: Socket, n: number): Promise<void> | null {
  const index = n % CERTIFICATES;
  const result = auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': fresh(clients.headers[index]!) } });
  if (result instanceof Promise) {
    if (n >= CERTIFICATES) expect.fail(`request ${n}: a cached decision came as a Promise`);
    return result.then((settled) => expectClient(settled, clients.names[index]!, n));
  }
  expectClient(result, clients.names[index]!, n);
  return null;
}

function expectClient(result: AuthResult, name: string, n: number): void {
  if (!result.ok || result.certificate?.subject.get('CN') !== name)
    expect.fail(`request ${n}: not authenticated as ${name}`);
}

/** The resident set after a full collection when there is one, and how long the measuring took. */
function residentSet(gc: (() => void) | null): { rss: number; ms: number } {
  const start = performance.now();
  gc?.();
  const rss = process.memoryUsage().rss;
  return { rss, ms: performance.now() - start };
}

describe('soak: 1,000,000 authentications over 20,000 rotating certificates (XFCC)', function () {
  // Measured 35-60 s on two cores shared with others' benchmarks: certificates 5-15 s, the first
  // rotation (20,000 full decisions) 14-25 s, the other 980,000 requests 7-17 s with the samples.
  this.timeout(180_000);

  it('answers each request with its own client, and resident memory stays flat after the first rotation', async () => {
    const started = performance.now();
    const clients = await fleetBehindEnvoy();
    const generated = performance.now();
    const logged: string[] = [];
    // The default options; the logger is ours only to see that nothing is said per request.
    const auth = createClientCertAuth({
      source: 'xfcc',
      trustProxy: '127.0.0.1',
      ca: clients.ca,
      logger: { info: () => {}, warn: (line) => void logged.push(line) },
    });
    const startupWarnings = logged.length;
    const sockets = Array.from(
      { length: CONNECTIONS },
      () => ({ remoteAddress: '127.0.0.1', encrypted: false }) as unknown as Socket,
    );
    const gc = garbageCollector();
    const samples: Array<{ at: number; rss: number }> = [];
    let warmedAt = 0;
    let sampling = 0;
    for (let n = 0; n < REQUESTS; ) {
      // The first batch is the first rotation (warm-up), then one batch per sample.
      const stop = n < CERTIFICATES ? CERTIFICATES : Math.min(REQUESTS, n + SAMPLE_EVERY - (n % SAMPLE_EVERY));
      for (; n < stop; n++) {
        const pending = authenticateOne(auth, clients, sockets[n % CONNECTIONS]!, n);
        if (pending !== null) await pending;
      }
      const sample = residentSet(gc);
      samples.push({ at: n, rss: sample.rss });
      sampling += sample.ms;
      if (n === CERTIFICATES) {
        warmedAt = performance.now();
        sampling = 0; // from here on, the time of the samples is not the requests'
      }
      await turn(); // let timers (mocha's among them) run between batches
    }
    const finished = performance.now();

    const perRequest = ((finished - warmedAt - sampling) * 1000) / (REQUESTS - CERTIFICATES);
    const curve = samples.map((s) => `${s.at / 1000}k ${(s.rss / MB).toFixed(0)}`).join(', ');
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `      soak: ${REQUESTS.toLocaleString('en')} requests over ${CERTIFICATES.toLocaleString('en')} certificates ` +
        `in ${seconds(finished - started)} (certificates ${seconds(generated - started)}, first rotation ` +
        `${seconds(warmedAt - generated)}, then ${perRequest.toFixed(1)} µs a request, ${seconds(sampling)} in gc ` +
        `for the samples); rss MB${gc ? ' after gc' : ' (no gc available)'}: ${curve}`,
    );
    expect(logged.slice(startupWarnings), 'lines logged while serving').to.deep.equal([]);
    const baseline = samples[0]!.rss;
    const peak = Math.max(...samples.map((s) => s.rss));
    expect(
      peak,
      `resident set after the first rotation ${(baseline / MB).toFixed(0)} MB, peak ${(peak / MB).toFixed(0)} MB`,
    ).to.be.at.most(baseline * (1 + MAX_GROWTH));
  });
});
