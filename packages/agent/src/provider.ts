import type { ClientCredential } from './credential.js';
import { optionError } from './errors.js';
import { isLiveCredential, type LiveCredential, type LiveCredentialOptions, watchCredential } from './rotation.js';
import type { CredentialSelector, CredentialStore } from './store.js';

/**
 * What a dispatcher or agent presents:
 * - a `ClientCredential` (fixed);
 * - a `LiveCredential` from `watchCredential` (follows rotation; the caller closes it);
 * - load options (`{ pfx, passphrase }` or `{ cert, key }`, plus watch options): loaded now,
 *   watched, and closed with the dispatcher;
 * - `{ store, id }`: follows rotation of that id; `{ store, thumbprint }`: that exact
 *   certificate, which does not change when the files are rotated (select by id to follow renewals).
 */
export type CredentialInput =
  | ClientCredential
  | LiveCredential
  | LiveCredentialOptions
  | ({ store: CredentialStore } & CredentialSelector);

/** The credential a connection should present now, and notice of rotations. */
export interface CredentialProvider {
  current(): ClientCredential;
  version(): number;
  onRotate(listener: () => void): void;
  close(): void;
}

function isCredential(value: object): value is ClientCredential {
  return typeof (value as ClientCredential).tlsOptions === 'function' && 'thumbprints' in value;
}

function fixed(credential: ClientCredential): CredentialProvider {
  return { current: () => credential, version: () => 0, onRotate: () => undefined, close: () => undefined };
}

function live(source: LiveCredential, owned: boolean): CredentialProvider {
  const listeners: Array<() => void> = [];
  const onRotate = () => {
    for (const l of listeners) l();
  };
  source.on('rotate', onRotate);
  return {
    current: () => source.current,
    version: () => source.version,
    onRotate: (listener) => {
      listeners.push(listener);
    },
    close: () => {
      source.off('rotate', onRotate);
      if (owned) source.close();
    },
  };
}

export function toProvider(input: CredentialInput): CredentialProvider {
  if (typeof input !== 'object' || input === null) {
    throw optionError(
      'credential',
      'must be a credential, a live credential, load options, or { store, id | thumbprint }',
    );
  }
  if (isLiveCredential(input)) return live(input, false);
  if (isCredential(input)) return fixed(input);
  if ('store' in input && input.store) {
    const { store } = input;
    if (input.id !== undefined) return live(store.live({ id: input.id }), false);
    if (input.thumbprint !== undefined) return fixed(store.get({ thumbprint: input.thumbprint }));
    throw optionError('credential', 'with a store needs an id or a thumbprint');
  }
  return live(watchCredential(input as LiveCredentialOptions), true);
}
