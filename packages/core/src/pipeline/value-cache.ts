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
 * A value is kept as its pieces (split at quotes, NULs and PEM blocks): each certificate-sized
 * piece once for all entries (Envoy's XFCC repeats the leaf in `Cert` and `Chain`, and every
 * client of a CA sends the same intermediate, so an entry holds little more than its own leaf),
 * the short text between them merged into one string of the entry's own. Binary keys (a TLS
 * leaf's DER as latin1) are kept whole (`split: false`): their quote and NUL bytes mean nothing.
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
/** Pieces this long (a certificate) are shared between entries; shorter ones are merged into the entry's own text. */
export const SHARED_PIECE = 256;

interface Entry<V> {
  readonly id: number;
  readonly hash: number;
  readonly length: number;
  /** The value, as interned pieces. */
  readonly pieces: readonly string[];
  readonly value: V;
  /** `#nextId` when the LRU last saw this entry used. */
  refreshedAt: number;
}

export class ValueCache<V extends object> {
  readonly #entries: LRUCache<number, Entry<V>>;
  /** Entries by `sampleHash`: a hit compares the value with these without going through the LRU. */
  readonly #buckets = new Map<number, Entry<V> | Entry<V>[]>(); // an array only when values sample alike
  readonly #pieces = new Pieces();
  readonly #split: boolean;
  /** The next entry's id; also the clock of `refreshedAt` (entries added so far, see `get`). */
  #nextId = 0;

  /** Told of each entry as it is kept, with the pieces its value is kept as. */
  readonly #kept: ((value: V, pieces: readonly string[]) => void) | undefined;

  constructor(
    maxEntries: number,
    maxBytes: number,
    { split = true, kept }: { split?: boolean; kept?: (value: V, pieces: readonly string[]) => void } = {},
  ) {
    this.#split = split;
    this.#kept = kept;
    this.#entries = new LRUCache<number, Entry<V>>({
      max: maxEntries,
      maxSize: maxBytes,
      sizeCalculation: (entry) => entry.length + ENTRY_BYTES,
      dispose: (entry) => this.#forget(entry),
    });
  }

  get size(): number {
    return this.#entries.size;
  }

  get(value: string): V | undefined {
    const entry = this.#find(value, sampleHash(value));
    if (entry === undefined) return undefined;
    // Recency is refreshed only once an entry has aged by a quarter of the entries held: a fleet
    // that fits (no new entries) costs the LRU nothing per hit, and under churn an entry in use is
    // still far from the end that evicts. (The LRU's step touches memory a rotation has made cold.)
    if (this.#nextId - entry.refreshedAt > this.#entries.size >>> 2) {
      entry.refreshedAt = this.#nextId;
      this.#entries.get(entry.id);
    }
    return entry.value;
  }

  set(value: string, entryValue: V): void {
    const hash = sampleHash(value);
    const known = this.#find(value, hash);
    if (known !== undefined) this.#entries.delete(known.id);
    if (value.length + ENTRY_BYTES > this.#entries.maxSize) return; // larger than the whole budget
    const full = this.#buckets.get(hash);
    if (Array.isArray(full) && full.length >= MAX_BUCKET) this.#entries.delete(full[0]!.id); // dispose takes it out
    const id = this.#nextId++;
    const pieces = this.#split ? this.#pieces.intern(value) : [ownCopy(value)];
    const entry: Entry<V> = { id, hash, length: value.length, pieces, value: entryValue, refreshedAt: id };
    this.#entries.set(id, entry); // may evict others, which leave their buckets
    const held = this.#buckets.get(hash);
    if (held === undefined) this.#buckets.set(hash, entry);
    else if (Array.isArray(held)) held.push(entry);
    else this.#buckets.set(hash, [held, entry]);
    this.#kept?.(entryValue, pieces);
  }

  /** The entry whose value has the same characters as `value`, if any (without refreshing it). */
  #find(value: string, hash: number): Entry<V> | undefined {
    const held = this.#buckets.get(hash);
    if (held === undefined) return undefined;
    if (!Array.isArray(held)) return sameValue(value, held) ? held : undefined;
    for (let i = 0; i < held.length; i++) if (sameValue(value, held[i]!)) return held[i];
    return undefined;
  }

  /** An entry evicted or deleted: out of its bucket, its pieces released. */
  #forget(entry: Entry<V>): void {
    const held = this.#buckets.get(entry.hash);
    if (held === entry) this.#buckets.delete(entry.hash);
    else if (Array.isArray(held)) {
      const index = held.indexOf(entry);
      if (index >= 0) held.splice(index, 1);
      if (held.length === 1) this.#buckets.set(entry.hash, held[0]!);
    }
    if (this.#split) this.#pieces.release(entry.pieces);
  }
}

function sameValue(value: string, entry: Entry<unknown>): boolean {
  return entry.length === value.length && sameCharacters(value, entry.pieces);
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

/**
 * Certificate-sized pieces of kept values, each kept once and counted, let go when no entry uses
 * it; the text between them is the entry's own (one string per run, not one per piece).
 */
class Pieces {
  readonly #uses = new Map<string, { readonly piece: string; uses: number }>();

  intern(value: string): readonly string[] {
    const pieces: string[] = [];
    let run = '';
    for (const piece of value.split(PIECES)) {
      if (piece.length < SHARED_PIECE) {
        run += piece;
        continue;
      }
      if (run !== '') pieces.push(ownCopy(run));
      run = '';
      let kept = this.#uses.get(piece);
      if (kept === undefined) {
        const own = ownCopy(piece);
        this.#uses.set(own, (kept = { piece: own, uses: 0 }));
      }
      kept.uses += 1;
      pieces.push(kept.piece);
    }
    if (run !== '') pieces.push(ownCopy(run));
    return Object.freeze(pieces.slice()); // `slice`: no room to grow kept per entry
  }

  release(pieces: readonly string[]): void {
    for (const piece of pieces) {
      if (piece.length < SHARED_PIECE) continue;
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
