import { EventEmitter } from 'node:events';
import { type Stats, unwatchFile, watchFile } from 'node:fs';
import { type ClientCredential, type CredentialOptions, readClientCredential, reportWarnings } from './credential.js';
import { optionError } from './errors.js';

/** How a live credential follows its files and warns before expiry. */
export interface WatchOptions {
  /**
   * Re-load the credential when its files change. Default: true when it was loaded from files,
   * false (and meaningless) for in-memory content.
   */
  watch?: boolean;
  /** Polling interval of the file watcher in ms (fs.watchFile; survives atomic renames). Default 1000. */
  watchInterval?: number;
  /** Quiet time after the last change before re-loading, in ms, so cert and key can be replaced one after the other. Default 200. */
  debounce?: number;
  /** Warn this many days before notAfter. Default 14; 0 turns the warning off. */
  warnBeforeExpiryDays?: number;
  /**
   * Called with each warning: the coming expiry, and what a server would refuse in a certificate
   * loaded (its `warnings`). Default: `process.emitWarning(message, { code })`, code
   * `CLIENTCERT_CREDENTIAL_EXPIRING` (or `CLIENTCERT_CREDENTIAL_POLICY`).
   */
  onWarning?: (message: string, credential: ClientCredential) => void;
}

export type LiveCredentialOptions = CredentialOptions & WatchOptions;

/**
 * Events:
 * - `rotate` (next: ClientCredential, previous: ClientCredential): new files loaded and validated.
 * - `error` (error: ClientCertError): a reload failed; the previous credential stays in use.
 *   Without an `error` listener the failure is reported as a process warning instead of throwing.
 * - `warning` (message: string, credential): the certificate expires soon (or has expired), or a
 *   certificate loaded has something a server would refuse (`credential.warnings`, once per certificate).
 */
export interface LiveCredential extends EventEmitter {
  /** The credential in use now; changes on rotation. */
  readonly current: ClientCredential;
  /** Increments on every rotation. */
  readonly version: number;
  readonly id: string | undefined;
  /** Re-load now (what the watcher does on a change); returns whether the certificate changed. */
  reload(): boolean;
  /** Stop watching files and timers. */
  close(): void;
}

const DAY_MS = 86_400_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

class LiveCredentialImpl extends EventEmitter implements LiveCredential {
  #current: ClientCredential;
  #version = 0;
  #closed = false;
  #watched: string[] = [];
  #debounceTimer: NodeJS.Timeout | undefined;
  #warnTimer: NodeJS.Timeout | undefined;
  #warnedFor: string | undefined;
  #objectedTo: string | undefined;
  readonly #options: LiveCredentialOptions;
  readonly #listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    this.#schedule();
  };

  constructor(options: LiveCredentialOptions) {
    super();
    this.#options = options;
    for (const name of ['watchInterval', 'debounce', 'warnBeforeExpiryDays'] as const) {
      const value = options[name];
      if (value !== undefined && (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))) {
        throw optionError(name, 'must be a non-negative number');
      }
    }
    this.#current = readClientCredential(options);
    const watch = options.watch ?? this.#current.files.length > 0;
    if (watch) this.#watch(this.#current.files);
    // Next tick, so that `warning` listeners attached right after creation see the first checks.
    process.nextTick(() => {
      this.#reportObjections();
      this.#checkExpiry();
    });
  }

  get current(): ClientCredential {
    return this.#current;
  }
  get version(): number {
    return this.#version;
  }
  get id(): string | undefined {
    return this.#current.id;
  }

  #watch(files: readonly string[]): void {
    const interval = this.#options.watchInterval ?? 1000;
    for (const file of files) {
      if (this.#watched.includes(file)) continue;
      // persistent: false — a credential being watched never keeps the process alive.
      watchFile(file, { interval, persistent: false }, this.#listener);
      this.#watched.push(file);
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounceTimer);
    this.#debounceTimer = setTimeout(() => {
      this.#debounceTimer = undefined;
      this.reload();
    }, this.#options.debounce ?? 200);
    this.#debounceTimer.unref();
  }

  reload(): boolean {
    if (this.#closed) return false;
    let next: ClientCredential;
    try {
      next = readClientCredential(this.#options);
    } catch (error) {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else
        process.emitWarning(`${(error as Error).message}; keeping the previous certificate`, {
          code: 'CLIENTCERT_CREDENTIAL_RELOAD',
        });
      return false;
    }
    const previous = this.#current;
    if (next.thumbprints.sha256 === previous.thumbprints.sha256 && next.tlsOptions().key === previous.tlsOptions().key)
      return false;
    this.#current = next;
    this.#version += 1;
    this.#watch(next.files);
    this.emit('rotate', next, previous);
    this.#reportObjections();
    this.#checkExpiry();
    return true;
  }

  /** The current certificate's `warnings`, said once per certificate. */
  #reportObjections(): void {
    const credential = this.#current;
    if (this.#closed || this.#objectedTo === credential.thumbprints.sha256) return;
    this.#objectedTo = credential.thumbprints.sha256;
    for (const message of credential.warnings) this.#warn(message, credential, 'CLIENTCERT_CREDENTIAL_POLICY');
  }

  /** A warning as the `warning` event, and to `onWarning` (else as a process warning). */
  #warn(message: string, credential: ClientCredential, code: string): void {
    this.emit('warning', message, credential);
    reportWarnings([message], credential, this.#options.onWarning, code);
  }

  #checkExpiry(): void {
    clearTimeout(this.#warnTimer);
    this.#warnTimer = undefined;
    const days = this.#options.warnBeforeExpiryDays ?? 14;
    if (days <= 0 || this.#closed) return;
    const credential = this.#current;
    const now = Date.now();
    const warnAt = credential.notAfter.getTime() - days * DAY_MS;
    if (now >= warnAt) {
      if (this.#warnedFor === credential.thumbprints.sha256) return;
      this.#warnedFor = credential.thumbprints.sha256;
      const left = (credential.notAfter.getTime() - now) / DAY_MS;
      const where = credential.id === undefined ? credential.origin : `"${credential.id}" (${credential.origin})`;
      const message =
        left <= 0
          ? `client certificate ${where}, ${credential.subject}, thumbprint ${credential.thumbprints.sha1}, expired on ${credential.notAfter.toISOString()}`
          : `client certificate ${where}, ${credential.subject}, thumbprint ${credential.thumbprints.sha1}, expires in ${left < 1 ? 'less than a day' : `${Math.ceil(left)} day${Math.ceil(left) === 1 ? '' : 's'}`} (${credential.notAfter.toISOString()})`;
      this.#warn(message, credential, 'CLIENTCERT_CREDENTIAL_EXPIRING');
      return;
    }
    this.#warnTimer = setTimeout(() => this.#checkExpiry(), Math.min(warnAt - now, MAX_TIMER_MS));
    this.#warnTimer.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#debounceTimer);
    clearTimeout(this.#warnTimer);
    for (const file of this.#watched) unwatchFile(file, this.#listener);
    this.#watched = [];
  }
}

/**
 * Load a credential and keep it current: when its files change it is re-loaded and validated;
 * a valid new certificate replaces the old one (`rotate`), an invalid one is reported (`error`)
 * and the old one stays. Warns `warnBeforeExpiryDays` before expiry.
 */
export function watchCredential(options: LiveCredentialOptions): LiveCredential {
  return new LiveCredentialImpl(options);
}

export function isLiveCredential(value: unknown): value is LiveCredential {
  return value instanceof LiveCredentialImpl;
}
