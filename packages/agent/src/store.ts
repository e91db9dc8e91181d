import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { ClientCredential, CredentialOptions } from './credential.js';
import { credentialError, optionError } from './errors.js';
import { type LiveCredential, type WatchOptions, watchCredential } from './rotation.js';

/** One entry of a credential list: a stable id and how to load it. */
export type StoreEntry = CredentialOptions & { id: string };

export interface CredentialStoreOptions extends WatchOptions {
  /**
   * A directory of credentials. Each `<id>.pfx` / `<id>.p12` is one credential, and so is each
   * `<id>.crt` / `<id>.cert.pem` / `<id>.pem` with a matching `<id>.key` / `<id>.key.pem` (and an
   * optional `<id>.chain.pem`). The id is the file's base name. Read once at creation; files
   * replaced later are picked up by the watcher, files added later are not.
   */
  directory?: string;
  /** Passphrase of the directory's PFX files or encrypted keys: one string, or by id. */
  passphrase?: string | ((id: string) => string | undefined);
  /** Explicit credentials, each with its id. */
  credentials?: StoreEntry[];
  /** Load expired certificates too (applies to all entries unless an entry says otherwise). */
  allowExpired?: boolean;
}

/**
 * Select a credential: by `id`, the stable name that survives rotation (the same id refers to the
 * renewed certificate), or by `thumbprint`, which identifies one exact certificate and therefore
 * changes when the certificate is renewed (as Azure API Management says of
 * `authentication-certificate`: prefer `certificate-id`).
 */
export type CredentialSelector = { id: string; thumbprint?: never } | { thumbprint: string; id?: never };

export interface CredentialStore extends EventEmitter {
  /** The credential now in use for this selector; throws `credential_not_found`. */
  get(selector: CredentialSelector): ClientCredential;
  /** Like `get`, or undefined. */
  find(selector: CredentialSelector): ClientCredential | undefined;
  /** The live (rotating) credential behind an id or thumbprint; throws `credential_not_found`. */
  live(selector: CredentialSelector): LiveCredential;
  /** Every credential now in use. */
  list(): ClientCredential[];
  ids(): string[];
  /** Stop all watchers. */
  close(): void;
}

/**
 * Normalize a thumbprint in any common notation: hex with or without `:`/space/`-` separators,
 * any case; SHA-1 (40 hex digits) or SHA-256 (64). Returns lower-case hex, or undefined.
 */
export function normalizeThumbprint(value: string): string | undefined {
  if (typeof value !== 'string') return undefined;
  const hex = value
    .trim()
    .replace(/^(sha-?1|sha-?256)[:=]\s*/i, '')
    .replace(/[\s:-]/g, '')
    .toLowerCase();
  return /^[0-9a-f]+$/.test(hex) && (hex.length === 40 || hex.length === 64) ? hex : undefined;
}

const PEM_CERT_SUFFIXES = ['.cert.pem', '.crt.pem', '.crt', '.cer', '.pem'];
const PEM_KEY_SUFFIXES = ['.key.pem', '.key'];

function scanDirectory(directory: string, passphrase: CredentialStoreOptions['passphrase']): StoreEntry[] {
  const dir = resolve(directory);
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (error) {
    throw credentialError(
      'credential_unreadable',
      `credential directory "${dir}" cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      error,
    );
  }
  const pass = (id: string) => (typeof passphrase === 'function' ? passphrase(id) : passphrase);
  const entries: StoreEntry[] = [];
  const taken = new Set<string>();
  for (const name of names) {
    const ext = extname(name).toLowerCase();
    if (ext === '.pfx' || ext === '.p12') {
      const id = basename(name, extname(name));
      if (taken.has(id)) throw optionError('directory', `has two credentials with id "${id}"`);
      taken.add(id);
      const passphraseValue = pass(id);
      entries.push({
        id,
        pfx: join(dir, name),
        ...(passphraseValue === undefined ? {} : { passphrase: passphraseValue }),
      });
    }
  }
  for (const name of names) {
    const lower = name.toLowerCase();
    if (lower.endsWith('.chain.pem') || PEM_KEY_SUFFIXES.some((s) => lower.endsWith(s))) continue;
    const suffix = PEM_CERT_SUFFIXES.find((s) => lower.endsWith(s));
    if (!suffix) continue;
    const id = name.slice(0, name.length - suffix.length);
    const keyName = PEM_KEY_SUFFIXES.map((s) => id + s).find((k) => names.includes(k));
    if (!keyName) continue; // a lone certificate (e.g. a CA bundle) is not a credential
    if (taken.has(id)) throw optionError('directory', `has two credentials with id "${id}"`);
    taken.add(id);
    const chainName = names.includes(`${id}.chain.pem`) ? join(dir, `${id}.chain.pem`) : undefined;
    const passphraseValue = pass(id);
    entries.push({
      id,
      cert: join(dir, name),
      key: join(dir, keyName),
      ...(chainName ? { chain: chainName } : {}),
      ...(passphraseValue === undefined ? {} : { passphrase: passphraseValue }),
    });
  }
  return entries;
}

class Store extends EventEmitter implements CredentialStore {
  readonly #live = new Map<string, LiveCredential>();

  constructor(options: CredentialStoreOptions) {
    super();
    const entries: StoreEntry[] = [];
    if (options.directory !== undefined) entries.push(...scanDirectory(options.directory, options.passphrase));
    for (const entry of options.credentials ?? []) {
      if (typeof entry?.id !== 'string' || entry.id === '')
        throw optionError('credentials', 'entries need a non-empty string id');
      entries.push(entry);
    }
    const watch: WatchOptions = {
      ...(options.watch === undefined ? {} : { watch: options.watch }),
      ...(options.watchInterval === undefined ? {} : { watchInterval: options.watchInterval }),
      ...(options.debounce === undefined ? {} : { debounce: options.debounce }),
      ...(options.warnBeforeExpiryDays === undefined ? {} : { warnBeforeExpiryDays: options.warnBeforeExpiryDays }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    };
    try {
      for (const entry of entries) {
        if (this.#live.has(entry.id)) throw optionError('credentials', `has two credentials with id "${entry.id}"`);
        const allowExpired = entry.allowExpired ?? options.allowExpired;
        const live = watchCredential({
          ...watch,
          ...entry,
          ...(allowExpired === undefined ? {} : { allowExpired }),
        } as StoreEntry & WatchOptions);
        live.on('rotate', (next: ClientCredential, previous: ClientCredential) => this.emit('rotate', next, previous));
        live.on('error', (error: Error) => {
          if (this.listenerCount('error') > 0) this.emit('error', error);
          else
            process.emitWarning(`${error.message}; keeping the previous certificate`, {
              code: 'CLIENTCERT_CREDENTIAL_RELOAD',
            });
        });
        live.on('warning', (message: string, credential: ClientCredential) =>
          this.emit('warning', message, credential),
        );
        this.#live.set(entry.id, live);
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #select(selector: CredentialSelector): LiveCredential | undefined {
    if (typeof selector !== 'object' || selector === null)
      throw optionError('selector', 'must be { id } or { thumbprint }');
    if (selector.id !== undefined) return this.#live.get(selector.id);
    if (selector.thumbprint !== undefined) {
      const wanted = normalizeThumbprint(selector.thumbprint);
      if (!wanted)
        throw optionError(
          'thumbprint',
          'must be 40 (SHA-1) or 64 (SHA-256) hex digits, with or without ":" separators',
        );
      for (const live of this.#live.values()) {
        const t = live.current.thumbprints;
        if (t.sha1.toLowerCase() === wanted || t.sha256 === wanted) return live;
      }
      return undefined;
    }
    throw optionError('selector', 'must be { id } or { thumbprint }');
  }

  live(selector: CredentialSelector): LiveCredential {
    const found = this.#select(selector);
    if (!found) throw notFound(selector, this.ids());
    return found;
  }

  find(selector: CredentialSelector): ClientCredential | undefined {
    return this.#select(selector)?.current;
  }

  get(selector: CredentialSelector): ClientCredential {
    return this.live(selector).current;
  }

  list(): ClientCredential[] {
    return [...this.#live.values()].map((l) => l.current);
  }

  ids(): string[] {
    return [...this.#live.keys()];
  }

  close(): void {
    for (const live of this.#live.values()) live.close();
  }
}

function notFound(selector: CredentialSelector, ids: string[]): Error {
  const what = selector.id !== undefined ? `id "${selector.id}"` : `thumbprint ${selector.thumbprint}`;
  return credentialError(
    'credential_not_found',
    `no credential with ${what} in the store (ids: ${ids.join(', ') || 'none'})`,
  );
}

/**
 * A set of client credentials from a directory and/or a list, each kept current by its own
 * watcher. Select by id (stable across rotation) or by thumbprint (one exact certificate).
 */
export function createCredentialStore(options: CredentialStoreOptions): CredentialStore {
  if (
    typeof options !== 'object' ||
    options === null ||
    (options.directory === undefined && options.credentials === undefined)
  ) {
    throw optionError('store', 'needs a directory or a credentials list');
  }
  return new Store(options);
}
