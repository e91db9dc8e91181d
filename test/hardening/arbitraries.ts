/**
 * fast-check arbitraries and settings shared by the hardening property tests. Every property runs
 * with a fixed seed (override with HARDENING_SEED to explore), so a failure is reproducible from
 * the seed and path fast-check prints.
 */

import { expect } from 'chai';
import fc from 'fast-check';
import { isClientCertError } from '../../packages/core/src/errors.js';

const seedFromEnv = Number(process.env.HARDENING_SEED);
/** Fixed unless HARDENING_SEED says otherwise. */
export const SEED = Number.isInteger(seedFromEnv) ? seedFromEnv : 0x5eed_c0de;

/** Property settings: small, seeded runs (the whole hardening suite must stay fast on 2 cores). */
export function runs(numRuns: number): fc.Parameters<unknown> {
  return { numRuns, seed: SEED, endOnFailure: true };
}

/**
 * Pieces that hit every branch of the header grammars: delimiters, escapes, keys, percent
 * escapes (valid, truncated, of controls and of UTF-8), PEM armour, base64, controls, non-ASCII,
 * lone surrogates and prototype-ish names.
 */
export const HOSTILE_PIECES: readonly string[] = [
  '"',
  '\\',
  '\\"',
  '\\\\',
  ';',
  ',',
  '=',
  ' ',
  '\t',
  ', ',
  ':',
  '(',
  ')',
  '+',
  '/',
  '%',
  '%2',
  '%22',
  '%3B',
  '%2C',
  '%0A',
  '%00',
  '%C3%A9',
  '%FF',
  '%ZZ',
  'a',
  'Z',
  '0',
  'By',
  'Hash',
  'Cert',
  'Chain',
  'Subject',
  'Issuer',
  'URI',
  'DNS',
  'By=',
  'Cert="',
  'Hash=',
  'URI=;',
  '__proto__',
  'constructor',
  'é',
  '\u00a0',
  '😀',
  '\ud800',
  '\udc00',
  '\x00',
  '\r',
  '\n',
  '\r\n',
  '\x7f',
  '\x1b',
  '-----BEGIN CERTIFICATE-----',
  '-----END CERTIFICATE-----',
  '-----BEGIN ',
  '-----',
  'MII',
  'MIIB',
  'AAAA',
  '==',
  '=A',
  '(null)',
  '{http.request.tls.client.certificate_der_base64}',
  'Subject="',
  'NB="',
  'SerialNumber="',
  'SAN="',
];

/** Strings assembled from hostile pieces and arbitrary characters. */
export function hostileString(maxPieces = 40): fc.Arbitrary<string> {
  return fc
    .array(
      fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_PIECES) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
      ),
      { maxLength: maxPieces },
    )
    .map((pieces) => pieces.join(''));
}

/** A valid value with random damage: pieces inserted, a range deleted or duplicated. */
export function mutated(valid: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: hostileString(3) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  );
  return fc.tuple(fc.constantFrom(...valid), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([start, edits]) => {
    let text = start;
    for (const e of edits) {
      const at = text.length === 0 ? 0 : e.at % (text.length + 1);
      if (e.kind === 'insert') text = text.slice(0, at) + e.text + text.slice(at);
      else if (e.kind === 'delete') text = text.slice(0, at) + text.slice(at + e.length);
      else text = text.slice(0, at) + text.slice(at, at + e.length) + text.slice(at);
    }
    return text;
  });
}

/**
 * Runs `fn` and returns its result, or checks that what it threw is the core's typed error with
 * one of `codes` (never a TypeError, RangeError or anything else) and returns undefined.
 */
export function resultOrTypedError<T>(fn: () => T, codes: readonly string[]): T | undefined {
  try {
    return fn();
  } catch (error) {
    expect(isClientCertError(error), `not a ClientCertError: ${String(error)}`).to.equal(true);
    expect(codes, (error as Error).message).to.include((error as { code: string }).code);
    return undefined;
  }
}

/**
 * Random DER-shaped bytes: nested TLVs with the tags certificates use, so that random input gets
 * past the outer framing checks and into the structure walkers.
 */
export const derLike: fc.Arbitrary<Uint8Array> = fc.letrec<{ tlv: Uint8Array }>((tie) => ({
  tlv: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .tuple(
        fc.constantFrom(
          0x01,
          0x02,
          0x03,
          0x04,
          0x05,
          0x06,
          0x0c,
          0x13,
          0x14,
          0x16,
          0x17,
          0x18,
          0x1c,
          0x1e,
          0x80,
          0x81,
          0x82,
          0x86,
          0x87,
        ),
        fc.uint8Array({ maxLength: 12 }),
      )
      .map(([tag, body]) => tlv(tag, body)),
    fc
      .tuple(fc.constantFrom(0x30, 0x31, 0xa0, 0xa3, 0xa1, 0xa2), fc.array(tie('tlv'), { maxLength: 4 }))
      .map(([tag, children]) => tlv(tag, concat(children))),
  ),
})).tlv;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts.map((p) => Buffer.from(p)));
}

function tlv(tag: number, body: Uint8Array): Uint8Array {
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), Buffer.from(body)]);
}
