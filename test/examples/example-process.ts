/**
 * Running an example's real server for its test: `node server.mjs` in the example's directory, as
 * `npm start` does, with PORT=0 and the test's environment; the port is read from the
 * "listening on …" line it prints. The child resolves the workspace packages to their sources
 * (the `@clientcert/source` condition, with tsx), like the rest of the test suite, so no build is
 * needed. Every child is killed if the run ends early.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

export interface RunningExample {
  port: number;
  /** What the server printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

const living = new Set<ChildProcess>();
let exitHook = false;

const START_TIMEOUT_MS = 30_000;

/** Start `examples/<name>/<script>` with `env` on top of this process's environment (undefined: unset). */
export async function startExample(
  name: string,
  env: Record<string, string | undefined>,
  script = 'server.mjs',
): Promise<RunningExample> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const child = spawn(
    process.execPath,
    // `--import tsx` resolves from the example's directory up to the workspace's node_modules.
    ['--conditions=@clientcert/source', '--import', 'tsx', script],
    { cwd: path.join(EXAMPLES, name), env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  living.add(child);
  child.once('exit', () => living.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const proc of living) proc.kill('SIGKILL');
    });
  }
  let output = '';
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => fail(`no "listening on" line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`examples/${name}/${script}: ${why}. Its output:\n${output}`));
    };
    const collect = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /listening on (?:\S*:)?(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    child.once('error', (error) => fail(String(error)));
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { port, output: () => output, stop };
}

/** A temporary directory holding `files` (name → content); `remove()` deletes it. */
export async function tempFiles(files: Record<string, string>): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'clientcert-example-'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content, { mode: 0o600 });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
