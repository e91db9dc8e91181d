/**
 * `pnpm bench`: requests per second and server CPU time per request of express, koa and fastify
 * with the clientcert middleware (xfcc with a warm cache and with a new certificate on every
 * request; tls on keep-alive connections and with a new connection per request), each divided by
 * the bare framework measured in the same run, the npm peers on the same express server, and the
 * cold cost of parse + verify against node:crypto's floor. See benchmarks/README.md.
 *
 *   pnpm bench [-- --runs 3 --seconds 3 --connections 10 --only express --configs bare-https,tls]
 *   pnpm bench -- --profile express:xfcc [--seconds 6]     # --cpu-prof on the server, hot functions
 *
 * Servers run in their own processes (one per framework), autocannon in another; this process
 * only orchestrates. Configurations are interleaved round by round so that drift (thermal, noisy
 * neighbours) hits every configuration alike; the table shows medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCold } from './cold.js';
import {
  type Config,
  configsOf,
  FRAMEWORKS,
  type Framework,
  isHttps,
  type Load,
  VARIANTS,
  type Variant,
} from './config.js';
import { createFixtures, type Fixtures } from './fixtures.js';
import { type LoadOptions, runLoad } from './load.js';
import { describeMemory, type MemoryResult } from './memory.js';
import { hotSpots, selfByFile } from './profile.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'), // `pnpm bench -- --x` passes the `--` on
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    only: { type: 'string' },
    configs: { type: 'string' },
    profile: { type: 'string' },
    'skip-cold': { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);

interface Server {
  child: ChildProcess;
  ports: Partial<Record<Variant, number>>;
}

function startServer(framework: Framework, fixturesFile: string, extraNodeArgs: string[] = []): Promise<Server> {
  const child = spawn(
    process.execPath,
    [
      ...extraNodeArgs,
      '--conditions=@clientcert/source',
      '--import',
      'tsx',
      join(here, 'server.ts'),
      framework,
      fixturesFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] },
  );
  return new Promise((resolve, reject) => {
    // The middleware's start-up lines (describe()) go to stdout too: look for ours, drain the rest.
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const match = /^PORTS (.*)$/m.exec(out);
      if (match) resolve({ child, ports: JSON.parse(match[1]!) as Server['ports'] });
    });
    child.on('exit', (code) => reject(new Error(`${framework} server exited with ${code}`)));
  });
}

/** memory.ts in its own process: it needs --expose-gc, and a clean heap. */
function runMemoryProcess(): Promise<MemoryResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--conditions=@clientcert/source', '--import', 'tsx', join(here, 'memory.ts'), '--json'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`memory.ts exited with ${code}`));
      resolve(JSON.parse(out) as MemoryResult);
    });
  });
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve();
    server.child.once('exit', () => resolve());
    server.child.kill('SIGTERM');
  });
}

/** The server process's CPU time so far (user + system), in µs, asked over IPC. */
function serverCpuMicros(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.child.once('message', (usage: NodeJS.CpuUsage) => resolve(usage.user + usage.system));
    server.child.send('cpu');
  });
}

function loadFor(fixtures: Fixtures, port: number, variant: Variant, load: Load, seconds: number): LoadOptions {
  const secure = isHttps(variant);
  return {
    url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}/`,
    seconds,
    connections: CONNECTIONS,
    ...(secure ? {} : { headers: { 'x-forwarded-client-cert': fixtures.xfcc } }),
    ...(secure ? { tls: { cert: fixtures.clientCertFile, key: fixtures.clientKeyFile, ca: fixtures.caFile } } : {}),
    ...(load === 'new-connection' ? { newConnectionPerRequest: true } : {}),
    ...(load === 'distinct-certs'
      ? { rotateHeader: { name: 'x-forwarded-client-cert', file: fixtures.distinctXfccFile } }
      : {}),
  };
}

interface Sample {
  rps: number;
  /** Server CPU time per request, µs. */
  cpu: number;
}

/** One load run against one configuration, with the server's CPU time over exactly that run. */
async function measure(fixtures: Fixtures, server: Server, config: Config, seconds: number): Promise<Sample> {
  const before = await serverCpuMicros(server);
  const result = await runLoad(loadFor(fixtures, server.ports[config.variant]!, config.variant, config.load, seconds));
  const cpu = (await serverCpuMicros(server)) - before;
  if (result.non2xx > 0 || result.errors > 0 || result.requests === 0) {
    throw new Error(
      `${config.framework} ${config.name}: ${result.non2xx} non-2xx, ${result.errors} errors of ${result.requests}`,
    );
  }
  return { rps: result.rps, cpu: cpu / result.requests };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

async function profileOne(fixtures: Fixtures, fixturesFile: string, spec: string): Promise<void> {
  const [framework, variant] = spec.split(':') as [Framework, Variant];
  if (!FRAMEWORKS.includes(framework) || !VARIANTS[framework]?.includes(variant))
    throw new Error(`--profile framework:variant, got ${spec}`);
  const dir = mkdtempSync(join(os.tmpdir(), 'clientcert-prof-'));
  const server = await startServer(framework, fixturesFile, ['--cpu-prof', '--cpu-prof-dir', dir]);
  const port = server.ports[variant]!;
  await runLoad(loadFor(fixtures, port, variant, 'keep-alive', 1)); // warm-up
  const result = await runLoad(loadFor(fixtures, port, variant, 'keep-alive', SECONDS));
  await stopServer(server);
  // tsx's loader thread writes a profile too: the main thread's is the largest.
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
  if (!file) throw new Error(`no profile written in ${dir}`);
  console.log(
    `${framework} ${variant}: ${Math.round(result.rps)} req/s under --cpu-prof (non-2xx ${result.non2xx}); profile ${join(dir, file)}`,
  );
  console.log('\nSelf time by function (whole server process, warm-up included):');
  for (const h of hotSpots(join(dir, file), 30))
    console.log(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
  console.log('\nSelf time by file:');
  for (const h of selfByFile(join(dir, file), 20)) console.log(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.where}`);
}

async function main(): Promise<void> {
  console.log(`machine: ${machineLine()}`);
  const fixtures = await createFixtures();
  const fixturesFile = join(fixtures.dir, 'fixtures.json');
  writeFileSync(fixturesFile, JSON.stringify(fixtures));
  if (args.profile) return profileOne(fixtures, fixturesFile, args.profile);

  const frameworks = args.only ? (args.only.split(',') as Framework[]) : FRAMEWORKS;
  const cold = args['skip-cold'] ? null : await runCold();
  const memory = args['skip-cold'] ? null : await runMemoryProcess();
  if (cold) {
    console.log(
      `cold: parse+verify ${cold.oursMicros.toFixed(1)} µs vs node:crypto ${cold.floorMicros.toFixed(1)} µs (${cold.ratio.toFixed(2)}×)`,
    );
  }
  if (memory) console.log(describeMemory(memory));

  const servers = new Map<Framework, Server>();
  for (const framework of frameworks) servers.set(framework, await startServer(framework, fixturesFile));
  const wanted = args.configs ? new Set(args.configs.split(',')) : null;
  const configs = frameworks.flatMap(configsOf).filter((config) => !wanted || wanted.has(config.name));
  const samples = new Map<string, Sample[]>();
  const keyOf = (framework: Framework, name: string): string => `${framework} ${name}`;
  try {
    // Warm-up (JIT, caches, TLS sessions); measure() also checks that every answer is a 200.
    for (const config of configs) await measure(fixtures, servers.get(config.framework)!, config, 1);
    const started = Date.now();
    for (let run = 0; run < RUNS; run++) {
      for (const config of configs) {
        const sample = await measure(fixtures, servers.get(config.framework)!, config, SECONDS);
        const key = keyOf(config.framework, config.name);
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
      console.log(`run ${run + 1}/${RUNS} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  } finally {
    await Promise.all([...servers.values()].map(stopServer));
  }

  const rows: string[][] = [];
  const rpsOf = (key: string): number => median(samples.get(key)!.map((sample) => sample.rps));
  const cpuOf = (key: string): number => median(samples.get(key)!.map((sample) => sample.cpu));
  for (const config of configs) {
    const key = keyOf(config.framework, config.name);
    const baseline = keyOf(config.framework, config.baseline);
    const ratio = rpsOf(key) / rpsOf(baseline);
    // CPU ratio: the share of the bare framework's capacity left when the server's CPU is the limit.
    const cpuRatio = cpuOf(baseline) / cpuOf(key);
    let target = '';
    let ok = '';
    if (typeof config.target === 'number') {
      target = `≥ ${(config.target * 100).toFixed(0)}%`;
      ok = `${ratio >= config.target ? 'ok' : 'NOT MET'} / ${cpuRatio >= config.target ? 'ok' : 'NOT MET'}`;
    } else if (config.target === 'peer') {
      const ours = keyOf(config.framework, 'tls');
      target = 'below clientcert tls';
      ok = `${rpsOf(ours) > rpsOf(key) ? 'ok' : 'NOT MET'} / ${cpuOf(ours) < cpuOf(key) ? 'ok' : 'NOT MET'}`;
    }
    const spread = samples
      .get(key)!
      .map((sample) => Math.round(sample.rps))
      .join('/');
    rows.push([
      key,
      String(Math.round(rpsOf(key))),
      `${(ratio * 100).toFixed(1)}%`,
      cpuOf(key).toFixed(1),
      `${(cpuRatio * 100).toFixed(1)}%`,
      target,
      ok,
      spread,
    ]);
  }
  if (cold) {
    rows.push([
      'cold parse+verify (µs/cert)',
      `${cold.oursMicros.toFixed(1)} µs`,
      `${cold.ratio.toFixed(2)}× floor`,
      '',
      '',
      '≤ 1.5× node:crypto',
      cold.ratio <= 1.5 ? 'ok' : 'NOT MET',
      `floor ${cold.floorMicros.toFixed(1)} µs`,
    ]);
  }
  const header = [
    'configuration',
    'req/s (median)',
    'ratio to bare',
    'server CPU µs/req',
    'CPU ratio',
    'target',
    'ok? (req/s / CPU)',
    'runs (req/s)',
  ];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  const report = [
    `machine: ${machineLine()}`,
    `${RUNS} runs × ${SECONDS} s per configuration, ${CONNECTIONS} connections, autocannon in its own process`,
    '',
    table,
    '',
    ...(memory ? [describeMemory(memory), ''] : []),
  ].join('\n');
  console.log(`\n${report}`);
  writeFileSync(join(here, 'last-run.md'), report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
