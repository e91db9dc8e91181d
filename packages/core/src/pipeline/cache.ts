/**
 * What one middleware instance remembers between requests, and the rules for reusing it. A
 * decision is reused while the clock is inside its window (`checkFrom`..`checkUntil`); only
 * settled decisions are stored, so concurrent requests share one revocation fetch instead.
 */
import type { Socket } from 'node:net';
import { LRUCache } from 'lru-cache';
import { asRejection, type Decided, type Decision, NEVER } from '../decide/decide.js';
import type { ClientCertificate } from '../model.js';
import type { CompiledCache } from '../options/cache.js';
import type { CompiledOptions, CompiledSource } from '../options/compile.js';
import type { RuntimeWarnings } from '../options/warnings.js';
import { pemToDer, shareDer } from '../x509/certificate.js';
import type { RejectionLog } from './rejections.js';
import { SHARED_PIECE, ValueCache } from './value-cache.js';

/** Issuing certificates seen in presented chains: a deployment has a handful, each sent with every leaf. */
const ISSUER_CACHE_SIZE = 100;

/** A forwarded-header source as the caches key it (the compiled source object itself, or `xfcc`). */
export type HeaderSourceKey = Exclude<CompiledSource, 'auto' | 'tls'>;

export interface Caches {
  /** The decision of each TLS connection: every request on a kept-alive connection is answered from here. */
  readonly perSocket: WeakMap<Socket, Decision>;
  /**
   * Admitted TLS clients by their certificate's DER (as latin1 text), with what the TLS stack said
   * when they were admitted: a new connection of a known client is decided from the DER in its TLS
   * session, without Node's certificate objects (pipeline/tls.ts `recallClient`).
   */
  readonly perClient: ValueCache<KnownClient>;
  /** XFCC decisions by the header value as sent (exact; see value-cache.ts). */
  readonly perHeader: ValueCache<Decision>;
  /** The other header sources' decisions by the values of every header the source reads (`headerValuesOf`). */
  readonly perSourceValues: Map<HeaderSourceKey, ValueCache<Decision>>;
  readonly bounds: CompiledCache;
  /** Decisions by the presented chain itself (`presentedKey`), shared by every connection and header value carrying it. */
  readonly perChain: LRUCache<string, Decision>;
  /**
   * Each intermediate seen in a presented chain, parsed once and keyed by its exact DER: a new leaf
   * then costs one parse, not one per chain certificate, and the intermediate's own signature
   * check (cached per object pair in path validation) is not repeated either.
   */
  readonly issuers: LRUCache<string, ClientCertificate>;
  /** Per connection: whether the peer is a trusted proxy (its address never changes). */
  readonly peerTrusted: WeakMap<Socket, boolean>;
  /**
   * Per connection: the last forwarded-header value with its decision. A proxy's keep-alive
   * connection repeats it, and comparing two strings is far cheaper than hashing a 2-3 KB header
   * for the LRU lookup.
   */
  readonly lastHeader: WeakMap<Socket, LastHeader>;
  /** The chain of the last certificate parsed: the next client of the same CA shares the array (evaluate.ts). */
  lastChain: readonly ClientCertificate[];
}

/** Overwritten in place as a connection's value changes: no object per request behind a proxy's pool. */
interface LastHeader {
  source: HeaderSourceKey;
  value: string;
  decision: Decision;
}

/** A TLS client admitted before, and the TLS stack's verdict it was admitted with. */
export interface KnownClient {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly decision: Decision;
}

/** Everything a request's stages read besides the request: fixed at start-up, or kept per instance. */
export interface Pipeline {
  readonly options: CompiledOptions;
  readonly caches: Caches;
  readonly warnings: RuntimeWarnings;
  /** One log line per rejected request, rate-limited. */
  readonly rejections: RejectionLog;
  /** TLS certificates are trusted on the TLS stack's word (no ca, no pins): its verdict is per server name. */
  readonly trustsTlsStack: boolean;
  /** A hook or a debug sink listens: every request is traced (a channel subscriber is checked per request). */
  readonly alwaysObserved: boolean;
}

/** The caches of one middleware, bounded as `cache` says (options/cache.ts). */
export function createCaches(bounds: CompiledCache): Caches {
  return {
    perSocket: new WeakMap(),
    perClient: new ValueCache(bounds.maxEntries, bounds.maxBytes, {
      split: false,
      kept: (client, [key]) => shareLeafDer(client.decision, [key!], latin1Der),
    }),
    perHeader: new ValueCache(bounds.maxEntries, bounds.maxBytes, {
      kept: (decision, pieces) => shareLeafDer(decision, pieces, urlPemDer),
    }),
    perSourceValues: new Map(),
    bounds,
    perChain: new LRUCache({ max: bounds.maxEntries }),
    issuers: new LRUCache({ max: ISSUER_CACHE_SIZE }),
    peerTrusted: new WeakMap(),
    lastHeader: new WeakMap(),
    lastChain: [],
  };
}

/**
 * A cached admission's leaf is kept once: as the key's text (an XFCC value's certificate piece, a
 * TLS client's DER), not also as bytes (x509/facts.ts `shareDer` checks they are the same).
 * The first certificate-sized pieces are tried: Envoy's `Cert`, else the first of `Chain`.
 */
function shareLeafDer(decision: Decision, pieces: readonly string[], fromText: (text: string) => Buffer): void {
  const certificate = decision.certificate;
  if (certificate === null) return;
  let tries = 0;
  for (let i = 0; i < pieces.length && tries < 2; i++) {
    const piece = pieces[i]!;
    if (piece.length < SHARED_PIECE) continue;
    if (shareDer(certificate, piece, fromText)) return;
    tries++;
  }
}

const latin1Der = (text: string): Buffer => Buffer.from(text, 'latin1');

/** An XFCC `Cert` (URL-encoded PEM). Not one (a bad escape): no bytes, so no match. */
function urlPemDer(text: string): Buffer {
  let pem: string;
  try {
    pem = decodeURIComponent(text);
  } catch {
    return Buffer.alloc(0);
  }
  return pemToDer(pem);
}

/** The decisions of one header source by its headers' values, made on its first use. */
export function headerValuesOf(caches: Caches, source: HeaderSourceKey): ValueCache<Decision> {
  let values = caches.perSourceValues.get(source);
  if (values === undefined) {
    values = new ValueCache(caches.bounds.maxEntries, caches.bounds.maxBytes);
    caches.perSourceValues.set(source, values);
  }
  return values;
}

export function isFresh(options: CompiledOptions, decision: Decision): boolean {
  const now = options.now();
  return now >= decision.checkFrom && now <= decision.checkUntil;
}

/** The stored decision for `key` while it holds, else `decide()`'s, stored once settled. */
export function cachedIn<K extends object | string>(
  options: CompiledOptions,
  store: { get(key: K): Decision | undefined; set(key: K, decision: Decision): unknown },
  key: K,
  decide: () => Decided,
): Decided {
  const hit = store.get(key);
  if (hit && isFresh(options, hit)) return hit;
  const decision = decide();
  if (decision instanceof Promise) {
    return decision.then(
      (settled) => {
        store.set(key, settled);
        return settled;
      },
      // Never a 500: a failure inside an asynchronous check is a rejection, decided again next time.
      (error: unknown) => ({ certificate: null, error: asRejection(error), ...NEVER }),
    );
  }
  store.set(key, decision);
  return decision;
}

/** The decision for this connection's last header value of `source`, while it still holds. */
export function recall(
  pipeline: Pipeline,
  socket: Socket | undefined,
  source: HeaderSourceKey,
  value: string,
): Decision | undefined {
  const last = socket === undefined ? undefined : pipeline.caches.lastHeader.get(socket);
  return last && last.source === source && last.value === value && isFresh(pipeline.options, last.decision)
    ? last.decision
    : undefined;
}

export function remember(
  pipeline: Pipeline,
  socket: Socket | undefined,
  source: HeaderSourceKey,
  value: string,
  decided: Decided,
): Decided {
  if (socket === undefined || decided instanceof Promise) return decided;
  const last = pipeline.caches.lastHeader.get(socket);
  if (last === undefined) pipeline.caches.lastHeader.set(socket, { source, value, decision: decided });
  else {
    last.source = source;
    last.value = value;
    last.decision = decided;
  }
  return decided;
}

/**
 * Whether the immediate peer is a proxy named by `trustProxy`. A connection's address never
 * changes: decided once per connection. Without a connection, the address the caller gave, each
 * time; with neither, no one is trusted.
 */
export function peerIsTrusted(
  pipeline: Pipeline,
  socket: Socket | undefined,
  request: { readonly remoteAddress?: string },
): boolean {
  if (socket === undefined) {
    const address = request.remoteAddress;
    return typeof address === 'string' && address !== '' && pipeline.options.trustProxy(address, 0) === true;
  }
  let trusted = pipeline.caches.peerTrusted.get(socket);
  if (trusted === undefined) {
    const address = socket.remoteAddress;
    trusted = address !== undefined && pipeline.options.trustProxy(address, 0);
    if (address !== undefined) pipeline.caches.peerTrusted.set(socket, trusted);
  }
  return trusted;
}
