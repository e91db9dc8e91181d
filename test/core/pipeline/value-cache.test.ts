import type { Socket } from 'node:net';
import { expect } from 'chai';
import { createClientCertAuth, type DecisionEvent } from '../../../packages/core/src/index.js';
import { ENTRY_BYTES, sampleHash, ValueCache } from '../../../packages/core/src/pipeline/value-cache.js';
import { createCA, envoyXfcc, type TestCertificate } from '../../../packages/core/src/testkit/index.js';

/** `base` with the character at `at` replaced: values that differ in one place only. */
function variant(base: string, at: number, char: string): string {
  return base.slice(0, at) + char + base.slice(at + 1);
}

describe('pipeline/value-cache: decisions by header value, exact without hashing the whole value', () => {
  const base = 'By=spiffe://proxy;Hash=00;Cert="'.padEnd(2200, 'A');

  it('finds a value only by its exact characters: every one-character variant is its own entry', () => {
    const cache = new ValueCache<{ n: number }>(10_000, 64 * 1024 * 1024);
    const variants = Array.from({ length: base.length }, (_, at) => variant(base, at, 'B'));
    for (const [n, value] of variants.entries()) cache.set(value, { n });
    // Most variants differ outside the sampled characters and share a bucket: still never confused.
    const found = variants.map((value) => cache.get(Buffer.from(value).toString('latin1'))?.n);
    const kept = found.filter((n) => n !== undefined);
    expect(kept.length).to.be.greaterThan(0);
    for (const [i, n] of found.entries()) if (n !== undefined) expect(n).to.equal(i);
    expect(cache.get(base)).to.equal(undefined);
    expect(cache.get(`${base}A`)).to.equal(undefined);
  });

  it('a bucket of values that sample alike holds at most 8: crafted values cannot make a lookup long', () => {
    const cache = new ValueCache<{ n: number }>(10_000, 64 * 1024 * 1024);
    const alike = Array.from({ length: base.length }, (_, at) => variant(base, at, 'B')).filter(
      (value) => sampleHash(value) === sampleHash(base),
    );
    expect(alike.length).to.be.greaterThan(8);
    for (const [n, value] of alike.entries()) cache.set(value, { n });
    expect(cache.size).to.equal(8);
    expect(cache.get(alike.at(-1)!)?.n).to.equal(alike.length - 1);
    expect(cache.get(alike[0]!)).to.equal(undefined);
  });

  it('is bounded by entries: the least recently used goes, and is not found afterwards', () => {
    const cache = new ValueCache<{ n: number }>(3, 64 * 1024 * 1024);
    for (let n = 0; n < 4; n++) cache.set(`value ${n}`, { n });
    expect(cache.size).to.equal(3);
    expect(cache.get('value 0')).to.equal(undefined);
    expect(cache.get('value 3')?.n).to.equal(3);
  });

  it('a value in use survives churn: its recency is refreshed once it has aged by a quarter of the entries', () => {
    const cache = new ValueCache<{ n: number }>(8, 64 * 1024 * 1024);
    for (let n = 0; n < 8; n++) cache.set(`value ${n}`, { n });
    // 40 new values pass through a cache of 8; value 0 is asked for before each one.
    for (let n = 8; n < 48; n++) {
      expect(cache.get('value 0')?.n, `before value ${n}`).to.equal(0);
      cache.set(`value ${n}`, { n });
    }
    expect(cache.get('value 0')?.n).to.equal(0);
    expect(cache.size).to.equal(8);
    expect(cache.get('value 1')).to.equal(undefined); // never used again: evicted
  });

  it('binary keys kept whole (split: false): quote and NUL bytes are characters like any other', () => {
    const cache = new ValueCache<{ n: number }>(100, 64 * 1024 * 1024, { split: false });
    const der = Buffer.from([0x30, 0x82, 0x01, 0x00, 0x22, 0x00, 0x22, 0x2d, 0x2d, 0x2d, 0x2d, 0x2d]).toString(
      'latin1',
    );
    cache.set(der.repeat(40), { n: 1 });
    expect(cache.get(der.repeat(40))?.n).to.equal(1);
    expect(cache.get(`${der.repeat(39)}${der.slice(0, -1)}\u0000`)).to.equal(undefined);
    expect(cache.get(der.repeat(40).replace('\u0000', '\u0001'))).to.equal(undefined);
  });

  it('is bounded by the bytes of the values kept, and keeps nothing larger than the budget', () => {
    const cache = new ValueCache<{ n: number }>(1000, 5 * ENTRY_BYTES + 5 * 2000);
    for (let n = 0; n < 10; n++) cache.set(`${n}`.padEnd(2000, 'x'), { n });
    expect(cache.size).to.equal(5);
    expect(cache.get('9'.padEnd(2000, 'x'))?.n).to.equal(9);
    expect(cache.get('4'.padEnd(2000, 'x'))).to.equal(undefined);
    cache.set('y'.repeat(20_000), { n: 99 });
    expect(cache.get('y'.repeat(20_000))).to.equal(undefined);
    expect(cache.size).to.equal(5);
  });

  it('values kept as shared pieces: the same pieces in another order or grouping are other values', () => {
    const cache = new ValueCache<{ n: number }>(100, 64 * 1024 * 1024);
    // Certificate-sized, so that they are kept once and shared between the values.
    const leaf = `-----BEGIN%20CERTIFICATE-----%0A${'l'.repeat(300)}%0A-----END%20CERTIFICATE-----%0A`;
    const issuer = `-----BEGIN%20CERTIFICATE-----%0A${'i'.repeat(300)}%0A-----END%20CERTIFICATE-----%0A`;
    const values = [
      `Hash=1;Cert="${leaf}";Chain="${leaf}${issuer}"`,
      `Hash=1;Cert="${issuer}";Chain="${issuer}${leaf}"`,
      `Hash=1;Cert="${leaf}";Chain="${issuer}${leaf}"`,
      `Hash=1;Cert=${leaf}";Chain=""${leaf}${issuer}"`,
      `${leaf}\0${issuer}`,
      `${issuer}\0${leaf}`,
    ];
    for (const [n, value] of values.entries()) cache.set(value, { n });
    expect(values.map((value) => cache.get(`${value}`)?.n)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    expect(cache.get(`Hash=1;Cert="${leaf}";Chain="${leaf}"`)).to.equal(undefined);
  });

  it('setting a kept value again replaces its entry', () => {
    const cache = new ValueCache<{ n: number }>(10, 64 * 1024);
    cache.set('v', { n: 1 });
    cache.set('v', { n: 2 });
    expect(cache.size).to.equal(1);
    expect(cache.get('v')?.n).to.equal(2);
  });
});

describe('the cache option', () => {
  let certificates: TestCertificate[];
  let ca: string;

  before(async () => {
    const root = await createCA();
    ca = root.cert;
    certificates = await Promise.all([1, 2, 3].map((n) => root.issue({ subject: `CN=client ${n}` })));
  });

  /** Whether each request in turn was answered from a cache, for XFCC values sent in this order. */
  function cachedFlags(cache: { maxEntries: number } | undefined, order: number[]): boolean[] {
    const events: DecisionEvent[] = [];
    const auth = createClientCertAuth({
      logger: false,
      source: 'xfcc',
      trustProxy: '127.0.0.1',
      ca,
      onDecision: (event) => {
        events.push(event);
      },
      ...(cache ? { cache } : {}),
    });
    // A new connection per request: only the shared caches can answer.
    for (const i of order) {
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': envoyXfcc(certificates[i]!) } });
    }
    return events.map((event) => event.cached);
  }

  it('by default holds every client of a rotation', () => {
    expect(cachedFlags(undefined, [0, 1, 2, 0, 1, 2])).to.deep.equal([false, false, false, true, true, true]);
  });

  it('other header sources too: a rotation across new connections is read once per value', () => {
    let decoded = 0;
    const hex = {
      header: 'x-client-cert',
      decode: (value: string) => {
        decoded += 1;
        return Buffer.from(value, 'hex');
      },
    };
    const auth = createClientCertAuth({ logger: false, source: hex, trustProxy: '127.0.0.1', ca });
    const subjects: Array<string | undefined> = [];
    for (const i of [0, 1, 2, 0, 1, 2]) {
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      const headers = { 'x-client-cert': certificates[i]!.der.toString('hex') };
      const result = auth.authenticate({ socket, headers });
      if (result instanceof Promise) throw new Error('decided synchronously here');
      subjects.push(result.ok ? result.certificate?.subject.get('CN') : result.error.code);
    }
    expect(subjects).to.deep.equal(['client 1', 'client 2', 'client 3', 'client 1', 'client 2', 'client 3']);
    expect(decoded).to.equal(3);
  });

  it('maxEntries smaller than the rotation: every request decided again', () => {
    expect(cachedFlags({ maxEntries: 2 }, [0, 1, 2, 0, 1, 2])).to.deep.equal([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  for (const [cache, path] of [
    [{ maxEntries: 0 }, 'cache.maxEntries'],
    [{ maxEntries: 1.5 }, 'cache.maxEntries'],
    [{ maxBytes: 10 }, 'cache.maxBytes'],
    [{ entries: 10 }, 'cache.entries'],
    [1000, 'cache'],
  ] as const) {
    it(`refuses cache: ${JSON.stringify(cache)} at start-up, naming ${path}`, () => {
      expect(() => createClientCertAuth({ logger: false, cache: cache as never }))
        .to.throw()
        .that.satisfies((error: { code: string; message: string }) => {
          expect(error.code).to.equal('invalid_option');
          expect(error.message).to.include(path);
          return true;
        });
    });
  }
});
