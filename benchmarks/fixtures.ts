/**
 * Certificates for the load benchmarks, in files that the server processes and the load
 * generator share. Issuing them (21,500 leaves with the test kit) takes about a
 * minute, so everything is generated once into a directory under the system's temp dir, keyed by
 * FIXTURES_VERSION, and reused until a certificate is within a week of expiring.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCA, envoyXfcc, generateKeyPair, type TestCA } from '../packages/core/src/testkit/index.js';

/** Bump when what is generated changes: older directories are then replaced. */
const FIXTURES_VERSION = 2;
const ROOT_DIR = join(tmpdir(), 'clientcert-bench');
const VALID_DAYS = 365;
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export interface Fixtures {
  version: number;
  dir: string;
  /** Root CA PEM (the trust anchor). */
  caFile: string;
  /** Server certificate and key (issued by the intermediate, chain included). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate + intermediate, and its key. */
  clientCertFile: string;
  clientKeyFile: string;
  /** One XFCC header as Envoy writes it for the client certificate (Cert, Chain, Subject, URI, DNS). */
  xfcc: string;
  /** A JSON array of XFCC headers, each for a different client certificate (same CN, same key). */
  distinctXfccFile: string;
  /** The client's CN, for the peers' authorization callbacks. */
  clientCN: string;
  /** JSON array: the Envoy XFCC header (leaf + intermediate) of fleet client i, CN fleetCN(i). */
  fleetXfccFile: string;
  /** JSON array: the PEM leaf + intermediate fleet client i presents over TLS. */
  fleetChainFile: string;
  /** The one key pair every fleet leaf certifies (their certificates differ, which is all a cache sees). */
  fleetKeyFile: string;
  fleetSize: number;
  /** Earliest notAfter among the certificates, ms since the epoch. */
  notAfter: number;
  /** How long generating took, seconds. */
  generationSeconds: number;
}

export const CLIENT_CN = 'bench client';
/** More than the old caches held (1000 header values, 1000 chains): every request missed. */
export const DISTINCT_CERTIFICATES = 1500;
/** The largest fleet measured. */
export const FLEET_SIZE = 20_000;

/** Fleet client i's CN, which the fleet routes answer. */
export function fleetCN(index: number): string {
  return `client-${String(index).padStart(5, '0')}`;
}

/** The fixtures, from the cache when it is current, else generated (and cached) now. */
export async function loadFixtures(log: (line: string) => void = console.log): Promise<Fixtures> {
  const dir = join(ROOT_DIR, `v${FIXTURES_VERSION}`);
  const cached = readManifest(dir);
  if (cached && cached.notAfter - Date.now() > RENEW_BEFORE_MS) return cached;
  log(`generating benchmark certificates (${FLEET_SIZE + DISTINCT_CERTIFICATES} leaves) into ${dir} …`);
  mkdirSync(ROOT_DIR, { recursive: true });
  // Generated aside and renamed into place: an interrupted run never leaves a half-written cache.
  const work = mkdtempSync(join(ROOT_DIR, 'tmp-'));
  const started = Date.now();
  const fixtures = await generate(work, dir, log);
  fixtures.generationSeconds = (Date.now() - started) / 1000;
  writeFileSync(join(work, 'fixtures.json'), JSON.stringify(fixtures));
  for (const old of readdirSync(ROOT_DIR)) {
    if (/^v\d+$/.test(old)) rmSync(join(ROOT_DIR, old), { recursive: true, force: true });
  }
  try {
    renameSync(work, dir);
  } catch (error) {
    // Another run generated them at the same time and renamed first: use theirs.
    rmSync(work, { recursive: true, force: true });
    const theirs = readManifest(dir);
    if (!theirs) throw error;
    return theirs;
  }
  log(
    `generated in ${fixtures.generationSeconds.toFixed(0)} s (reused by later runs until ${new Date(fixtures.notAfter - RENEW_BEFORE_MS).toISOString().slice(0, 10)})`,
  );
  return fixtures;
}

/** The cached fixtures of this version, or null when there are none (or they are unreadable). */
function readManifest(dir: string): Fixtures | null {
  const file = join(dir, 'fixtures.json');
  if (!existsSync(file)) return null;
  try {
    const fixtures = JSON.parse(readFileSync(file, 'utf8')) as Fixtures;
    return fixtures.version === FIXTURES_VERSION ? fixtures : null;
  } catch {
    return null;
  }
}

/** Everything, written into `work`; the paths recorded are where `work` will be renamed to (`dir`). */
async function generate(work: string, dir: string, log: (line: string) => void): Promise<Fixtures> {
  const root = await createCA({ subject: 'CN=Bench Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Bench Issuing CA' });
  const client = await intermediate.issue({
    subject: `CN=${CLIENT_CN},O=Bench`,
    san: { uri: ['spiffe://bench/client'] },
    validDays: VALID_DAYS,
  });
  const server = await intermediate.issue({
    subject: 'CN=localhost',
    san: { dns: ['localhost'], ip: ['127.0.0.1'] },
    eku: ['serverAuth'],
    validDays: VALID_DAYS,
  });
  const file = (name: string, text: string): string => {
    writeFileSync(join(work, name), text);
    return join(dir, name);
  };
  const keyPair = await generateKeyPair();
  const distinct: string[] = [];
  for (let i = 0; i < DISTINCT_CERTIFICATES; i++) {
    const leaf = await intermediate.issue({ subject: `CN=${CLIENT_CN},O=Bench`, keyPair, validDays: VALID_DAYS });
    distinct.push(envoyXfcc(leaf, { by: ['spiffe://bench/server'] }));
  }
  const fleet = await issueFleet(intermediate, log);
  return {
    version: FIXTURES_VERSION,
    dir,
    caFile: file('ca.pem', root.cert),
    serverCertFile: file('server.pem', server.fullChain),
    serverKeyFile: file('server-key.pem', server.key),
    clientCertFile: file('client.pem', client.fullChain),
    clientKeyFile: file('client-key.pem', client.key),
    xfcc: envoyXfcc(client, { by: ['spiffe://bench/server'] }),
    distinctXfccFile: file('distinct-xfcc.json', JSON.stringify(distinct)),
    clientCN: CLIENT_CN,
    fleetXfccFile: file('fleet-xfcc.json', JSON.stringify(fleet.xfcc)),
    fleetChainFile: file('fleet-chains.json', JSON.stringify(fleet.chains)),
    fleetKeyFile: file('fleet-key.pem', fleet.key),
    fleetSize: FLEET_SIZE,
    notAfter: Math.min(client.notAfter.getTime(), server.notAfter.getTime(), fleet.notAfter),
    generationSeconds: 0,
  };
}

/** FLEET_SIZE leaves under the intermediate, distinct CNs, one shared key pair. */
async function issueFleet(
  intermediate: TestCA,
  log: (line: string) => void,
): Promise<{ xfcc: string[]; chains: string[]; key: string; notAfter: number }> {
  const keyPair = await generateKeyPair();
  const xfcc: string[] = [];
  const chains: string[] = [];
  let key = '';
  let notAfter = Number.POSITIVE_INFINITY;
  for (let i = 0; i < FLEET_SIZE; i++) {
    const leaf = await intermediate.issue({
      subject: `CN=${fleetCN(i)},O=Bench Fleet`,
      keyPair,
      validDays: VALID_DAYS,
    });
    xfcc.push(envoyXfcc(leaf, { by: ['spiffe://bench/server'] }));
    chains.push(leaf.fullChain);
    key = leaf.key;
    notAfter = Math.min(notAfter, leaf.notAfter.getTime());
    if ((i + 1) % 5000 === 0) log(`  ${i + 1}/${FLEET_SIZE} fleet certificates`);
  }
  return { xfcc, chains, key, notAfter };
}
