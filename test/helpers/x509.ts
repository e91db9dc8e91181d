/**
 * @peculiar/x509 for what the test kit does not make (a second certificate for an existing key,
 * multi-valued RDNs, an SPKI hash from a second implementation). It is a dependency of
 * packages/core only, so it is loaded from there, after its reflect-metadata polyfill, with
 * WebCrypto as its provider.
 */
import { webcrypto } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509Lib from '../../packages/core/node_modules/@peculiar/x509/build/index.js';

const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url));
requireFromCore('reflect-metadata');
export const x509 = requireFromCore('@peculiar/x509') as typeof X509Lib;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
