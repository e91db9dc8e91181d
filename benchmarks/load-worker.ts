/**
 * The load generator's process. Prints one JSON line (LoadResult).
 *
 * - Keep-alive HTTP/1.1: autocannon's programmatic API (the same engine as its CLI), so a run can
 *   rotate a header through many distinct values, one new value per request across all
 *   connections, the way a proxy's connection pool carries many clients.
 * - A new TLS connection per request: the small loop below, since autocannon's `reconnectRate`
 *   drops the response it reconnects after from its counts (autocannon 8.x/9.x), so with a rate
 *   of 1 it reports no requests at all. It can present another certificate on every connection.
 * - HTTP/2: Node's own http2 client (autocannon speaks HTTP/1.1 only).
 *
 *   node --import tsx benchmarks/load-worker.ts '<LoadOptions as JSON>'
 */

import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import tls from 'node:tls';
import autocannon from 'autocannon';
import type { LoadOptions, LoadResult, Rotation } from './load.js';

const options = JSON.parse(process.argv[2]!) as LoadOptions;

interface Counts {
  requests: number;
  non2xx: number;
  errors: number;
}

/** One global rotation through the first `count` values of the file, from `start` on. */
function rotationOf(rotation: Rotation | undefined): { next: () => string; handed: () => number } | null {
  if (!rotation) return null;
  const values = (JSON.parse(readFileSync(rotation.file, 'utf8')) as string[]).slice(0, rotation.count);
  if (values.length < rotation.count) throw new Error(`${rotation.file} holds ${values.length} of ${rotation.count}`);
  let handed = 0;
  return {
    next: () => values[(rotation.start + handed++) % values.length]!,
    handed: () => handed,
  };
}

const headerRotation = rotationOf(options.rotateHeader);
const certRotation = rotationOf(options.rotateCert);

const tlsFiles = options.tls
  ? {
      ...(options.tls.cert ? { cert: readFileSync(options.tls.cert, 'utf8') } : {}),
      ...(options.tls.key ? { key: readFileSync(options.tls.key, 'utf8') } : {}),
      ca: [readFileSync(options.tls.ca, 'utf8')],
    }
  : {};

/** Another request may start: until `requests` have started, or until the time is up. */
function budget(): () => boolean {
  if (options.requests !== undefined) {
    let started = 0;
    const limit = options.requests;
    return () => started++ < limit;
  }
  const until = Date.now() + options.seconds * 1000;
  return () => Date.now() < until;
}

function result(counts: Counts, started: number): LoadResult {
  const rotated = (headerRotation ?? certRotation)?.handed() ?? 0;
  return { rps: counts.requests / ((Date.now() - started) / 1000), ...counts, rotated };
}

/**
 * `connections` loops, each opening a TLS connection (full handshake: no session is offered),
 * sending one `Connection: close` request and reading the answer to the end.
 */
async function newConnectionPerRequest(): Promise<LoadResult> {
  const url = new URL(options.url);
  const request = `GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`;
  const counts: Counts = { requests: 0, non2xx: 0, errors: 0 };
  const more = budget();
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const socket = tls.connect({
        host: url.hostname,
        port: Number(url.port),
        ...tlsFiles,
        ...(certRotation ? { cert: certRotation.next() } : {}),
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
    while (more()) await once();
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: options.connections }, loop));
  return result(counts, started);
}

/** `connections` HTTP/2 sessions (TLS, ALPN h2), each with `streams` requests in flight. */
async function overHttp2(streams: number): Promise<LoadResult> {
  const counts: Counts = { requests: 0, non2xx: 0, errors: 0 };
  const connect = (): Promise<http2.ClientHttp2Session> =>
    new Promise((resolve, reject) => {
      const session = http2.connect(options.url, { ...tlsFiles, rejectUnauthorized: false });
      session.once('connect', () => resolve(session));
      session.once('error', reject);
    });
  const sessions = await Promise.all(Array.from({ length: options.connections }, connect));
  const path = new URL(options.url).pathname;
  const once = (session: http2.ClientHttp2Session): Promise<void> =>
    new Promise((resolve) => {
      const stream = session.request({ ':path': path });
      let status = 0;
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', () => {}); // read to the end, as a client would
      stream.on('end', () => {
        counts.requests++;
        if (status < 200 || status > 299) counts.non2xx++;
        resolve();
      });
      stream.on('error', () => {
        counts.errors++;
        resolve();
      });
      stream.end();
    });
  const more = budget();
  const loop = async (session: http2.ClientHttp2Session): Promise<void> => {
    while (more()) await once(session);
  };
  const started = Date.now();
  await Promise.all(sessions.flatMap((session) => Array.from({ length: streams }, () => loop(session))));
  const done = result(counts, started);
  for (const session of sessions) session.close();
  return done;
}

async function withAutocannon(): Promise<LoadResult> {
  const started = Date.now();
  const run = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.requests !== undefined ? { amount: options.requests } : { duration: options.seconds }),
    headers: options.headers ?? {},
    ...(options.tls ? { tlsOptions: tlsFiles } : {}),
    ...(headerRotation
      ? {
          requests: [
            {
              setupRequest: (request: autocannon.Request): autocannon.Request => ({
                ...request,
                headers: { ...request.headers, [options.rotateHeader!.name]: headerRotation.next() },
              }),
            },
          ],
        }
      : {}),
  });
  const counts = { requests: run.requests.total, non2xx: run.non2xx, errors: run.errors + run.timeouts };
  // autocannon's own mean for timed runs; a run of a fixed number of requests ends when they are done.
  return options.requests !== undefined
    ? result(counts, started)
    : { ...result(counts, started), rps: run.requests.average };
}

const output = options.h2
  ? await overHttp2(options.h2.streams)
  : options.newConnectionPerRequest
    ? await newConnectionPerRequest()
    : await withAutocannon();
process.stdout.write(`${JSON.stringify(output)}\n`);
