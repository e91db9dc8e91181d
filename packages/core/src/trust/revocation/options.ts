/**
 * The `revocation` options, validated once into plain data: every mistake is an `invalid_option`
 * naming the option's full path (`revocation.crls[1]`, `routes[2].revocation.ocsp.nonce`). CRLs
 * given inline or as files are read and parsed here, so a broken one fails at start-up; URLs are
 * only checked for form and fetched on first use.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { booleanOption, invalidOption, knownKeys, objectOption, oneOf } from '../../validate.js';
import { type CrlSource, crlProblem, type ParsedCrl, parseCrlBundle, sourceRefreshAt } from './crl.js';
import { httpUrl } from './fetch.js';
import type { OcspOptions, RevocationOptions, RevocationPolicy, RevocationScope } from './index.js';

const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_RETRY_AFTER_MS = 5000;
const DEFAULT_OCSP_MAX_CACHE_SECONDS = 3600;
const MAX_TIMEOUT_MS = 60_000;

const POLICIES: readonly RevocationPolicy[] = ['off', 'soft', 'strict'];
const SCOPES: readonly RevocationScope[] = ['chain', 'leaf'];
const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['policy', 'crls', 'ocsp', 'scope', 'timeoutMs', 'retryAfterMs']);
const KNOWN_OCSP_OPTIONS: ReadonlySet<string> = new Set(['responderUrl', 'timeoutMs', 'nonce', 'maxCacheSeconds']);

export interface CompiledOcsp {
  readonly responderUrl: string | null;
  readonly timeoutMs: number;
  readonly nonce: boolean;
  readonly maxCacheMs: number;
}

export interface CompiledRevocation {
  readonly policy: RevocationPolicy;
  readonly scope: RevocationScope;
  readonly crls: readonly CrlSource[];
  readonly ocsp: CompiledOcsp | null;
  readonly timeoutMs: number;
  readonly retryAfterMs: number;
}

/** No revocation checking: what an absent `revocation` option compiles to. */
export const REVOCATION_OFF: CompiledRevocation = {
  policy: 'off',
  scope: 'chain',
  crls: [],
  ocsp: null,
  timeoutMs: DEFAULT_TIMEOUT_MS,
  retryAfterMs: DEFAULT_RETRY_AFTER_MS,
};

/** Validates `options` once; every mistake is an `invalid_option` naming the option's path. */
export function compileRevocationOptions(options: unknown, path: string): CompiledRevocation {
  if (options === undefined || options === null) return REVOCATION_OFF;
  const input = objectOption(options, path) as RevocationOptions;
  knownKeys(input, KNOWN_OPTIONS, path);
  if (input.policy !== undefined) oneOf(input.policy, POLICIES, `${path}.policy`);
  const scope = input.scope === undefined ? 'chain' : oneOf(input.scope, SCOPES, `${path}.scope`);
  const timeoutMs = timeoutOption(input.timeoutMs, `${path}.timeoutMs`, DEFAULT_TIMEOUT_MS);
  const retryAfterMs = input.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
    throw invalidOption(`${path}.retryAfterMs`, 'must be a number of milliseconds >= 0');
  }
  const crls = compileCrlSources(input.crls, `${path}.crls`);
  const ocsp = compileOcsp(input.ocsp ?? false, `${path}.ocsp`, timeoutMs);
  const configured = crls.length > 0 || ocsp !== null;
  const policy = input.policy ?? (configured ? 'strict' : 'off');
  if (policy !== 'off' && !configured) {
    throw invalidOption(`${path}.policy`, `is "${policy}" but neither crls nor ocsp is configured`);
  }
  return { policy, scope, crls, ocsp, timeoutMs, retryAfterMs };
}

/**
 * A deadline in milliseconds, from 1 to a minute. Fractions are allowed: the value goes to
 * `setTimeout`, which takes them.
 */
function timeoutOption(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_TIMEOUT_MS) {
    throw invalidOption(path, `must be a number of milliseconds between 1 and ${MAX_TIMEOUT_MS}`);
  }
  return value;
}

function compileOcsp(value: unknown, path: string, timeoutMs: number): CompiledOcsp | null {
  if (value === false) return null;
  if (value !== true && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidOption(path, 'must be a boolean or an object');
  }
  const settings: OcspOptions = value === true ? {} : (value as OcspOptions);
  knownKeys(settings, KNOWN_OCSP_OPTIONS, path);
  let responderUrl: string | null = null;
  if (settings.responderUrl !== undefined) {
    responderUrl = typeof settings.responderUrl === 'string' ? httpUrl(settings.responderUrl) : null;
    if (responderUrl === null) throw invalidOption(`${path}.responderUrl`, 'must be an http(s) URL');
  }
  const nonce = settings.nonce === undefined ? false : booleanOption(settings.nonce, `${path}.nonce`);
  const maxCache = settings.maxCacheSeconds ?? DEFAULT_OCSP_MAX_CACHE_SECONDS;
  if (typeof maxCache !== 'number' || !Number.isFinite(maxCache) || maxCache <= 0) {
    throw invalidOption(`${path}.maxCacheSeconds`, 'must be a number of seconds > 0');
  }
  return {
    responderUrl,
    timeoutMs: timeoutOption(settings.timeoutMs, `${path}.timeoutMs`, timeoutMs),
    nonce,
    maxCacheMs: maxCache * 1000,
  };
}

/** One source per entry, named `crls[i]` when a list was given and `crls` for a single value. */
function compileCrlSources(value: unknown, path: string): CrlSource[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return [compileCrlSource(value, path)];
  return value.map((item, index) => compileCrlSource(item, `${path}[${index}]`));
}

function compileCrlSource(input: unknown, path: string): CrlSource {
  const parse = (data: Buffer | string): ParsedCrl[] => {
    try {
      return parseCrlBundle(data);
    } catch (error) {
      throw invalidOption(path, crlProblem(error));
    }
  };
  if (Buffer.isBuffer(input)) return crlSource('static', path, '', parse(input));
  if (typeof input !== 'string' || input.length === 0) {
    throw invalidOption(path, 'must be a file path, an http(s) URL, PEM text or a Buffer');
  }
  if (input.includes('-----BEGIN')) return crlSource('static', path, '', parse(input));
  if (/^https?:\/\//i.test(input)) {
    const url = httpUrl(input);
    if (url === null) throw invalidOption(path, 'is not a valid http(s) URL');
    return crlSource('url', path, url, null);
  }
  const file = crlFilePath(input, path);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw invalidOption(path, `could not be read (${typeof code === 'string' ? code : 'error'})`);
  }
  return crlSource('file', path, file, parse(data));
}

/** A file path, from a path or a `file:` URL; other URL schemes are refused. */
function crlFilePath(input: string, path: string): string {
  if (/^file:/i.test(input)) {
    try {
      return fileURLToPath(input);
    } catch {
      throw invalidOption(path, 'is not a valid file URL');
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw invalidOption(path, 'must be an http(s) URL, a file path, PEM text or a Buffer');
  }
  return input;
}

function crlSource(kind: CrlSource['kind'], path: string, location: string, crls: ParsedCrl[] | null): CrlSource {
  const now = Date.now();
  const entries = crls === null ? null : crls.map((crl) => ({ crl, loadedAt: now }));
  const source: CrlSource = {
    kind,
    path,
    location,
    entries,
    refreshAt: Infinity,
    inflight: null,
    retryAt: 0,
    settledAt: -Infinity,
  };
  source.refreshAt = sourceRefreshAt(source);
  return source;
}

/** One line for the start-up report, e.g. `strict; 1 CRL file, 1 CRL URL; OCSP; whole chain`. */
export function describeRevocation(compiled: CompiledRevocation): string {
  if (compiled.policy === 'off') return 'off';
  const count = (kind: CrlSource['kind']): number => compiled.crls.filter((source) => source.kind === kind).length;
  const parts: string[] = [];
  const files = count('file');
  const urls = count('url');
  const inline = count('static');
  if (files > 0) parts.push(`${files} CRL file${files === 1 ? '' : 's'}`);
  if (urls > 0) parts.push(`${urls} CRL URL${urls === 1 ? '' : 's'}`);
  if (inline > 0) parts.push(`${inline} inline CRL${inline === 1 ? '' : 's'}`);
  const sources = parts.length > 0 ? [parts.join(', ')] : [];
  if (compiled.ocsp !== null) sources.push(compiled.ocsp.responderUrl !== null ? 'OCSP (fixed responder)' : 'OCSP');
  return `${compiled.policy}; ${sources.join('; ')}; ${compiled.scope === 'leaf' ? 'leaf only' : 'whole chain'}`;
}
