/**
 * `pnpm bench`: requests per second and server CPU time per request of express, koa and fastify
 * with the clientcert middleware, each divided by the bare framework measured in the same run;
 * the npm peers on the same express server; the cold cost of parse + verify against node:crypto's
 * floor. Suites (`--suite core,fleet,h2`, default all): `core` (xfcc with a warm cache and with a
 * new certificate on every request; tls on keep-alive connections and with a new connection per
 * request), `fleet` (1, 1,000 and 20,000 clients behind one proxy's keep-alive connections, and
 * over TLS with a new connection per request, the route reading the caller's CN), `h2` (HTTP/2
 * over TLS with and without a client certificate). See benchmarks/README.md.
 *
 *   pnpm bench [-- --runs 3 --seconds 3 --connections 10 --suite fleet --only express --configs bare-https,tls]
 *   pnpm bench -- --profile express:xfcc [--seconds 6]      # V8 profiler on the server, hot functions
 *   pnpm bench -- --profile fastify:xfcc-cn:20000           # the same over a fleet rotation
 *
 * Servers run in their own processes (one per framework), the load generator in another; this
 * process only orchestrates. Configurations are interleaved round by round (in reverse order every
 * other round) so that drift (thermal, noisy neighbours) hits every configuration alike; the table
 * shows medians.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkAnswers } from './check.js';
import { runCold } from './cold.js';
import {
  type Config,
  configsOf,
  FRAMEWORKS,
  type Framework,
  isH2,
  isHttps,
  isMiddleware,
  type Load,
  SUITES,
  type Suite,
  VARIANTS,
  type Variant,
} from './config.js';
import { DISTINCT_CERTIFICATES, type Fixtures, loadFixtures } from './fixtures.js';
import { type LoadOptions, runLoad, runLoadSplit } from './load.js';
import { describeMemory, type MemoryResult } from './memory.js';
import { pinned, pinningLine, pinProcesses } from './pin.js';
import { hotSpots, selfByFile } from './profile.js';
import { type Sample, tableOf } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'), // `pnpm bench -- --x` passes the `--` on
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    streams: { type: 'string', default: '10' },
    suite: { type: 'string' },
    only: { type: 'string' },
    configs: { type: 'string' },
    profile: { type: 'string' },
    'skip-cold': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
  },
});
const RUNS = Number(args.runs);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
/** HTTP/2: requests in flight per session (sessions: --connections). */
const STREAMS = Number(args.streams);

interface Server {
  child: ChildProcess;
  ports: Partial<Record<Variant, number>>;
}

function startServer(framework: Framework, fixturesFile: string): Promise<Server> {
  const { command, args: argv } = pinned('server', [
    process.execPath,
    '--conditions=@clientcert/source',
    '--import',
    'tsx',
    join(here, 'server.ts'),
    framework,
    fixturesFile,
  ]);
  const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
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
async function serverCpuMicros(server: Server): Promise<number> {
  const usage = await ask<NodeJS.CpuUsage>(server, 'cpu');
  return usage.user + usage.system;
}

/** What the load generator sends to one configuration; `start`: where its rotation resumes. */
function loadFor(
  fixtures: Fixtures,
  port: number,
  config: { variant: Variant; load: Load; clients?: number },
  start: number,
): Omit<LoadOptions, 'seconds'> {
  const base = { url: `${isHttps(config.variant) ? 'https' : 'http'}://127.0.0.1:${port}/`, connections: CONNECTIONS };
  const client = { cert: fixtures.clientCertFile, key: fixtures.clientKeyFile, ca: fixtures.caFile };
  const name = 'x-forwarded-client-cert';
  const count = config.clients ?? 1;
  switch (config.load) {
    case 'keep-alive':
      return isHttps(config.variant) ? { ...base, tls: client } : { ...base, headers: { [name]: fixtures.xfcc } };
    case 'new-connection':
      return { ...base, tls: client, newConnectionPerRequest: true };
    case 'distinct-certs':
      return { ...base, rotateHeader: { name, file: fixtures.distinctXfccFile, count: DISTINCT_CERTIFICATES, start } };
    case 'xfcc-fleet':
      return { ...base, rotateHeader: { name, file: fixtures.fleetXfccFile, count, start } };
    case 'tls-fleet': {
      const rotateCert = { file: fixtures.fleetChainFile, count, start };
      return {
        ...base,
        tls: { key: fixtures.fleetKeyFile, ca: fixtures.caFile },
        newConnectionPerRequest: true,
        rotateCert,
      };
    }
    case 'h2':
      return { ...base, tls: client, h2: { streams: STREAMS } };
    case 'h2-anonymous':
      return { ...base, tls: { ca: fixtures.caFile }, h2: { streams: STREAMS } };
  }
}

const keyOf = (config: Config): string => `${config.framework} ${config.name}`;

/** Where each configuration's rotation resumes: a run continues the rotation, never restarts it. */
const cursors = new Map<string, number>();

/**
 * One load run against one configuration (for `seconds`, or for exactly `requests` requests), with
 * the server's CPU time over exactly that run.
 */
async function measure(
  fixtures: Fixtures,
  server: Server,
  config: Config,
  window: { seconds: number; requests?: number },
): Promise<Sample> {
  const key = keyOf(config);
  const start = cursors.get(key) ?? 0;
  const before = await serverCpuMicros(server);
  const load = { ...loadFor(fixtures, server.ports[config.variant]!, config, start), ...window };
  // A first pass over a TLS fleet is bound by the generator: two of them halve its time.
  const firstPass = window.requests !== undefined && config.load === 'tls-fleet';
  const result = await (firstPass ? runLoadSplit(load, 2) : runLoad(load));
  const cpu = (await serverCpuMicros(server)) - before;
  cursors.set(key, (start + result.rotated) % (config.clients ?? DISTINCT_CERTIFICATES));
  if (result.non2xx > 0 || result.errors > 0 || result.requests === 0) {
    throw new Error(`${key}: ${result.non2xx} non-2xx, ${result.errors} errors of ${result.requests}`);
  }
  return { rps: result.rps, cpu: cpu / result.requests };
}

function machineLine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

/** Sends one IPC message to the server and waits for its answer. */
function ask<T>(server: Server, message: unknown): Promise<T> {
  return new Promise((resolve) => {
    server.child.once('message', (answer: T) => resolve(answer));
    server.child.send(message as string);
  });
}

/**
 * The V8 profiler on one server over one measured run, after the same warm-up as the table's (for
 * a fleet, a first pass through the rotation), so the profile shows the steady state only.
 */
async function profileOne(fixtures: Fixtures, fixturesFile: string, spec: string): Promise<void> {
  const [framework, variant, clients] = spec.split(':') as [Framework, Variant, string | undefined];
  if (!FRAMEWORKS.includes(framework) || !VARIANTS[framework]?.includes(variant))
    throw new Error(`--profile framework:variant[:clients], got ${spec}`);
  let load: Load = isH2(variant) ? 'h2' : 'keep-alive';
  if (clients) load = isHttps(variant) ? 'tls-fleet' : 'xfcc-fleet';
  const config = { variant, load, ...(clients ? { clients: Number(clients) } : {}) };
  const server = await startServer(framework, fixturesFile);
  const port = server.ports[variant]!;
  const file = join(mkdtempSync(join(os.tmpdir(), 'clientcert-prof-')), `${framework}-${variant}.cpuprofile`);
  let result: Awaited<ReturnType<typeof runLoad>>;
  try {
    // A fleet's warm-up is one pass through its rotation; one client (fewer than the connections,
    // which autocannon refuses as a request count) warms up for a second like the other loads.
    const warmUp = clients && Number(clients) > 1 ? { seconds: 1, requests: Number(clients) } : { seconds: 1 };
    const warm = await runLoad({ ...loadFor(fixtures, port, config, 0), ...warmUp });
    await ask(server, 'profile-start');
    result = await runLoad({ ...loadFor(fixtures, port, config, warm.rotated), seconds: SECONDS });
    await ask(server, { profileTo: file });
  } finally {
    await stopServer(server);
  }
  console.log(
    `${framework} ${variant}: ${Math.round(result.rps)} req/s under the profiler (non-2xx ${result.non2xx}); profile ${file}`,
  );
  console.log('\nSelf time by function (the server process over the measured run):');
  for (const h of hotSpots(file, 30)) console.log(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
  console.log('\nSelf time by file:');
  for (const h of selfByFile(file, 20)) console.log(`${h.selfPercent.toFixed(1).padStart(5)}%  ${h.where}`);
}

/**
 * Warm-up: JIT, TLS, and every answer checked to be a 200. A fleet row of the middleware first
 * goes once through its whole rotation, so that the runs measure a fleet whose clients were all
 * seen before (what a proxy in production carries); that pass is reported as the cost of a first
 * sighting.
 */
async function warmUp(fixtures: Fixtures, servers: Map<Framework, Server>, configs: Config[]): Promise<string[]> {
  const firstSightings: string[] = [];
  for (const config of configs) {
    const server = servers.get(config.framework)!;
    const clients = config.clients ?? 1;
    if (isMiddleware(config.variant) && clients > 1) {
      const started = Date.now();
      const first = await measure(fixtures, server, config, { seconds: 0, requests: clients });
      const seconds = (Date.now() - started) / 1000;
      firstSightings.push(
        `${keyOf(config)}: first pass through the rotation (every client new) ${first.cpu.toFixed(1)} µs/req server CPU, ${Math.round(first.rps)} req/s (${seconds.toFixed(0)} s)`,
      );
      console.log(firstSightings.at(-1));
    }
    await measure(fixtures, server, config, { seconds: 1 });
  }
  return firstSightings;
}

async function measureAll(
  fixtures: Fixtures,
  servers: Map<Framework, Server>,
  configs: Config[],
): Promise<Map<string, Sample[]>> {
  const samples = new Map<string, Sample[]>();
  const started = Date.now();
  for (let run = 0; run < RUNS; run++) {
    // Every other round in reverse: each pair of neighbours is measured A, B then B, A.
    for (const config of run % 2 ? [...configs].reverse() : configs) {
      const sample = await measure(fixtures, servers.get(config.framework)!, config, { seconds: SECONDS });
      samples.set(keyOf(config), [...(samples.get(keyOf(config)) ?? []), sample]);
    }
    console.log(`run ${run + 1}/${RUNS} done (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  return samples;
}

function selectedConfigs(): Config[] {
  const suites = (args.suite ? args.suite.split(',') : SUITES) as Suite[];
  const unknown = suites.filter((suite) => !SUITES.includes(suite));
  if (unknown.length)
    throw new Error(`--suite takes ${SUITES.join(', ')} (comma-separated); got ${unknown.join(', ')}`);
  const frameworks = args.only ? (args.only.split(',') as Framework[]) : FRAMEWORKS;
  const wanted = args.configs ? new Set(args.configs.split(',')) : null;
  const configs = frameworks
    .flatMap((framework) => configsOf(framework, suites))
    .filter((config) => !wanted || wanted.has(config.name));
  if (configs.length === 0) throw new Error('no configuration left: check --suite, --only and --configs');
  return configs;
}

async function main(): Promise<void> {
  const began = Date.now();
  if (args.pin) pinProcesses();
  console.log(`machine: ${machineLine()}`);
  const fixtures = await loadFixtures();
  const fixturesFile = join(fixtures.dir, 'fixtures.json');
  if (args.profile) return profileOne(fixtures, fixturesFile, args.profile);

  const configs = selectedConfigs();
  const withCore = configs.some((config) => config.suite === 'core');
  const cold = args['skip-cold'] || !withCore ? null : await runCold();
  const memory = args['skip-cold'] || !withCore ? null : await runMemoryProcess();
  if (cold) {
    console.log(
      `cold: parse+verify ${cold.oursMicros.toFixed(1)} µs vs node:crypto ${cold.floorMicros.toFixed(1)} µs (${cold.ratio.toFixed(2)}×)`,
    );
  }
  if (memory) console.log(describeMemory(memory));

  const servers = new Map<Framework, Server>();
  let samples: Map<string, Sample[]>;
  let firstSightings: string[];
  try {
    for (const framework of new Set(configs.map((config) => config.framework))) {
      const server = await startServer(framework, fixturesFile);
      servers.set(framework, server);
      const variants = new Set(configs.filter((c) => c.framework === framework).map((c) => c.variant));
      await checkAnswers(fixtures, framework, server.ports, variants);
    }
    firstSightings = await warmUp(fixtures, servers, configs);
    samples = await measureAll(fixtures, servers, configs);
  } finally {
    await Promise.all([...servers.values()].map(stopServer));
  }

  const minutes = ((Date.now() - began) / 60_000).toFixed(1);
  const report = [
    `machine: ${machineLine()}`,
    `${RUNS} runs × ${SECONDS} s per configuration, ${CONNECTIONS} connections (HTTP/2: ${STREAMS} stream(s) each), ` +
      `load generator in its own process${pinningLine()}; the whole run took ${minutes} min`,
    '',
    tableOf(configs, samples, cold),
    '',
    ...(firstSightings.length ? [...firstSightings, ''] : []),
    ...(memory ? [describeMemory(memory), ''] : []),
  ].join('\n');
  console.log(`\n${report}`);
  writeFileSync(join(here, 'last-run.md'), report);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
