/**
 * One load run: the load generator in its own process (never the server's event loop), results
 * read from the worker's JSON line. Keep-alive connections unless `newConnectionPerRequest` or
 * `h2` says otherwise.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned } from './pin.js';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'load-worker.ts');

/**
 * Values handed out one per request (or per connection) in one global rotation: the first `count`
 * of the JSON array in `file`, starting at index `start` (so that a run continues the rotation
 * where the previous run of the same configuration stopped).
 */
export interface Rotation {
  file: string;
  count: number;
  start: number;
}

export interface LoadOptions {
  url: string;
  /** How long to run; ignored when `requests` is given. */
  seconds: number;
  /** Stop after this many requests (a warm-up over one whole rotation) instead of after `seconds`. */
  requests?: number;
  connections: number;
  headers?: Record<string, string>;
  /** Client certificate (with chain), key and CA files for HTTPS; `cert`/`key` left out: no client certificate. */
  tls?: { cert?: string; key?: string; ca: string };
  /** One request per connection, each with a full TLS handshake (no session resumption). */
  newConnectionPerRequest?: boolean;
  /** Send header `name` with the next value of the rotation on every request. */
  rotateHeader?: { name: string } & Rotation;
  /** With `newConnectionPerRequest`: present the next PEM chain of the rotation on every connection (key: `tls.key`). */
  rotateCert?: Rotation;
  /** HTTP/2 over TLS: `connections` sessions, each with `streams` requests in flight. */
  h2?: { streams: number };
}

export interface LoadResult {
  /** Mean requests per second over the run. */
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  non2xx: number;
  errors: number;
  /** Values of the rotation handed out (the next run starts that many further on). */
  rotated: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const { command, args } = pinned('load', [process.execPath, '--import', 'tsx', WORKER, JSON.stringify(options)]);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}: ${err}`));
      try {
        resolve(JSON.parse(out) as LoadResult);
      } catch (error) {
        reject(
          new Error(`unreadable load generator output: ${(error as Error).message}\n${out.slice(0, 500)}\n${err}`),
        );
      }
    });
  });
}

/**
 * The same load from `parts` generator processes at once, each with its share of the `requests`
 * and of the rotation: for a first pass over a TLS fleet, where the generator (a TLS context and a
 * handshake per connection) is the limit, not the server.
 */
export async function runLoadSplit(options: LoadOptions, parts: number): Promise<LoadResult> {
  const total = options.requests ?? 0;
  const share = Math.ceil(total / parts);
  const shareOf = (i: number): LoadOptions => {
    const rotateCert = options.rotateCert && {
      ...options.rotateCert,
      start: (options.rotateCert.start + i * share) % options.rotateCert.count,
    };
    return { ...options, requests: Math.min(share, total - i * share), ...(rotateCert ? { rotateCert } : {}) };
  };
  const results = await Promise.all(Array.from({ length: parts }, (_, i) => runLoad(shareOf(i))));
  return results.reduce((sum, one) => ({
    rps: sum.rps + one.rps,
    requests: sum.requests + one.requests,
    non2xx: sum.non2xx + one.non2xx,
    errors: sum.errors + one.errors,
    rotated: sum.rotated + one.rotated,
  }));
}
