/**
 * Decisions by a forwarded header value exactly as sent, found without hashing the whole value.
 *
 * Behind a proxy's connection pool every request carries another client's 2-3 KB value, and the
 * HTTP parser makes a new string for it each time: a Map lookup would hash all of it (~3 µs, most
 * of a cache hit). Here a value is first placed by a hash of a few dozen of its characters
 * (`sampleHash`, spread over the whole value from a per-process random offset), then compared in
 * full with the values kept under that hash. The comparison makes a hit exact by construction:
 * a sample collision costs a string comparison, never a wrong answer.
 *
 * A value is kept as its pieces (split at quotes, NULs and PEM blocks), each piece once for all
 * entries: Envoy's XFCC repeats the leaf in `Cert` and `Chain`, and every client of a CA sends the
 * same intermediate, so an entry holds little more than its own leaf.
 *
 * Bounded by entries and by bytes (each entry counted as its value's length plus `ENTRY_BYTES`);
 * values that sample alike share a bucket of at most `MAX_BUCKET` (the oldest makes room), so
 * crafted values cannot make a lookup long.
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
/** Piece boundaries: before and after a quote or a NUL, and before a PEM block. */
const PIECES = /(["\0]|(?=-----BEGIN))/;

interface Entry<V> {
  readonly hash: number;
  readonly length: number;
  /** The value, as interned pieces. */
  readonly pieces: readonly string[];
  readonly value: V;
}

export class ValueCache<V extends object> {
  readonly #entries: LRUCache<number, Entry<V>>;
  readonly #buckets = new Map<number, number[]>();
  readonly #pieces = new Pieces();
  #nextId = 0;

  constructor(maxEntries: number, maxBytes: number) {
    this.#entries = new LRUCache<number, Entry<V>>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (entry) => entry.length + ENTRY_BYTES,
      dispose: (entry, id) => this.#forget(id, entry),
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  get(value: string): V | undefined {
    const id = this.#find(value, sampleHash(value));
    return id === undefined ? undefined : this.#entries.get(id)?.value;
  }

  set(value: string, entryValue: V): void {
    const hash = sampleHash(value);
    const known = this.#find(value, hash);
    if (known !== undefined) this.#entries.delete(known);
    if (value.length + ENTRY_BYTES > this.#entries.maxSize) return; // larger than the whole budget
    let bucket = this.#buckets.get(hash);
    if (bucket === undefined) this.#buckets.set(hash, (bucket = []));
    else if (bucket.length >= MAX_BUCKET) this.#entries.delete(bucket[0]!); // dispose takes it out of the bucket
    const id = this.#nextId++;
    bucket.push(id);
    this.#entries.set(id, { hash, length: value.length, pieces: this.#pieces.intern(value), value: entryValue });
  }

  /** The id of the entry whose value has the same characters as `value`, if any (without refreshing it). */
  #find(value: string, hash: number): number | undefined {
    const bucket = this.#buckets.get(hash);
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const entry = this.#entries.peek(bucket[i]!);
      if (entry !== undefined && entry.length === value.length && sameCharacters(value, entry.pieces)) return bucket[i];
    }
    return undefined;
  }

  /** An entry evicted or deleted: out of its bucket, its pieces released. */
  #forget(id: number, entry: Entry<V>): void {
    const bucket = this.#buckets.get(entry.hash);
    if (bucket !== undefined) {
      const index = bucket.indexOf(id);
      if (index >= 0) bucket.splice(index, 1);
      if (bucket.length === 0) this.#buckets.delete(entry.hash);
    }
    this.#pieces.release(entry.pieces);
  }
}

/**
 * Whether `value` is the concatenation of `pieces`. `substring` then `===`: the engine compares
 * the characters in bulk (`startsWith` at an offset compares one by one, ~20× slower).
 */
function sameCharacters(value: string, pieces: readonly string[]): boolean {
  let at = 0;
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (value.substring(at, at + piece.length) !== piece) return false;
    at += piece.length;
  }
  return at === value.length;
}

/** Pieces of kept values, each kept once and counted, let go when no entry uses it. */
class Pieces {
  readonly #uses = new Map<string, { readonly piece: string; uses: number }>();

  intern(value: string): readonly string[] {
    const pieces = value.split(PIECES).filter((piece) => piece !== '');
    for (let i = 0; i < pieces.length; i++) {
      let kept = this.#uses.get(pieces[i]!);
      if (kept === undefined) {
        const piece = ownCopy(pieces[i]!);
        this.#uses.set(piece, (kept = { piece, uses: 0 }));
      }
      kept.uses += 1;
      pieces[i] = kept.piece;
    }
    return Object.freeze(pieces);
  }

  release(pieces: readonly string[]): void {
    for (const piece of pieces) {
      const kept = this.#uses.get(piece);
      if (kept !== undefined && --kept.uses === 0) this.#uses.delete(piece);
    }
  }
}

/**
 * A string with characters of its own: what `split` returns points into the whole value, which
 * keeping the piece would keep alive. (A header value is Latin-1 text; anything else is copied
 * through UTF-8, and a lone surrogate, which has no UTF-8 form, then never matches: a miss.)
 */
function ownCopy(piece: string): string {
  return Buffer.from(piece, 'utf8').toString('utf8');
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
