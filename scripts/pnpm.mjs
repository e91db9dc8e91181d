#!/usr/bin/env node
// Runs the project's pinned pnpm (installed into .tools/ by setup.mjs when none is on PATH),
// so a machine with only Node and npm can run every command in the README.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const local = join(root, '.tools', 'node_modules', '.bin', process.platform === 'win32' ? 'pnpm.cmd' : 'pnpm');

export function pnpmBinary() {
  const onPath = spawnSync('pnpm', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim() === wanted) return 'pnpm';
  if (!existsSync(local)) {
    console.log(`installing pnpm ${wanted} into .tools/`);
    const npm = spawnSync(
      'npm',
      ['install', '--prefix', join(root, '.tools'), '--no-save', '--no-audit', '--no-fund', `pnpm@${wanted}`],
      { stdio: 'inherit' },
    );
    if (npm.status !== 0) throw new Error('could not install pnpm with npm');
  }
  return local;
}

export function pnpm(args, options = {}) {
  const binary = pnpmBinary();
  // Scripts that call `pnpm` themselves must find this same pnpm.
  const PATH = binary === 'pnpm' ? process.env.PATH : `${dirname(binary)}${delimiter}${process.env.PATH ?? ''}`;
  const result = spawnSync(binary, args, {
    stdio: 'inherit',
    cwd: root,
    ...options,
    env: { ...process.env, PATH, ...options.env },
  });
  return result.status ?? 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(pnpm(process.argv.slice(2)));
}
