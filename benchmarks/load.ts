/**
 * One load run: autocannon in its own process (never the server's event loop), results read from
 * the worker's JSON line. Keep-alive connections unless `newConnectionPerRequest` is set.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'load-worker.ts');

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** Client certificate (with chain), key and CA files for HTTPS. */
  tls?: { cert: string; key: string; ca: string };
  /** One request per connection, each with a full TLS handshake (no session resumption). */
  newConnectionPerRequest?: boolean;
  /** Send header `name` with the next value of the JSON array in `file` on every request. */
  rotateHeader?: { name: string; file: string };
}

export interface LoadResult {
  /** Mean requests per second over the run. */
  rps: number;
  /** Requests completed in the run. */
  requests: number;
  non2xx: number;
  errors: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(options)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
