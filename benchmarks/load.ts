/**
 * One load run: autocannon in its own process (never the server's event loop), keep-alive
 * connections, results read from its --json output.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

export interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  /** Client certificate (with chain), key and CA files for HTTPS. */
  tls?: { cert: string; key: string; ca: string };
}

export interface LoadResult {
  /** Mean requests per second over the run. */
  rps: number;
  non2xx: number;
  errors: number;
}

export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-c', String(options.connections), '-d', String(options.seconds)];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}:${value}`);
  if (options.tls) args.push('--cert', options.tls.cert, '--key', options.tls.key, '--ca', options.tls.ca);
  args.push(options.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      try {
        const json = JSON.parse(out) as { requests: { average: number }; non2xx: number; errors: number; timeouts: number };
        resolve({ rps: json.requests.average, non2xx: json.non2xx, errors: json.errors + json.timeouts });
      } catch (error) {
        reject(new Error(`unreadable autocannon output: ${(error as Error).message}\n${out.slice(0, 500)}\n${err}`));
      }
    });
  });
}
