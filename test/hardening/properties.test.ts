/**
 * Property-based tests (fast-check, fixed seed) for everything that reads attacker-controlled
 * text or bytes: XFCC parse/format, every forwarded-header decoder, the certificate parser. Each
 * property says: any input yields a result or the core's typed error with its stable code —
 * nothing else — and encodings round-trip. Work per character is asserted by counting (see
 * work-counter.ts), never by timing.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import {
  type CompiledHeaderSource,
  type CustomHeaderDecoder,
  compileHeaderSource,
  type HeaderSourceOptions,
  parseTraefikInfo,
  readHeaderSource,
} from '../../packages/core/src/sources/headers.js';
import { formatXfcc, parseXfcc, type XfccElement } from '../../packages/core/src/sources/xfcc.js';
import { createCA, envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { derToPem, parseCertificate, pemToDer, splitCertificates } from '../../packages/core/src/x509/certificate.js';
import { albEscape, apacheFold, b64, nginxEscape } from '../helpers/encodings.js';
import { derLike, hostileString, mutated, resultOrTypedError, runs } from './arbitraries.js';
import { countWork } from './work-counter.js';

const XFCC_ERROR = ['xfcc_malformed'];
const HEADER_ERROR = ['forwarded_header_malformed'];
const CERT_ERROR = ['certificate_malformed'];

/** Certificates for round trips and mutations: an RSA and an ECDSA leaf, an intermediate. */
let pool: TestCertificate[] = [];
let validXfcc: string[] = [];

before(async function () {
  this.timeout(30_000);
  const root = await createCA({ subject: 'CN=Property Root' });
  const intermediate = await root.intermediate({ subject: 'CN=Property Issuing CA' });
  const [ec, rsa, deep] = await Promise.all([
    root.issue({ subject: 'CN=alice,O=Acme\\, Inc.', san: { dns: ['a.example'], uri: ['spiffe://example.org/a'] } }),
    root.issue({ subject: 'CN=bob', keyType: 'rsa' }),
    intermediate.issue({ subject: 'CN=carol' }),
  ]);
  pool = [ec, rsa, deep, intermediate];
  validXfcc = [
    envoyXfcc(ec, { by: ['spiffe://example.org/gw'] }),
    envoyXfcc(deep),
    envoyXfcc(rsa, { appendTo: envoyXfcc(ec) }),
    'By=spiffe://x;Hash=abc;Subject="CN=a\\,b";URI=;DNS=example.com',
  ];
});

// ---------------------------------------------------------------------------------------------
// XFCC

/** Strings parse never rejects for their characters (no C0 control but HTAB, no DEL). */
const fieldText = fc
  .string({ unit: 'grapheme', maxLength: 12 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replaces the control characters XFCC values cannot hold
  .map((s) => s.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '?'));
const nonEmptyField = fieldText.filter((s) => s !== '');
/** Keys that formatXfcc writes as extra keys: lower-case tokens that are not XFCC's own keys. */
const extraKey = fc
  .stringMatching(/^[a-z0-9!#$&'*+.^_`|~-]{1,8}$/)
  .filter((k) => !['by', 'hash', 'cert', 'chain', 'subject', 'issuer', 'uri', 'dns'].includes(k));

function elementArbitrary(): fc.Arbitrary<XfccElement> {
  const pem = fc.constantFrom(...pool.map((c) => c.cert));
  return fc
    .record(
      {
        by: fc.array(nonEmptyField, { maxLength: 2 }),
        hash: fc.option(nonEmptyField, { nil: undefined }),
        // A certificate comes back as canonical PEM; any other text comes back as itself.
        cert: fc.option(fc.oneof(pem, fc.string({ unit: 'grapheme', maxLength: 16 })), { nil: undefined }),
        chain: fc.array(pem, { maxLength: 3 }),
        subject: fc.option(fieldText, { nil: undefined }),
        issuer: fc.option(fieldText, { nil: undefined }),
        uri: fc.array(nonEmptyField, { maxLength: 2 }),
        dns: fc.array(nonEmptyField, { maxLength: 2 }),
        extra: fc.array(
          fc.tuple(fc.oneof(extraKey, fc.constant('__proto__')), fc.array(fieldText, { minLength: 1, maxLength: 2 })),
          { maxLength: 2 },
        ),
      },
      { requiredKeys: ['by', 'chain', 'uri', 'dns', 'extra'] },
    )
    .map((raw) => {
      const extra = Object.create(null) as Record<string, string[]>;
      for (const [key, values] of raw.extra) extra[key] = [...(extra[key] ?? []), ...values];
      const element: XfccElement = { by: raw.by, chain: raw.chain, uri: raw.uri, dns: raw.dns, extra };
      if (raw.hash !== undefined) element.hash = raw.hash;
      if (raw.cert !== undefined && !raw.cert.includes('-----')) element.cert = raw.cert;
      if (raw.subject !== undefined) element.subject = raw.subject;
      if (raw.issuer !== undefined) element.issuer = raw.issuer;
      return element;
    });
}

/** Elements as plain data (no null prototype) for a deep comparison. */
const plain = (elements: readonly XfccElement[]): unknown => JSON.parse(JSON.stringify(elements));

describe('hardening properties: XFCC', () => {
  it('formatXfcc then parseXfcc gives the same elements', () => {
    fc.assert(
      fc.property(fc.array(elementArbitrary(), { maxLength: 5 }), (elements) => {
        const parsed = parseXfcc(formatXfcc(elements));
        expect(plain(parsed)).to.deep.equal(plain(elements));
      }),
      runs(300),
    );
  });

  it('any string gives elements or xfcc_malformed, and what parses re-formats to the same elements', () => {
    const input = fc.oneof(hostileString(), mutated(validXfcc), fc.string({ unit: 'binary', maxLength: 80 }));
    fc.assert(
      fc.property(input, (value) => {
        const elements = resultOrTypedError(() => parseXfcc(value), XFCC_ERROR);
        if (elements === undefined) return;
        expect(elements).to.be.an('array');
        // formatXfcc may refuse (e.g. a control character decoded from %0A), but only with the typed error.
        const again = resultOrTypedError(() => parseXfcc(formatXfcc(elements)), XFCC_ERROR);
        if (again !== undefined) expect(plain(again)).to.deep.equal(plain(elements));
      }),
      runs(400),
    );
  });

  it('a non-string value gives xfcc_malformed, not a TypeError', () => {
    for (const value of [undefined, null, 42, {}, ['Hash=a'], Buffer.from('Hash=a')]) {
      expect(() => parseXfcc(value as unknown as string))
        .to.throw()
        .with.property('code', 'xfcc_malformed');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Header decoders

/** Every decoder, configured so that each of its headers (chain, verify) is read. */
const SOURCES: ReadonlyArray<{ name: string; options: HeaderSourceOptions }> = [
  { name: 'rfc9440', options: { source: 'rfc9440' } },
  { name: 'traefik', options: { source: 'traefik' } },
  { name: 'url-pem', options: { source: 'url-pem', verifyHeader: 'ssl-client-verify' } },
  {
    name: 'base64-der',
    options: {
      source: 'base64-der',
      chainHeader: 'x-client-chain',
      verifyHeader: { name: 'x-verify', success: ['0'] },
    },
  },
  { name: 'aws-alb passthrough', options: { source: 'aws-alb' } },
  { name: 'aws-alb verify', options: { source: 'aws-alb', mode: 'verify' } },
  { name: 'custom (hex)', options: { header: 'x-hex', decode: (v: string) => Buffer.from(v, 'hex') } },
];

/** How each source's proxy writes a leaf and its chain, for the positive round trip. */
function encode(
  source: CompiledHeaderSource,
  leaf: TestCertificate,
  chain: readonly TestCertificate[],
  variant: number,
): Record<string, string> {
  const h = source.header;
  switch (source.source) {
    case 'rfc9440':
      return chain.length
        ? { [h]: `:${b64(leaf.der)}:`, [source.chainHeader!]: chain.map((c) => `:${b64(c.der)}:`).join(', ') }
        : { [h]: `:${b64(leaf.der)}:` };
    case 'traefik':
      return { [h]: [leaf, ...chain].map((c) => b64(c.der)).join(',') };
    case 'url-pem':
      return { [h]: variant % 2 ? nginxEscape(leaf.cert) : apacheFold(leaf.cert) };
    case 'base64-der':
      return chain.length
        ? { [h]: b64(leaf.der), [source.chainHeader!]: b64(Buffer.concat(chain.map((c) => c.der))) }
        : { [h]: b64(leaf.der) };
    case 'aws-alb':
      return { [h]: albEscape(source.mode === 'verify' ? leaf.cert : [leaf, ...chain].map((c) => c.cert).join('')) };
    case 'custom':
      return { [h]: leaf.der.toString('hex') };
  }
}

/** What a source can carry besides the leaf. */
const carriesChain = (s: CompiledHeaderSource): boolean =>
  s.source === 'rfc9440' ||
  s.source === 'traefik' ||
  s.source === 'base64-der' ||
  (s.source === 'aws-alb' && s.mode === 'passthrough');

describe('hardening properties: forwarded-header decoders', () => {
  for (const { name, options } of SOURCES) {
    describe(name, () => {
      it('decodes what its proxy writes back to the same DER (leaf and chain)', () => {
        const source = compileHeaderSource(options);
        const cert = fc.constantFrom(...pool);
        fc.assert(
          fc.property(cert, fc.array(cert, { maxLength: 3 }), fc.nat(), (leaf, chain, variant) => {
            const sent = carriesChain(source) ? chain.filter((c) => c !== leaf) : [];
            const result = readHeaderSource(source, encode(source, leaf, sent, variant));
            expect(result?.leaf.equals(leaf.der)).to.equal(true);
            expect(result!.chain.map((d) => d.toString('hex'))).to.deep.equal(sent.map((c) => c.der.toString('hex')));
          }),
          runs(60),
        );
      });

      it('any header values give a certificate, nothing, or forwarded_header_malformed', () => {
        const source = compileHeaderSource(options);
        const valid = pool.map((c, i) => encode(source, c, [], i)[source.header]!);
        const value = fc.oneof(hostileString(), mutated(valid), fc.string({ unit: 'binary', maxLength: 60 }));
        const headers = fc
          .record({
            main: value,
            other: fc.option(value, { nil: undefined }),
            asArray: fc.boolean(),
          })
          .map(({ main, other, asArray }) => {
            const h: Record<string, string | string[]> = { [source.header]: asArray ? [main, main] : main };
            for (const extra of source.headers.slice(1)) if (other !== undefined) h[extra] = other;
            return h;
          });
        fc.assert(
          fc.property(headers, (h) => {
            const result = resultOrTypedError(() => readHeaderSource(source, h), HEADER_ERROR);
            if (result === undefined) return;
            // The decoder's contract: one DER SEQUENCE spanning the leaf, the leaf never in the chain.
            expect(result.leaf[0]).to.equal(0x30);
            expect(result.chain.some((d) => d.equals(result.leaf))).to.equal(false);
          }),
          runs(250),
        );
      });
    });
  }

  it('custom: whatever the decoder returns or throws gives a certificate, nothing, or forwarded_header_malformed', () => {
    const returned = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.constant([]),
      fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
      derLike.map((b) => Buffer.from(b)),
      fc.array(derLike, { maxLength: 14 }),
      fc.constantFrom<unknown>('a string', 42, {}, [Buffer.alloc(0), 'x'], new Error('boom'), Symbol('s')),
    );
    fc.assert(
      fc.property(returned, fc.boolean(), (value, throwIt) => {
        const decode = ((): unknown => {
          if (throwIt) throw value;
          return value;
        }) as unknown as CustomHeaderDecoder;
        const source = compileHeaderSource({ header: 'x-custom', decode });
        const result = resultOrTypedError(() => readHeaderSource(source, { 'x-custom': 'anything' }), HEADER_ERROR);
        if (result !== undefined) expect(result.leaf[0]).to.equal(0x30);
      }),
      runs(250),
    );
  });

  it('traefik -Info: any value gives entries or forwarded_header_malformed', () => {
    const valid = [
      'Subject%3D%22CN%3Dalice%22%3BSerialNumber%3D%2212345%22%3BNB%3D%221700000000%22%3BSAN%3D%22a.example%22',
    ];
    fc.assert(
      fc.property(fc.oneof(hostileString(), mutated(valid)), (value) => {
        const entries = resultOrTypedError(() => parseTraefikInfo(value), HEADER_ERROR);
        if (entries !== undefined) expect(entries).to.be.an('array');
      }),
      runs(300),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Certificates

describe('hardening properties: certificate parser', () => {
  it('arbitrary bytes and DER-shaped bytes give a certificate or certificate_malformed', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 200 }), derLike);
    fc.assert(
      fc.property(bytes, (b) => {
        resultOrTypedError(() => parseCertificate(Buffer.from(b)), CERT_ERROR);
      }),
      runs(300),
    );
  });

  it('a damaged real certificate (bytes flipped, cut, appended, spliced) gives a certificate or certificate_malformed', () => {
    const damage = fc.record({
      which: fc.nat(),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 4 }),
      splice: fc.option(fc.tuple(fc.nat(), derLike), { nil: undefined }),
    });
    fc.assert(
      fc.property(damage, ({ which, flips, cut, tail, splice }) => {
        let der = Buffer.from(pool[which % pool.length]!.der);
        for (const [at, xor] of flips) der[at % der.length]! ^= xor;
        if (splice) {
          const at = splice[0] % der.length;
          der = Buffer.concat([der.subarray(0, at), Buffer.from(splice[1]), der.subarray(at + splice[1].length)]);
        }
        if (cut !== undefined) der = der.subarray(0, cut % (der.length + 1));
        der = Buffer.concat([der, Buffer.from(tail)]);
        const parsed = resultOrTypedError(() => parseCertificate(der), CERT_ERROR);
        // Anything that parses was one exact DER certificate: no silently ignored trailing bytes.
        if (parsed !== undefined) expect(parsed.raw.length).to.equal(der.length);
      }),
      runs(300),
    );
  });

  it('PEM text readers: any string gives DER or certificate_malformed', () => {
    const valid = pool.map((c) => c.cert);
    fc.assert(
      fc.property(fc.oneof(hostileString(), mutated(valid)), (text) => {
        resultOrTypedError(() => pemToDer(text), CERT_ERROR);
        resultOrTypedError(() => splitCertificates(text), CERT_ERROR);
        resultOrTypedError(() => parseCertificate(text), CERT_ERROR);
      }),
      runs(300),
    );
  });

  it('derToPem then pemToDer is the identity', () => {
    fc.assert(
      fc.property(fc.constantFrom(...pool), (c) => {
        expect(pemToDer(derToPem(c.der)).equals(c.der)).to.equal(true);
      }),
      runs(10),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Work per character, counted

/**
 * Characters touched per input character (see work-counter.ts). Linear scanners measure 2–8 here;
 * 16 leaves room for harmless changes while any rescanning (quadratic) scanner, at 64K characters,
 * would measure in the thousands.
 */
const WORK_PER_CHARACTER = 16;
/** Long enough that quadratic work is thousands of times the length. */
const LONG = 60_000;

/** Runs of one piece after a prefix that puts the scanner in each state (in a key, a bare value, a quoted value...). */
const RUN_PIECES = [
  '"',
  '\\',
  '\\"',
  ';',
  ',',
  '=',
  ' ',
  'a=',
  'a="',
  'a="\\',
  'a=b,',
  'By=x;',
  'a="";',
  '%',
  '%2',
  ':',
  ':A',
  'A',
  'AAA=',
  '+',
  'MII,',
  '-----BEGIN CERTIFICATE-----',
  '-----END CERTIFICATE-----',
  '-----BEGIN ',
  '\n',
];
const RUN_PREFIXES = ['', 'a=', 'Cert="', 'x=";', ':', '-----BEGIN CERTIFICATE-----\n', 'MIIB'];

function runOf(prefix: string, piece: string, length: number): string {
  return (prefix + piece.repeat(Math.ceil(length / piece.length))).slice(0, length);
}

/** The largest work per character over every run, and the input that caused it. */
function worstRatio(scan: (value: string) => unknown, length: number): { ratio: number; input: string } {
  let worst = { ratio: 0, input: '' };
  for (const prefix of RUN_PREFIXES) {
    for (const piece of RUN_PIECES) {
      const value = runOf(prefix, piece, length);
      const ratio = countWork(() => scan(value)).work / value.length;
      if (ratio > worst.ratio) worst = { ratio, input: `${JSON.stringify(prefix)} + ${JSON.stringify(piece)}…` };
    }
  }
  return worst;
}

const SCANNERS: ReadonlyArray<{ name: string; scan: (value: string) => unknown; limit?: number }> = [
  { name: 'parseXfcc', scan: (v) => parseXfcc(v, { maxLength: LONG }) },
  ...SOURCES.filter((s) => s.name !== 'custom (hex)').map(({ name, options }) => {
    const source = compileHeaderSource({ ...options, limits: { maxLength: LONG } } as HeaderSourceOptions);
    return {
      name: `readHeaderSource ${name}`,
      scan: (v: string) => readHeaderSource(source, Object.fromEntries(source.headers.map((h) => [h, v]))),
    };
  }),
  { name: 'parseTraefikInfo', scan: (v) => parseTraefikInfo(v, { maxLength: LONG }) },
  { name: 'splitCertificates (PEM text)', scan: (v) => splitCertificates(v) },
];

describe('hardening: work per character is bounded (counted)', () => {
  for (const { name, scan } of SCANNERS) {
    it(`${name}: ≤ ${WORK_PER_CHARACTER} characters touched per input character on adversarial runs`, () => {
      const worst = worstRatio((v) => {
        try {
          return scan(v);
        } catch {
          return undefined;
        }
      }, LONG);
      expect(worst.ratio, `worst input ${worst.input}`).to.be.at.most(WORK_PER_CHARACTER);
    });
  }

  it('parseXfcc: random hostile inputs, repeated to 20K characters, stay within the bound', () => {
    fc.assert(
      fc.property(
        hostileString(8).filter((s) => s.length > 0),
        (piece) => {
          const value = runOf('', piece, 20_000);
          const { work } = countWork(() => parseXfcc(value, { maxLength: 20_000 }));
          expect(work / value.length).to.be.at.most(WORK_PER_CHARACTER);
        },
      ),
      runs(40),
    );
  });

  it('the counter does catch a quadratic scanner (self-check)', () => {
    // An indexOf from every position to a missing needle: the shape of a rescanning bug.
    const quadratic = (v: string): void => {
      for (let i = 0; i < v.length; i++) if (v.indexOf('"', i) >= 0) return;
    };
    const value = 'a'.repeat(5_000);
    expect(countWork(() => quadratic(value)).work / value.length).to.be.above(1_000);
  });
});
