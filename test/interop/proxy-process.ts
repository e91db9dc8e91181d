/**
 * Running a real proxy for the interop tests: find its binary, write its configuration and the
 * certificates into a fresh temporary directory, start it in the foreground on a free loopback
 * port, wait until that port accepts connections, and stop it again (process killed, directory
 * removed). Every process started here is also killed if the test run exits early.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const HOST = '127.0.0.1';

/** The proxies the interop tests run, where Debian's packages install them. */
export const BINARIES = {
  nginx: '/usr/sbin/nginx',
  haproxy: '/usr/sbin/haproxy',
  caddy: '/usr/bin/caddy',
} as const;
export type ProxyKind = keyof typeof BINARIES;

function executable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary at Debian's path, else the first one on PATH; null when there is none. */
export function findBinary(kind: ProxyKind): string | null {
  if (executable(BINARIES[kind])) return BINARIES[kind];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, kind))) return path.join(dir, kind);
  }
  return null;
}

/**
 * For a `before` hook: the proxy's binary, or — when it is not installed — a skip of the whole
 * block on a developer machine, and a failure in CI (`CI` set), where `.ci/run` must install it.
 */
export function requireBinary(context: Mocha.Context, kind: ProxyKind): string {
  const found = findBinary(kind);
  if (found) return found;
  const message = `${BINARIES[kind]} is not installed (nor ${kind} on PATH): apt-get install ${kind}`;
  if (process.env.CI) throw new Error(`interop: ${message}; CI must install it`);
  console.warn(`      skipping the ${kind} interop tests: ${message}`);
  context.skip();
}

/** A port that was free a moment ago (listen on port 0, read it, close). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const living = new Set<ChildProcess>();
let exitHookInstalled = false;

/** If the run ends (or crashes) with a proxy still up, do not leave it behind. */
function killOnExit(child: ChildProcess): void {
  living.add(child);
  child.once('exit', () => living.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const proc of living) killGroup(proc, 'SIGKILL');
  });
}

/** The child was started as a process-group leader: signal it and anything it forked (nginx's worker). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

export interface ProxyLaunch {
  kind: ProxyKind;
  binary: string;
  /** Files to write into the directory first (name → content), e.g. certificates. */
  files: Record<string, string>;
  /** The configuration for this port: its file name in the directory and its text. */
  config(port: number, dir: string): { name: string; text: string };
  /** Command-line arguments, given the directory and the configuration file's path. */
  args(dir: string, configFile: string): string[];
  /** Extra environment (e.g. Caddy's HOME and XDG directories), given the directory. */
  env?(dir: string): NodeJS.ProcessEnv;
}

export interface RunningProxy {
  kind: ProxyKind;
  port: number;
  dir: string;
  /** The configuration the proxy runs. */
  config: string;
  /** What the proxy wrote to stdout/stderr so far (last 64 KiB), for failure messages. */
  output(): string;
  /** Kill the process (SIGTERM, then SIGKILL to its group) and remove the directory. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;
const OUTPUT_LIMIT = 65_536;

/** Start the proxy; retried on another port if the chosen one was taken meanwhile. */
export async function startProxy(launch: ProxyLaunch): Promise<RunningProxy> {
  const dir = await mkdtemp(path.join(tmpdir(), `clientcert-interop-${launch.kind}-`));
  try {
    for (const [name, content] of Object.entries(launch.files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content, { mode: 0o600 });
    }
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const { name, text } = launch.config(port, dir);
      const configFile = path.join(dir, name);
      await writeFile(configFile, text);
      const started = await launchOnce(launch, dir, configFile, port, text);
      if (started.ok) return started.proxy;
      const portTaken = /address already in use|cannot bind/i.test(started.output);
      if (!portTaken || attempt === 3) {
        throw new Error(`${launch.kind} did not start (${started.reason}). Its output:\n${started.output}`);
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

type Launched = { ok: true; proxy: RunningProxy } | { ok: false; reason: string; output: string };

async function launchOnce(
  launch: ProxyLaunch,
  dir: string,
  configFile: string,
  port: number,
  config: string,
): Promise<Launched> {
  const child = spawn(launch.binary, launch.args(dir, configFile), {
    cwd: dir,
    env: { ...process.env, ...launch.env?.(dir) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, so that stop() reaches forked workers too
  });
  killOnExit(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let spawnError: Error | null = null;
  child.once('error', (error) => {
    spawnError = error;
  });

  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (!exited(child)) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 5000))) {
          killGroup(child, 'SIGKILL');
          await waitForExit(child, 5000);
        }
      }
      killGroup(child, 'SIGKILL'); // a worker that outlived its master
      child.stdout!.destroy();
      child.stderr!.destroy();
      await rm(dir, { recursive: true, force: true });
    })());

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (spawnError || exited(child)) {
      await waitForExit(child, 1000);
      child.stdout!.destroy();
      child.stderr!.destroy();
      const reason = spawnError ? String(spawnError) : `exited with ${child.exitCode ?? child.signalCode}`;
      return { ok: false, reason, output };
    }
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      await stopWithoutRemoving(child);
      return { ok: false, reason: `port ${port} not open after ${START_TIMEOUT_MS} ms`, output };
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { ok: true, proxy: { kind: launch.kind, port, dir, config, output: () => output, stop } };
}

async function stopWithoutRemoving(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  if (!(await waitForExit(child, 5000))) killGroup(child, 'SIGKILL');
  await waitForExit(child, 5000);
  child.stdout!.destroy();
  child.stderr!.destroy();
}
