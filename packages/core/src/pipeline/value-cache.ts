/**
 * Decisions by a forwarded header value exactly as sent, found without hashing the whole value.
 *
 * Behind a proxy's connection pool every request carries another client's 2-3 KB value, and the
 * HTTP parser makes a new string for it each time: a Map lookup would hash all of it (~3 µs, most
 * of a cache hit). Here a value is first placed by a hash of a few dozen of its characters
 * (`sampleHash`, spread over the whole value from a per-process random offset), then compared in
 * full with the values kept under that hash. The comparison makes a hit exact by construction:
 * a sample collision costs a string comparison, never a wrong answer. The kept value, whose hash
 * the engine computed once, is then the key into the LRU, so the lookup there hashes nothing.
 *
 * Bounded by entries and by bytes (each entry counted as its value's length plus `ENTRY_BYTES`); values that sample alike share a bucket
 * of at most `MAX_BUCKET` (the oldest makes room), so crafted values cannot make a lookup long.
 */
import { randomInt } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Characters sampled per value: enough that certificates of one CA (same prefix, same chain) rarely share a bucket. */
const SAMPLES = 64;
const MAX_BUCKET = 8;
/** What an entry is counted as besides its value: the decision it finds (options/cache.ts `maxBytes`). */
export const ENTRY_BYTES = 2048;
/** Where sampling starts within the first stride: unknown outside this process, so values cannot be crafted to collide. */
const OFFSET_SEED = randomInt(0, 2 ** 30);

export class ValueCache<V extends object> {
  readonly #entries: LRUCache<string, V>;
  readonly #buckets = new Map<number, string[]>();

  constructor(maxEntries: number, maxBytes: number) {
    this.#entries = new LRUCache<string, V>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (_value, key) => key.length + ENTRY_BYTES,
      // Evicted or deleted: its bucket lets go of it too (an overwrite keeps the key where it is).
      dispose: (_value, key, reason) => {
        if (reason !== 'set') this.#unplace(key);
      },
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  get(value: string): V | undefined {
    const kept = this.#find(value);
    return kept === undefined ? undefined : this.#entries.get(kept);
  }

  set(value: string, entry: V): void {
    const kept = this.#find(value);
    if (kept !== undefined) {
      this.#entries.set(kept, entry);
      return;
    }
    const hash = sampleHash(value);
    let bucket = this.#buckets.get(hash);
    if (bucket === undefined) this.#buckets.set(hash, (bucket = []));
    else if (bucket.length >= MAX_BUCKET) this.#entries.delete(bucket[0]!); // dispose takes it out of the bucket
    bucket.push(value);
    this.#entries.set(value, entry);
    // Larger than the whole byte budget: the LRU refused it without a dispose.
    if (!this.#entries.has(value)) this.#unplace(value);
  }

  /** The kept string equal to `value` (the same characters), if any. */
  #find(value: string): string | undefined {
    const bucket = this.#buckets.get(sampleHash(value));
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) if (bucket[i] === value) return bucket[i];
    return undefined;
  }

  #unplace(value: string): void {
    const hash = sampleHash(value);
    const bucket = this.#buckets.get(hash);
    if (bucket === undefined) return;
    const index = bucket.indexOf(value);
    if (index >= 0) bucket.splice(index, 1);
    if (bucket.length === 0) this.#buckets.delete(hash);
  }
}

/** FNV-1a over the length and `SAMPLES` characters spread evenly over the value. */
export function sampleHash(value: string): number {
  const length = value.length;
  let hash = Math.imul(0x811c9dc5 ^ length, 0x01000193);
  if (length <= SAMPLES) {
    for (let i = 0; i < length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
    return hash;
  }
  const stride = Math.floor(length / SAMPLES);
  for (let i = OFFSET_SEED % stride; i < length; i += stride) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193);
  return hash;
}
