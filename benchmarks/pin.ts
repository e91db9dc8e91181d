/**
 * `--pin`: the server process on CPU 0 and the load generator on the other CPUs (`taskset`), so
 * that the two never take turns on one core. Measured on this 2-core machine (fastify, XFCC
 * rotation of 1,000 clients): unpinned, work added to the server also shows as kernel time in its
 * writes — an onRequest hook spinning 2 µs added 3.0 µs of busy time per request, 2.2 µs of it in
 * `writev` (the loopback send wakes a load generator that was waiting) — so a middleware's cost is
 * counted about twice. Pinned, the same rows measure the server's own work more closely.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';

export type Role = 'server' | 'load';

let pinning = false;

/** Turns pinning on for every process started after this; throws naming what is missing. */
export function pinProcesses(): void {
  if (os.cpus().length < 2) throw new Error('--pin needs at least 2 CPUs: one for the server, one for the load');
  if (spawnSync('taskset', ['--version']).status !== 0) throw new Error('--pin needs taskset (util-linux)');
  pinning = true;
}

/** The command line that starts `args` (node and its arguments) on the CPUs of `role`. */
export function pinned(role: Role, args: readonly string[]): { command: string; args: string[] } {
  const [command, ...rest] = args as [string, ...string[]];
  if (!pinning) return { command, args: rest };
  const cpus = role === 'server' ? '0' : `1-${os.cpus().length - 1}`;
  return { command: 'taskset', args: ['-c', cpus, command, ...rest] };
}

/** For the report's header line. */
export function pinningLine(): string {
  return pinning ? `; server pinned to CPU 0, load generator to CPUs 1-${os.cpus().length - 1} (--pin)` : '';
}
