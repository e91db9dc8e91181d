/**
 * One bounded HTTP(S) request, for CRL downloads and OCSP: `node:http`/`node:https`, a fresh
 * connection each time (no agent, no keep-alive), no redirects, one overall deadline and a cap on
 * the response size. Revocation data is signed, so transport security adds nothing a CA did not
 * already vouch for; what matters here is that a slow or hostile server costs at most one
 * deadline and a bounded amount of memory.
 */
import http from 'node:http';
import https from 'node:https';

/**
 * Why an exchange failed: the server could not be reached in time (or broke off), answered with
 * a status other than 200, or sent more than allowed.
 */
export type FetchFailure = 'unreachable' | 'status' | 'too_large';

export class FetchError extends Error {
  constructor(readonly failure: FetchFailure) {
    super(`revocation fetch failed: ${failure}`);
  }
}

export interface Exchange {
  readonly method: 'GET' | 'POST';
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly accept: string;
  readonly timeoutMs: number;
  readonly maxBytes: number;
}

/** The text of an http(s) URL in normal form, or null for anything else (or anything odd). */
export function httpUrl(text: string): string | null {
  if (text.length > 2048 || !/^[\x21-\x7e]+$/.test(text)) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** One HTTP exchange on a fresh connection with an overall deadline; resolves to a 200 body. */
export function exchange(url: string, init: Exchange): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const finish = (error: FetchError | null, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== null) {
        request?.destroy();
        reject(error);
      } else {
        resolve(body!);
      }
    };
    // The deadline is checked one turn of the event loop late: when the process was busy past it,
    // an answer that arrived in time is read first (timers run before I/O in each turn).
    const timer = setTimeout(() => setImmediate(() => finish(new FetchError('unreachable'))), init.timeoutMs);
    try {
      const client = url.startsWith('https:') ? https : http;
      request = client.request(url, { method: init.method, headers: headersOf(init), agent: false });
    } catch {
      finish(new FetchError('unreachable'));
      return;
    }
    request.on('error', () => finish(new FetchError('unreachable')));
    request.on('response', (response) => readBody(response, init.maxBytes, finish));
    request.end(init.body);
  });
}

function headersOf(init: Exchange): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = { accept: init.accept, connection: 'close', 'user-agent': 'clientcert' };
  if (init.body !== undefined) {
    headers['content-type'] = init.contentType;
    headers['content-length'] = init.body.length;
  }
  return headers;
}

/** Collects a 200 response's body up to `maxBytes`; anything else finishes with the failure. */
function readBody(
  response: http.IncomingMessage,
  maxBytes: number,
  finish: (error: FetchError | null, body?: Buffer) => void,
): void {
  if (response.statusCode !== 200) {
    response.resume();
    finish(new FetchError('status'));
    return;
  }
  const declared = Number(response.headers['content-length']);
  if (declared > maxBytes) {
    finish(new FetchError('too_large'));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) finish(new FetchError('too_large'));
    else chunks.push(chunk);
  });
  response.on('end', () => finish(null, Buffer.concat(chunks, size)));
  response.on('error', () => finish(new FetchError('unreachable')));
  response.on('close', () => {
    if (!response.complete) finish(new FetchError('unreachable'));
  });
}
