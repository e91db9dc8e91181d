/**
 * A revocation server on loopback that misbehaves on demand: it answers, answers after a delay,
 * accepts and never answers, or resets every connection. What it answers is given (a CRL, or an
 * OCSP response relayed from a real responder). It counts what reaches it, above all the most
 * exchanges it had open at once for one query (same method, path and body): the number that "one
 * fetch at a time" bounds, whatever the number of requests waiting on it.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Fault =
  | { readonly kind: 'answer' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' };

export interface Answer {
  readonly contentType: string;
  readonly body: Buffer;
}

export interface Query {
  readonly method: string;
  readonly path: string;
  readonly body: Buffer;
}

export interface FaultStats {
  /** TCP connections accepted (a reset one too). */
  connections: number;
  /** HTTP requests read in full. */
  requests: number;
  /** Distinct queries among them. */
  queries: number;
  /** Most exchanges open at once for one query. */
  maxOpenPerQuery: number;
  /** Most exchanges open at once in all. */
  maxOpen: number;
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** What the server does with the next connection or request. */
  fault: Fault;
  /** A copy of the counters since the last `resetStats()`. */
  stats(): FaultStats;
  /** Exchanges open now: read, and neither answered nor given up by the client yet. */
  openNow(): number;
  resetStats(): void;
  /** Stops listening and drops every connection (idempotent). */
  close(): Promise<void>;
}

function emptyStats(): FaultStats {
  return { connections: 0, requests: 0, queries: 0, maxOpenPerQuery: 0, maxOpen: 0 };
}

function queryKey(query: Query): string {
  return createHash('sha256').update(`${query.method} ${query.path}\n`).update(query.body).digest('base64');
}

/** Starts the server; `answer` is asked for the response to each request the fault lets through. */
export async function startFaultServer(answer: (query: Query) => Promise<Answer>): Promise<FaultServer> {
  let stats = emptyStats();
  let seen = new Set<string>();
  const open = new Map<string, number>();
  let openTotal = 0;
  const timers = new Set<NodeJS.Timeout>();

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const query: Query = { method: request.method ?? '', path: request.url ?? '', body: Buffer.concat(chunks) };
      const key = queryKey(query);
      stats.requests++;
      if (!seen.has(key)) {
        seen.add(key);
        stats.queries++;
      }
      // Open from here until the exchange ends: answered, or given up by the client.
      const count = (open.get(key) ?? 0) + 1;
      open.set(key, count);
      openTotal++;
      stats.maxOpenPerQuery = Math.max(stats.maxOpenPerQuery, count);
      stats.maxOpen = Math.max(stats.maxOpen, openTotal);
      response.once('close', () => {
        openTotal--;
        const left = open.get(key)! - 1;
        if (left === 0) open.delete(key);
        else open.set(key, left);
      });
      respond(query, response);
    });
  });

  const respond = (query: Query, response: http.ServerResponse): void => {
    const fault = faultServer.fault;
    if (fault.kind === 'hang') return; // read, and never answered
    const send = (): void => {
      answer(query).then(
        ({ contentType, body }) => {
          if (response.destroyed) return;
          response.writeHead(200, { 'content-type': contentType, 'content-length': body.length });
          response.end(body);
        },
        () => {
          if (!response.destroyed) response.writeHead(502).end();
        },
      );
    };
    if (fault.kind === 'slow') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, fault.delayMs);
      timers.add(timer);
    } else {
      send();
    }
  };

  server.on('connection', (socket: Socket) => {
    stats.connections++;
    if (faultServer.fault.kind === 'reset') socket.resetAndDestroy();
  });
  // A reset connection's parser may still report an error: it is the fault, not a failure.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;

  const faultServer: FaultServer = {
    url: `http://127.0.0.1:${port}/`,
    fault: { kind: 'answer' },
    stats: () => ({ ...stats }),
    openNow: () => openTotal,
    resetStats() {
      stats = emptyStats();
      seen = new Set();
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
  return faultServer;
}

/**
 * An answer that relays each distinct query to `upstream` once and replays that response after,
 * as a responder serving pre-signed answers does: a delay then means the delay, not the time an
 * upstream (`openssl ocsp` answers one request at a time) needs to work through a queue.
 */
export function relayOnce(upstream: string): (query: Query) => Promise<Answer> {
  const answers = new Map<string, Promise<Answer>>();
  return (query) => {
    const key = queryKey(query);
    let known = answers.get(key);
    if (known === undefined) {
      known = post(upstream, query);
      answers.set(key, known);
      known.catch(() => answers.delete(key));
    }
    return known;
  };
}

function post(upstream: string, query: Query): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      upstream,
      {
        method: query.method,
        agent: false,
        headers: { 'content-type': 'application/ocsp-request', 'content-length': query.body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          if (response.statusCode !== 200) reject(new Error(`upstream answered ${response.statusCode}`));
          else
            resolve({
              contentType: String(response.headers['content-type'] ?? 'application/ocsp-response'),
              body: Buffer.concat(chunks),
            });
        });
      },
    );
    request.on('error', reject);
    request.end(query.body);
  });
}
