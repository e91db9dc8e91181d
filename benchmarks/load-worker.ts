/**
 * The load generator's process: autocannon's programmatic API (the same engine as its CLI), so a
 * run can rotate a header through many distinct values, one new value per request across all
 * connections (a cache of fewer entries than values then never hits). A new connection per
 * request is driven by the small loop below instead: autocannon's `reconnectRate` drops the
 * response it reconnects after from its counts (autocannon 8.x/9.x), so with a rate of 1 it
 * reports no requests at all. Prints one JSON line.
 *
 *   node --import tsx benchmarks/load-worker.ts '<LoadOptions as JSON>'
 */

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import autocannon from 'autocannon';
import type { LoadOptions, LoadResult } from './load.js';

const options = JSON.parse(process.argv[2]!) as LoadOptions;
const rotation = options.rotateHeader
  ? { name: options.rotateHeader.name, values: JSON.parse(readFileSync(options.rotateHeader.file, 'utf8')) as string[] }
  : null;
let next = 0;

/**
 * `connections` loops, each opening a TLS connection (full handshake: no session is offered),
 * sending one `Connection: close` request and reading the answer to the end, for `seconds`.
 */
async function newConnectionPerRequest(): Promise<LoadResult> {
  const url = new URL(options.url);
  const tlsOptions = options.tls
    ? {
        cert: readFileSync(options.tls.cert),
        key: readFileSync(options.tls.key),
        ca: [readFileSync(options.tls.ca)],
      }
    : {};
  const request = `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`;
  const counts = { requests: 0, non2xx: 0, errors: 0 };
  const until = Date.now() + options.seconds * 1000;
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = tls.connect({
        host: url.hostname,
        port: Number(url.port),
        ...tlsOptions,
        rejectUnauthorized: false,
      });
      let answer = '';
      socket.setEncoding('latin1');
      socket.on('secureConnect', () => socket.end(request));
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', () => {
        counts.errors++;
        resolve();
      });
      socket.on('close', () => {
        if (answer.startsWith('HTTP/1.1 2')) counts.requests++;
        else if (answer !== '') {
          counts.requests++;
          counts.non2xx++;
        }
        resolve();
      });
    });
  const loop = async (): Promise<void> => {
    while (Date.now() < until) await once();
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: options.connections }, loop));
  return { rps: counts.requests / ((Date.now() - started) / 1000), ...counts };
}

async function withAutocannon(): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers: options.headers ?? {},
    ...(options.tls
      ? {
          tlsOptions: {
            cert: readFileSync(options.tls.cert),
            key: readFileSync(options.tls.key),
            ca: [readFileSync(options.tls.ca)],
          },
        }
      : {}),
    ...(rotation
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request): autocannon.Request => {
                const value = rotation.values[next++ % rotation.values.length]!;
                return { ...request, headers: { ...request.headers, [rotation.name]: value } };
              },
            },
          ],
        }
      : {}),
  });
  return {
    rps: result.requests.average,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

const output = options.newConnectionPerRequest ? await newConnectionPerRequest() : await withAutocannon();
process.stdout.write(`${JSON.stringify(output)}\n`);
