/**
 * Counts the work a scanner does on a string, deterministically (never by timing): while
 * `countWork` runs its function, the string and buffer primitives the core's scanners use are
 * wrapped, and each call adds the number of characters it touches:
 *
 * - `charCodeAt`, `codePointAt`, `charAt`, `at`: 1;
 * - `indexOf` / `includes` / `startsWith` / `endsWith`: the characters between the start and the
 *   match (or the end), since that is what the search reads;
 * - `lastIndexOf`, `split`, `trim*`, `toLowerCase`, `toUpperCase`, `replace*`, `match`, `search`:
 *   the receiver's length;
 * - `slice` / `substring` / `substr`: the result's length (a copy);
 * - `decodeURIComponent`, `Buffer.from(string)`, `Buffer#toString`: the input length.
 *
 * A scanner that is linear does O(1) of these per character; one that rescans (an `indexOf` from
 * every position, a `slice` of the rest per step, a backtracking search) is caught by the sum.
 */

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

interface Patch {
  target: object;
  name: string;
  original: AnyFunction;
}

let work = 0;

function searched(receiver: string, found: number, from: number, needle: number): number {
  const start = Math.max(0, Math.min(from, receiver.length));
  const end = found < 0 ? receiver.length : found + needle;
  return Math.max(1, end - start);
}

function costOf(name: string, receiver: unknown, args: unknown[], result: unknown): number {
  const text = typeof receiver === 'string' ? receiver : String(receiver);
  switch (name) {
    case 'charCodeAt':
    case 'codePointAt':
    case 'charAt':
    case 'at':
      return 1;
    case 'indexOf':
      return searched(text, result as number, Number(args[1] ?? 0), String(args[0]).length);
    case 'startsWith':
    case 'endsWith':
      return Math.max(1, String(args[0]).length);
    case 'slice':
    case 'substring':
    case 'substr':
      return Math.max(1, (result as string).length);
    default:
      return Math.max(1, text.length);
  }
}

const STRING_METHODS = [
  'charCodeAt',
  'codePointAt',
  'charAt',
  'at',
  'indexOf',
  'lastIndexOf',
  'includes',
  'startsWith',
  'endsWith',
  'slice',
  'substring',
  'substr',
  'split',
  'trim',
  'trimStart',
  'trimEnd',
  'toLowerCase',
  'toUpperCase',
  'replace',
  'replaceAll',
  'match',
  'search',
] as const;

function install(): Patch[] {
  const patches: Patch[] = [];
  const proto = String.prototype as unknown as Record<string, AnyFunction>;
  // `includes` measures itself with the original indexOf, so keep a reference before patching.
  const indexOf = proto.indexOf!;
  for (const name of STRING_METHODS) {
    const original = proto[name]!;
    patches.push({ target: proto, name, original });
    proto[name] = function counted(this: unknown, ...args: unknown[]): unknown {
      const result = Reflect.apply(original, this, args);
      if (name === 'includes') {
        const from = Number(args[1] ?? 0);
        const found = Reflect.apply(indexOf, this, [args[0], from]) as number;
        work += searched(String(this), found, from, String(args[0]).length);
      } else {
        work += costOf(name, this, args, result);
      }
      return result;
    };
  }
  const globals = globalThis as unknown as Record<string, AnyFunction>;
  const decode = globals.decodeURIComponent!;
  patches.push({ target: globals, name: 'decodeURIComponent', original: decode });
  globals.decodeURIComponent = function counted(this: unknown, ...args: unknown[]): unknown {
    work += Math.max(1, String(args[0]).length);
    return Reflect.apply(decode, this, args);
  };
  const bufferFrom = Buffer.from as unknown as AnyFunction;
  patches.push({ target: Buffer, name: 'from', original: bufferFrom });
  (Buffer as unknown as Record<string, AnyFunction>).from = function counted(
    this: unknown,
    ...args: unknown[]
  ): unknown {
    if (typeof args[0] === 'string') work += Math.max(1, args[0].length);
    return Reflect.apply(bufferFrom, this, args);
  };
  const bufferToString = Buffer.prototype.toString as unknown as AnyFunction;
  patches.push({ target: Buffer.prototype, name: 'toString', original: bufferToString });
  (Buffer.prototype as unknown as Record<string, AnyFunction>)['toString'] = function counted(
    this: unknown,
    ...args: unknown[]
  ): unknown {
    const start = Number(args[1] ?? 0);
    const end = args[2] === undefined ? (this as Buffer).length : Number(args[2]);
    work += Math.max(1, end - start);
    return Reflect.apply(bufferToString, this, args);
  };
  return patches;
}

function uninstall(patches: readonly Patch[]): void {
  for (const { target, name, original } of patches) (target as Record<string, AnyFunction>)[name] = original;
}

export interface Counted {
  /** Characters touched, as defined above. */
  work: number;
  /** What `fn` threw, if it threw. */
  error?: unknown;
}

/** Runs `fn` with the primitives counted, and returns the work done (and the error, if any). */
export function countWork(fn: () => unknown): Counted {
  const patches = install();
  work = 0;
  try {
    fn();
    return { work };
  } catch (error) {
    return { work, error };
  } finally {
    uninstall(patches);
  }
}
