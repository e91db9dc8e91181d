/**
 * Memory held per cached decision: one middleware instance decides N distinct client certificates
 * (Envoy-style XFCC with leaf + intermediate, as a proxy sends them), then the growth of the heap,
 * of the memory outside it (Buffers) and of the resident set is divided by N. Each request gets a
 * fresh copy of its header, as the HTTP parser makes one, so what the cache keeps of the value
 * (its key) is counted. The middleware's cache is bounded at N (`cache.maxEntries`), so past N
 * the growth must stop: the last number.
 *
 *   node --expose-gc --conditions=@clientcert/source --import tsx benchmarks/memory.ts [--count N]   (default 20,000)
 */
import type { Socket } from 'node:net';
import { createClientCertAuth } from '../packages/core/src/index.js';
import { createCA, envoyXfcc, generateKeyPair } from '../packages/core/src/testkit/index.js';

export interface MemoryResult {
  certificates: number;
  /** Bytes per cached decision. */
  heapPerEntry: number;
  externalPerEntry: number;
  rssPerEntry: number;
  /** Header length sent per request (the key the per-header cache keeps). */
  headerBytes: number;
  /** Growth per entry after twice the cache size: ~0 when the caches are bounded. */
  beyondBoundPerEntry: number;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  gc();
}

function usage(): { heap: number; external: number; rss: number } {
  collect();
  const memory = process.memoryUsage();
  return { heap: memory.heapUsed, external: memory.external, rss: memory.rss };
}

/** A fleet behind one proxy: at this size the engine's own one-off costs (compiled code) no longer show per entry. */
const FLEET = 20_000;

export async function runMemory(count = FLEET): Promise<MemoryResult> {
  const root = await createCA({ subject: 'CN=Memory Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Memory Issuing CA' });
  const keyPair = await generateKeyPair();
  const headers: string[] = [];
  // A quarter more than the cache holds: past the bound, the growth must stop.
  for (let i = 0; i < count + Math.ceil(count / 4) + 1; i++) {
    const leaf = await intermediate.issue({
      subject: `CN=memory client ${i},O=Bench`,
      keyPair,
      san: { uri: [`spiffe://bench/client/${i}`] },
    });
    headers.push(envoyXfcc(leaf, { by: ['spiffe://bench/server'] }));
  }
  const auth = createClientCertAuth({
    logger: false,
    source: 'xfcc',
    ca: root.cert,
    trustProxy: '127.0.0.1',
    cache: { maxEntries: count },
  });
  const request = (xfcc: string) => {
    // A new socket object per request: the per-connection memo must not be what keeps entries alive.
    const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
    const fresh = Buffer.from(xfcc, 'latin1').toString('latin1'); // the parser's own string, kept as the key
    const result = auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': fresh } });
    if (result instanceof Promise || !result.ok) throw new Error('memory benchmark: expected a synchronous success');
  };
  request(headers[0]!); // first use: compiled paths, lazily loaded modules
  const before = usage();
  for (const header of headers.slice(1, count + 1)) request(header);
  const filled = usage();
  for (const header of headers.slice(count + 1)) request(header);
  const beyond = usage();
  return {
    certificates: count,
    heapPerEntry: (filled.heap - before.heap) / count,
    externalPerEntry: (filled.external - before.external) / count,
    rssPerEntry: (filled.rss - before.rss) / count,
    headerBytes: headers[0]!.length,
    beyondBoundPerEntry: (beyond.heap + beyond.external - filled.heap - filled.external) / (headers.length - count - 1),
  };
}

export function describeMemory(result: MemoryResult): string {
  const kb = (bytes: number): string => `${(bytes / 1024).toFixed(2)} KB`;
  return (
    `memory per cached decision (${result.certificates} distinct certificates, ${result.headerBytes}-byte XFCC headers): ` +
    `heap ${kb(result.heapPerEntry)}, outside the heap ${kb(result.externalPerEntry)}, resident set ${kb(result.rssPerEntry)}; ` +
    `${kb(result.beyondBoundPerEntry)} per further certificate once the caches are full`
  );
}

if (process.argv[1]?.endsWith('memory.ts')) {
  const countAt = process.argv.indexOf('--count');
  const result = await runMemory(countAt > 0 ? Number(process.argv[countAt + 1]) : undefined);
  console.log(process.argv.includes('--json') ? JSON.stringify(result) : describeMemory(result));
}
