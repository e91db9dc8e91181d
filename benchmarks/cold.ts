/**
 * Cold cost of a certificate the middleware has never seen: `parseCertificate` + `verifyChainSync`
 * (leaf issued directly by the anchor: one signature) against the floor, node:crypto alone —
 * `new X509Certificate(der)` + one `verify(issuerKey)`. Every iteration parses the DER afresh,
 * so no per-object cache helps either side.
 *
 *   node --conditions=@clientcert/source --import tsx benchmarks/cold.ts
 */
import { X509Certificate } from 'node:crypto';
import { createCA } from '../packages/core/src/testkit/index.js';
import { compileTrustAnchors, compileVerifyPolicy, verifyChainSync } from '../packages/core/src/trust/path/verify.js';
import { parseCertificate } from '../packages/core/src/x509/certificate.js';

export interface ColdResult {
  certificates: number;
  /** Median µs per certificate over the rounds. */
  oursMicros: number;
  floorMicros: number;
  ratio: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runCold(count = 200, rounds = 7): Promise<ColdResult> {
  const root = await createCA({ subject: 'CN=Cold Root' });
  const leaves: Buffer[] = [];
  for (let i = 0; i < count; i++) leaves.push((await root.issue({ subject: `CN=cold client ${i}` })).der);
  const anchors = compileTrustAnchors(root.cert);
  const policy = compileVerifyPolicy();
  const issuerKey = new X509Certificate(root.der).publicKey;
  const at = new Date();

  const ours = (der: Buffer): void => {
    const certificate = parseCertificate(der);
    const result = verifyChainSync({
      leaf: certificate.x509,
      trustAnchors: anchors,
      policy,
      at,
      purpose: 'clientAuth',
    });
    if (!result.ok) throw new Error(`cold verify failed: ${result.message}`);
  };
  const floor = (der: Buffer): void => {
    if (!new X509Certificate(der).verify(issuerKey)) throw new Error('floor verify failed');
  };
  const time = (fn: (der: Buffer) => void): number => {
    const started = process.hrtime.bigint();
    for (const der of leaves) fn(der);
    return Number(process.hrtime.bigint() - started) / 1000 / leaves.length;
  };
  for (let i = 0; i < 2; i++) {
    time(ours);
    time(floor);
  } // JIT warm-up
  const oursTimes: number[] = [];
  const floorTimes: number[] = [];
  for (let i = 0; i < rounds; i++) {
    oursTimes.push(time(ours));
    floorTimes.push(time(floor));
  }
  const oursMicros = median(oursTimes);
  const floorMicros = median(floorTimes);
  return { certificates: count, oursMicros, floorMicros, ratio: oursMicros / floorMicros };
}

if (process.argv[1]?.endsWith('cold.ts')) {
  const result = await runCold();
  console.log(
    `parse+verify ${result.oursMicros.toFixed(1)} µs, node:crypto floor ${result.floorMicros.toFixed(1)} µs, ratio ${result.ratio.toFixed(2)}×`,
  );
}
