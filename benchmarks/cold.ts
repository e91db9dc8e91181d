/**
 * Cold cost of a certificate the middleware has never seen, as the decision path pays it:
 * `parseCertificate` + path validation (`verifyPath`, the records form the pipeline uses) of a leaf
 * issued by a known intermediate (the configured pool, its own signature already checked once)
 * under a configured anchor, everything compiled up front. Against the floor, node:crypto alone:
 * `new X509Certificate(der)` + one `verify(intermediateKey)`. Every iteration reads the DER
 * afresh, so no per-certificate cache helps either side. The two sides alternate, round by round,
 * each timed in CPU time, and the ratio is taken per round: its median and its spread are reported.
 *
 *   node --conditions=@clientcert/source --import tsx benchmarks/cold.ts
 */
import { X509Certificate } from 'node:crypto';
import { createCA } from '../packages/core/src/testkit/index.js';
import {
  compileIntermediatePool,
  compileTrustAnchors,
  compileVerifyPolicy,
  readChecks,
  verifyPath,
} from '../packages/core/src/trust/path/verify.js';
import { parseCertificate, recordOf } from '../packages/core/src/x509/certificate.js';
import { factsOf } from '../packages/core/src/x509/facts.js';

export interface ColdResult {
  certificates: number;
  /** Median CPU µs per certificate over the rounds. */
  oursMicros: number;
  floorMicros: number;
  /** Median of the per-round ratios ours / floor. */
  ratio: number;
  /** Lowest and highest per-round ratio. */
  ratioRange: readonly [number, number];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function runCold(count = 200, rounds = 15, warmUpRounds = 15): Promise<ColdResult> {
  const root = await createCA({ subject: 'CN=Cold Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Cold Issuing CA' });
  const leaves: Buffer[] = [];
  for (let i = 0; i < count; i++) leaves.push((await intermediate.issue({ subject: `CN=cold client ${i}` })).der);
  const anchors = compileTrustAnchors(root.cert).map(factsOf);
  const pool = compileIntermediatePool(intermediate.cert).map(factsOf);
  const checks = readChecks({ at: new Date(), purpose: 'clientAuth', policy: compileVerifyPolicy() });
  const issuerKey = new X509Certificate(intermediate.der).publicKey;

  const ours = (der: Buffer): void => {
    const result = verifyPath(recordOf(parseCertificate(der)), pool, anchors, checks);
    if (!result.ok) throw new Error(`cold verify failed: ${result.message}`);
  };
  const floor = (der: Buffer): void => {
    if (!new X509Certificate(der).verify(issuerKey)) throw new Error('floor verify failed');
  };
  // CPU time of the process, not wall time: on a shared machine a round may wait for a core.
  const time = (fn: (der: Buffer) => void): number => {
    const started = process.cpuUsage();
    for (const der of leaves) fn(der);
    const used = process.cpuUsage(started);
    return (used.user + used.system) / leaves.length;
  };
  // A server decides new leaves with code the earlier ones made hot: warm the JIT up as far (a few
  // thousand decisions), which also checks the intermediate's own signature once.
  for (let i = 0; i < warmUpRounds; i++) {
    time(ours);
    time(floor);
  }
  const oursTimes: number[] = [];
  const floorTimes: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < rounds; i++) {
    // Alternate which side goes first, so neither always runs on a warmer or a busier machine.
    let oursMicros: number;
    let floorMicros: number;
    if (i % 2 === 0) {
      oursMicros = time(ours);
      floorMicros = time(floor);
    } else {
      floorMicros = time(floor);
      oursMicros = time(ours);
    }
    oursTimes.push(oursMicros);
    floorTimes.push(floorMicros);
    ratios.push(oursMicros / floorMicros);
  }
  return {
    certificates: count,
    oursMicros: median(oursTimes),
    floorMicros: median(floorTimes),
    ratio: median(ratios),
    ratioRange: [Math.min(...ratios), Math.max(...ratios)],
  };
}

if (process.argv[1]?.endsWith('cold.ts')) {
  const result = await runCold();
  const [low, high] = result.ratioRange;
  console.log(
    `parse+verify ${result.oursMicros.toFixed(1)} µs, node:crypto floor ${result.floorMicros.toFixed(1)} µs, ` +
      `ratio ${result.ratio.toFixed(2)}× (rounds ${low.toFixed(2)}–${high.toFixed(2)}×)`,
  );
}
