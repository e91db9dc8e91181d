/**
 * Path building cost: a 3-certificate chain (the everyday case) and a 50-certificate pool of
 * ten CAs that all cross-sign each other (cycles everywhere), reachable from the anchor through
 * one certificate — once valid, once expired (so every alternative is explored until the work
 * limit), and once disconnected from the anchor.
 *
 *   node --import tsx benchmarks/path-building.ts
 *
 * "fresh" runs give every verification its own X509Certificate objects (nothing cached: facts,
 * keys and signatures are computed again; parsing the DER itself is done before timing); "warm"
 * runs reuse the objects, as the TLS socket cache and configured anchors and pools do.
 */
import { X509Certificate } from 'node:crypto';
import { createCA, generateKeyPair, type TestCA, type TestCertificate } from '../packages/core/src/testkit/index.js';
import {
  compileIntermediatePool,
  compileTrustAnchors,
  type VerifyChainResult,
  verifyChainSync,
} from '../packages/core/src/trust/path/verify.js';

const DAY = 86_400_000;
const NAMES = 10;
const ISSUERS_PER_NAME = 5;

function clone(cert: TestCertificate | X509Certificate): X509Certificate {
  return new X509Certificate(cert instanceof X509Certificate ? cert.raw : cert.der);
}

function measure(label: string, iterations: number, run: (i: number) => VerifyChainResult): void {
  let last: VerifyChainResult | undefined;
  for (let i = 0; i < Math.min(20, iterations); i++) last = run(i); // JIT warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) last = run(i);
  const micros = Number(process.hrtime.bigint() - started) / 1000 / iterations;
  const outcome = last!.ok ? `ok (${last!.chain.length} certificates)` : `${last!.code}: ${last!.message}`;
  console.log(`${label.padEnd(58)} ${micros.toFixed(1).padStart(9)} µs/verify  ${outcome}`);
}

/** Ten CAs N0..N9, each certified by the next five (50 certificates); N0 also by the root. */
async function cyclicPool(root: TestCA, rootLinkExpired: boolean): Promise<{ pool: TestCA[]; leaf: TestCertificate }> {
  const keys = await Promise.all(Array.from({ length: NAMES }, () => generateKeyPair()));
  const seeds = await Promise.all(keys.map((keyPair, i) => createCA({ subject: `CN=Mesh CA ${i}`, keyPair })));
  const pool: TestCA[] = [];
  for (let i = 0; i < NAMES; i++) {
    for (let k = 1; k <= ISSUERS_PER_NAME; k++) {
      const linkToRoot = i === 0 && k === ISSUERS_PER_NAME;
      const issuer = linkToRoot ? root : seeds[(i + k) % NAMES]!;
      const validity =
        linkToRoot && rootLinkExpired
          ? { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) }
          : {};
      pool.push(await issuer.intermediate({ subject: `CN=Mesh CA ${i}`, keyPair: keys[i], ...validity }));
    }
  }
  return { pool, leaf: await seeds[5]!.issue({ subject: 'CN=mesh client' }) };
}

async function main(): Promise<void> {
  const root = await createCA({ subject: 'CN=Bench Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Bench Issuing CA' });
  const leaf = await intermediate.issue({ subject: 'CN=bench client' });
  const anchors = compileTrustAnchors(root.cert);

  console.log('3-certificate chain (leaf presented with its intermediate)');
  const fresh = Array.from({ length: 2000 }, () => ({ leaf: clone(leaf), intermediate: clone(intermediate) }));
  measure('  fresh leaf and intermediate objects', fresh.length - 20, (i) =>
    verifyChainSync({ leaf: fresh[i]!.leaf, intermediates: [fresh[i]!.intermediate], trustAnchors: anchors }),
  );
  measure('  warm (same objects every time)', 20_000, () =>
    verifyChainSync({ leaf: leaf.x509, intermediates: [intermediate.x509], trustAnchors: anchors }),
  );

  for (const [title, expired] of [
    ['valid link to the anchor', false],
    ['expired link to the anchor', true],
  ] as const) {
    const { pool, leaf: meshLeaf } = await cyclicPool(root, expired);
    const compiled = compileIntermediatePool(pool.map((ca) => ca.x509));
    console.log(`50-certificate cyclic pool, ${title}`);
    const freshRuns = Array.from({ length: 60 }, () => ({
      leaf: clone(meshLeaf),
      pool: pool.map(clone),
      anchor: clone(root),
    }));
    measure('  fresh objects for everything (cold caches)', freshRuns.length - 20, (i) => {
      const run = freshRuns[i]!;
      return verifyChainSync({ leaf: run.leaf, intermediatePool: run.pool, trustAnchors: [run.anchor] });
    });
    const leaves = Array.from({ length: 1000 }, () => clone(meshLeaf));
    measure('  configured pool and anchors, fresh leaf', leaves.length - 20, (i) =>
      verifyChainSync({ leaf: leaves[i]!, intermediatePool: compiled, trustAnchors: anchors }),
    );
    measure('  warm (same objects every time)', 1000, () =>
      verifyChainSync({ leaf: meshLeaf.x509, intermediatePool: compiled, trustAnchors: anchors }),
    );
  }

  const otherRoot = compileTrustAnchors((await createCA({ subject: 'CN=Unrelated Root' })).cert);
  const { pool, leaf: meshLeaf } = await cyclicPool(root, false);
  const compiled = compileIntermediatePool(pool.map((ca) => ca.x509));
  console.log('50-certificate cyclic pool, no link to the anchor');
  measure('  configured pool and anchors, same leaf', 10_000, () =>
    verifyChainSync({ leaf: meshLeaf.x509, intermediatePool: compiled, trustAnchors: otherRoot }),
  );
}

await main();
