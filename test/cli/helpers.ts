/** Runs the real built `clientcert` binary (building it first when it is missing or stale). */

import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(root, 'packages/cli/dist/cli.js');

function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

function stale(pkg: string, output: string): boolean {
  const built = join(root, 'packages', pkg, output);
  return !existsSync(built) || statSync(built).mtimeMs < newest(join(root, 'packages', pkg, 'src'));
}

let built = false;
/** Builds core and cli with the project's pnpm when their dist is missing or older than src. */
export function ensureBuilt(): void {
  if (built) return;
  for (const pkg of ['core', 'cli']) {
    if (!stale(pkg, pkg === 'cli' ? 'dist/cli.js' : 'dist/index.js')) continue;
    const result = spawnSync(process.execPath, ['scripts/pnpm.mjs', '--filter', `@clientcert/${pkg}`, 'run', 'build'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
      env: { ...process.env, CI: '1' },
    });
    if (result.status !== 0) throw new Error(`building @clientcert/${pkg} failed:\n${result.stdout}\n${result.stderr}`);
  }
  built = true;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function run(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? root,
    input: options.input,
    encoding: 'utf8',
  });
  const out = { status: result.status, stdout: result.stdout, stderr: result.stderr };
  expect(out.stderr, 'no stack trace').not.to.match(/\n\s+at /);
  return out;
}

/** Runs and expects exit 0 with nothing on stderr. */
export function ok(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): string {
  const result = run(args, options);
  expect(result.stderr, `stderr of clientcert ${args.join(' ')}`).to.equal('');
  expect(result.status, `exit of clientcert ${args.join(' ')}`).to.equal(0);
  return result.stdout;
}

/** Runs and expects `status` with exactly one line on stderr. */
export function fails(status: number, args: string[], options: { cwd?: string; input?: string | Buffer } = {}): string {
  const result = run(args, options);
  expect(result.status, `exit of clientcert ${args.join(' ')}: ${result.stderr}`).to.equal(status);
  expect(result.stderr).to.match(/^clientcert: [^\n]+\n$/);
  return result.stderr;
}
