export { ClientCertError, isClientCertError } from '@clientcert/core';
export type {
  ClientCredential,
  CredentialCommonOptions,
  CredentialOptions,
  CredentialTlsOptions,
  PemCredentialOptions,
  PfxCredentialOptions,
} from './credential.js';
export { daysUntilExpiry, loadClientCredential } from './credential.js';
export type { BackendTlsOptions, DispatcherOptions, HttpsAgentOptions } from './dispatcher.js';
export { ClientCertDispatcher, ClientCertHttpsAgent, createDispatcher, createHttpsAgent } from './dispatcher.js';
export type { CredentialErrorCode } from './errors.js';
export type { CredentialInput } from './provider.js';
export type { LiveCredential, LiveCredentialOptions, WatchOptions } from './rotation.js';
export { watchCredential } from './rotation.js';
export type { CredentialSelector, CredentialStore, CredentialStoreOptions, StoreEntry } from './store.js';
export { createCredentialStore, normalizeThumbprint } from './store.js';
