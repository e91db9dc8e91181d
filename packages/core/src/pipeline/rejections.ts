/**
 * One log line per rejected request, by default: what was refused and why (code, check, subject,
 * issuer, fingerprint, where it came from), or, when nothing was presented, what the request did
 * carry that another configuration would read. A 403 should never leave an empty log.
 *
 * Rate-limited so that a scanner cannot flood the log: each certificate-and-reason (or each peer,
 * when nothing was presented) at most once a minute, and at most `MAX_LINES_PER_MINUTE` lines a
 * minute in all; the next line says how many were left out. Switched off with
 * `warnings: { request_rejected: false }` (or `logger: false`).
 */
import type { Socket } from 'node:net';
import type { Decision } from '../decide/decide.js';
import type { CompiledOptions } from '../options/compile.js';
import { PRESETS, type ProxyName } from '../options/presets.js';
import { escapeForLog, type WarnFn } from '../options/warnings.js';
import { peerAddress, type RequestLike } from '../sources/read.js';

const INTERVAL_MS = 60_000;
const MAX_LINES_PER_MINUTE = 10;
/** Distinct keys remembered: past this, the memory of who was reported starts again. */
const MAX_KEYS = 1000;

/** Which proxies' presets read each known certificate header (lower-case, as Node delivers it). */
const READERS: ReadonlyMap<string, readonly ProxyName[]> = (() => {
  const readers = new Map<string, ProxyName[]>();
  for (const preset of Object.values(PRESETS)) {
    for (const header of [preset.header, preset.chainHeader]) {
      if (header !== undefined) readers.set(header, [...(readers.get(header) ?? []), preset.proxy]);
    }
  }
  return readers;
})();

export class RejectionLog {
  readonly #warn: WarnFn;
  readonly #logging: boolean;
  /** The headers this configuration reads: never suggested as another proxy's. */
  readonly #read: ReadonlySet<string>;
  readonly #reported = new Map<string, number>();
  #windowStart = -Infinity;
  #linesInWindow = 0;
  #leftOut = 0;

  constructor(warn: WarnFn, logging: boolean, read: ReadonlySet<string>) {
    this.#warn = warn;
    this.#logging = logging;
    this.#read = read;
  }

  /** A presented certificate refused (or one whose headers could not be read). */
  refused(decision: Decision, source: string, request: RequestLike, socket: Socket | undefined): void {
    const error = decision.error;
    if (!this.#logging || error === null) return;
    const key = `${error.code}\0${error.check ?? ''}\0${decision.fingerprint ?? peerAddress(socket, request) ?? ''}`;
    if (!this.#due(key)) return;
    const why = escapeForLog(error.reason ?? error.message);
    const certificate =
      decision.fingerprint === undefined
        ? ''
        : `; certificate subject "${escapeForLog(decision.subject ?? '?')}", issuer "${escapeForLog(decision.issuer ?? '?')}", sha256 ${decision.fingerprint}`;
    this.#line(
      `rejected a request: ${error.code} at ${error.check ?? '-'} (${why})${certificate}; ` +
        `from ${source}${via(socket, request)}; logged at most once a minute per certificate and reason`,
    );
  }

  /**
   * Under `require`, nothing presented. `describe`, called only when a line is due: the sources
   * read, and whether the peer is trusted to send headers.
   */
  nothingPresented(
    request: RequestLike,
    socket: Socket | undefined,
    describe: () => { readonly sources: string; readonly trusted: boolean },
  ): void {
    if (!this.#logging) return;
    const peer = peerAddress(socket, request);
    if (!this.#due(`required\0${peer ?? ''}`)) return;
    const { sources, trusted } = describe();
    this.#line(
      `rejected a request: client_certificate_required, no client certificate from ${sources}${via(socket, request)}` +
        `${trusted ? otherHeaders(request, this.#read) : ''}; logged at most once a minute per peer`,
    );
  }

  #due(key: string): boolean {
    const now = Date.now();
    const last = this.#reported.get(key);
    if (last !== undefined && now - last < INTERVAL_MS) return false;
    if (now - this.#windowStart >= INTERVAL_MS) {
      this.#windowStart = now;
      this.#linesInWindow = 0;
    }
    if (this.#linesInWindow >= MAX_LINES_PER_MINUTE) {
      this.#leftOut += 1;
      return false;
    }
    if (this.#reported.size >= MAX_KEYS) this.#reported.clear();
    this.#reported.set(key, now);
    this.#linesInWindow += 1;
    return true;
  }

  #line(message: string): void {
    const leftOut = this.#leftOut;
    this.#leftOut = 0;
    this.#warn('request_rejected', leftOut > 0 ? `${message} (${leftOut} more rejections not logged)` : message);
  }
}

function via(socket: Socket | undefined, request: RequestLike): string {
  const peer = peerAddress(socket, request);
  return peer === undefined || peer === '' ? '' : `, peer ${escapeForLog(peer)}`;
}

/**
 * The certificate headers a request from a trusted peer carries that this configuration does not
 * read, with the presets that read them: the usual cause of a 403 behind the wrong preset.
 */
function otherHeaders(request: RequestLike, read: ReadonlySet<string>): string {
  const found: string[] = [];
  for (const [header, proxies] of READERS) {
    if (request.headers[header] !== undefined && !read.has(header)) {
      found.push(`${header} (read by proxy: ${proxies.map((name) => `'${name}'`).join(' or ')})`);
    }
  }
  return found.length === 0
    ? ''
    : `; the request carries ${found.join(', ')}: if that is your proxy's header, name that proxy in the options`;
}

/** Every certificate header the configured sources read (for the rejection log's hints). */
export function headersRead(options: CompiledOptions): ReadonlySet<string> {
  const read = new Set<string>();
  for (const source of [...options.sources, options.forwarded]) {
    if (source === 'xfcc') read.add(options.xfccHeader);
    else if (typeof source === 'object') for (const header of source.headers) read.add(header);
  }
  return read;
}
