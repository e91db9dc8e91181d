/**
 * `cache`: how many decisions one middleware keeps, bounded by entries and by bytes. A decision is
 * kept per certificate (its chain as presented) and per forwarded header value; behind a proxy's
 * connection pool every request carries another client's value, so the caches must hold the
 * whole fleet or every request pays a full decision (~0.4 ms instead of a few µs).
 */
import { integerOption, knownKeys, objectOption } from '../validate.js';

export interface CacheOptions {
  /**
   * Decisions kept (per certificate, and per forwarded header value). Default 25,000: a fleet of
   * 20,000 clients with room to spare. Each costs about 2 KB plus the header value it is keyed by.
   */
  maxEntries?: number;
  /**
   * Memory the decisions may take, at most, counted as the length of the value each is found by
   * (a forwarded header value, a TLS client's certificate) plus 2 KB for the decision itself.
   * Default 128 MiB: 25,000 decisions keyed by 2-3 KB XFCC values (the leaf and one intermediate).
   */
  maxBytes?: number;
}

export interface CompiledCache {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export const DEFAULT_CACHE: CompiledCache = Object.freeze({ maxEntries: 25_000, maxBytes: 128 * 1024 * 1024 });

const KNOWN: ReadonlySet<string> = new Set(['maxEntries', 'maxBytes']);

export function compileCache(input: CacheOptions | undefined): CompiledCache {
  if (input === undefined) return DEFAULT_CACHE;
  const options = objectOption(input, 'cache', '{ maxEntries: 25000 }') as CacheOptions;
  knownKeys(options, KNOWN, 'cache');
  return Object.freeze({
    maxEntries: integerOption(options.maxEntries ?? DEFAULT_CACHE.maxEntries, 'cache.maxEntries', {
      min: 1,
      max: 10_000_000,
    }),
    maxBytes: integerOption(options.maxBytes ?? DEFAULT_CACHE.maxBytes, 'cache.maxBytes', {
      min: 64 * 1024,
      max: 2 ** 40,
    }),
  });
}
