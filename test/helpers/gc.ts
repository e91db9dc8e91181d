/**
 * A full garbage collection, for tests that assert memory, or null when this runtime has none.
 *
 * Node offers `gc()` only under `--expose-gc`, and `npm test` runs mocha without it. The flag can
 * still be set at run time: V8 then installs `gc` in contexts created afterwards, so it is taken
 * from a new `vm` context and the flag is cleared again (the way Jest's leak detector does it).
 * The global scope is not touched, so mocha's leak check sees nothing new.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

function find(): (() => void) | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const made: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    return typeof made === 'function' ? (made as () => void) : null;
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/** A full (mark-compact) collection of the heap; null when this runtime cannot be asked for one. */
export function garbageCollector(): (() => void) | null {
  if (collector === undefined) collector = find();
  return collector;
}
