/**
 * Which XFCC element describes the client, its leaf (`Cert`, else the first of `Chain`), and the
 * `Hash` check against that leaf.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { invalidOption } from '../errors.js';
import { malformed, type XfccElement, type XfccElementPolicy } from './xfcc.js';

/**
 * Picks the element to authenticate. `last` (default) is the element written by the proxy
 * nearest the application, the only one a sanitizing edge proxy or an Istio sidecar vouches for;
 * `first` is the earliest hop (Envoy's own `%XFCC_VALUE%` choice); `only` insists on exactly one
 * element (e.g. `SANITIZE_SET` at a single edge) and throws `xfcc_malformed` on more.
 * Returns `undefined` when there are no elements.
 */
export function selectXfccElement(
  elements: readonly XfccElement[],
  policy: XfccElementPolicy = 'last',
): XfccElement | undefined {
  switch (policy) {
    case 'last':
      return elements[elements.length - 1];
    case 'first':
      return elements[0];
    case 'only':
      if (elements.length > 1) throw malformed(`expected one element, found ${elements.length}`);
      return elements[0];
    default:
      throw invalidOption('xfcc element policy', "must be 'last', 'first' or 'only'");
  }
}

/**
 * The element's client certificate (PEM): `Cert`, else the first certificate of `Chain` — Envoy
 * writes `Chain` as the leaf followed by what the client sent after it, and with
 * `set_current_client_cert_details: { chain: true }` alone it writes no `Cert`. Undefined when the
 * element has neither (Envoy's default details: `By` and `Hash` only). An empty `Cert=""` is no
 * certificate, as before `Chain` was read.
 */
export function xfccLeaf(element: XfccElement): string | undefined {
  return element.cert || element.chain[0];
}

/**
 * True when the element has no `Hash`, or when its `Hash` is the SHA-256 of `certDer` in hex
 * (compared case-insensitively and in constant time). A fake or malformed hash is simply false.
 * `certDer` is the leaf, whichever pair it came from (`xfccLeaf`).
 */
export function xfccHashMatches(element: XfccElement, certDer: Buffer): boolean {
  if (element.hash === undefined) return true;
  if (!isHex64(element.hash)) return false; // fake (`123456`), truncated or non-ASCII: no match
  const expected = Buffer.from(createHash('sha256').update(certDer).digest('hex'), 'ascii');
  const actual = Buffer.from(element.hash.toLowerCase(), 'ascii');
  return timingSafeEqual(actual, expected); // both exactly 64 ASCII bytes here
}

function isHex64(value: string): boolean {
  if (value.length !== 64) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i) | 0x20; // ASCII lower-case fold
    if (!((code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66))) return false;
  }
  return true;
}
