/**
 * The adversarial corpus: hostile forwarded headers and odd certificates, each with the one
 * answer it must get over real HTTP. corpus.test.ts runs every row on every adapter from the
 * trusted proxy (127.0.0.1), so each row tests the parser and the decision, not the trust check.
 */
import { createHash } from 'node:crypto';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import {
  createCA,
  envoyUrlEncode,
  envoyXfcc,
  generateKeyPair,
  type TestCA,
  type TestCertificate,
} from '../../packages/core/src/testkit/index.js';
import { pem } from '../../packages/core/src/testkit/shared.js';
import { b64 } from '../helpers/encodings.js';

export interface CorpusCerts {
  root: TestCA;
  alice: TestCertificate;
  bob: TestCertificate;
  mallory: TestCertificate;
  hugeSerial: TestCertificate;
  /** DER whose serial is the negative INTEGER 0xFF01 (patched: the test kit will not issue one). */
  negativeSerial: Buffer;
  bmpName: TestCertificate;
  universalName: TestCertificate;
  /** DER with the CN re-tagged as TeletexString holding bytes 0xC0-0xFF (signature broken: trust it by pin). */
  teletexHighBytes: Buffer;
  /** DER whose BMPString CN holds a lone surrogate. */
  badBmp: Buffer;
  /** A leaf under two CAs that certify each other (A→B→A…), none of them trusted. */
  cyclicLeaf: TestCertificate;
  cyclicChain: string[];
  /** A leaf nine intermediates below the root (deeper than path building goes). */
  deepLeaf: TestCertificate;
  deepChain: string[];
}

/** Replaces the first `from` byte run in `der` (same length), to re-tag or corrupt a name string. */
function patch(der: Buffer, from: Buffer, to: Buffer): Buffer {
  const at = der.indexOf(from);
  if (at < 0 || from.length !== to.length) throw new Error('patch target not found');
  return Buffer.concat([der.subarray(0, at), to, der.subarray(at + to.length)]);
}

export async function createCorpusCerts(): Promise<CorpusCerts> {
  const root = await createCA({ subject: 'CN=Corpus Root' });
  const otherRoot = await createCA({ subject: 'CN=Corpus Elsewhere' });
  const [alice, bob, mallory, hugeSerial, positiveSerial, bmpName, universalName, teletex, bmpToBreak] =
    await Promise.all([
      root.issue({ subject: 'CN=alice' }),
      root.issue({ subject: 'CN=bob' }),
      otherRoot.issue({ subject: 'CN=mallory' }),
      root.issue({ subject: 'CN=huge serial', serialNumber: `7f${'ab'.repeat(63)}` }),
      root.issue({ subject: 'CN=negative serial', serialNumber: '7f01' }),
      root.issue({ subject: [{ '2.5.4.3': [{ bmpString: 'Bmp Ωmega ü' }] }] }),
      root.issue({ subject: [{ '2.5.4.3': [{ universalString: 'Univ' }] }] }),
      root.issue({ subject: [{ '2.5.4.3': [{ printableString: 'TTTTTTTT' }] }] }),
      root.issue({ subject: [{ '2.5.4.3': [{ bmpString: 'AB' }] }] }),
    ]);
  const teletexHighBytes = patch(
    teletex.der,
    Buffer.from([0x13, 0x08, ...Buffer.from('TTTTTTTT')]),
    Buffer.from([0x14, 0x08, 0xc0, 0xc9, 0xd6, 0xe9, 0xf1, 0xfc, 0xfe, 0xff]),
  );
  const negativeSerial = patch(
    positiveSerial.der,
    Buffer.from([0x02, 0x02, 0x7f, 0x01]),
    Buffer.from([0x02, 0x02, 0xff, 0x01]),
  );
  const badBmp = patch(
    bmpToBreak.der,
    Buffer.from([0x1e, 0x04, 0x00, 0x41, 0x00, 0x42]),
    Buffer.from([0x1e, 0x04, 0xd8, 0x00, 0x00, 0x42]),
  );

  // Two CAs that certify each other: path building must stop, not loop.
  const [keyA, keyB] = await Promise.all([generateKeyPair(), generateKeyPair()]);
  const caA = await createCA({ subject: 'CN=Cycle A', keyPair: keyA });
  const caB = await createCA({ subject: 'CN=Cycle B', keyPair: keyB });
  const bByA = await caA.intermediate({ subject: 'CN=Cycle B', keyPair: keyB });
  const aByB = await caB.intermediate({ subject: 'CN=Cycle A', keyPair: keyA });
  const cyclicLeaf = await bByA.issue({ subject: 'CN=cyclic' });

  let issuer: TestCA = root;
  const deepChain: string[] = [];
  for (let depth = 1; depth <= 9; depth++) {
    issuer = await issuer.intermediate({ subject: `CN=Depth ${depth}` });
    deepChain.unshift(issuer.cert);
  }
  const deepLeaf = await issuer.issue({ subject: 'CN=deep' });

  return {
    root,
    alice,
    bob,
    mallory,
    hugeSerial,
    negativeSerial,
    bmpName,
    universalName,
    teletexHighBytes,
    badBmp,
    cyclicLeaf,
    cyclicChain: [bByA.cert, aByB.cert, bByA.cert, aByB.cert],
    deepLeaf,
    deepChain,
  };
}

export type Expected = { status: number; code: string } | { status: 200; sha256: (c: CorpusCerts) => string };

export interface CorpusRow {
  name: string;
  /** Default: `ca` = the corpus root, trustProxy 127.0.0.1, source auto (XFCC over HTTP). */
  options?: (c: CorpusCerts) => ClientCertOptions;
  /** Header values; an array is sent as separate header lines. */
  headers: (c: CorpusCerts) => Record<string, string | string[]>;
  expect: Expected;
}

const malformed: Expected = { status: 403, code: 'client_certificate_malformed' };
const untrusted: Expected = { status: 403, code: 'client_certificate_untrusted' };
const required: Expected = { status: 403, code: 'client_certificate_required' };
const admitted = (pick: (c: CorpusCerts) => TestCertificate | Buffer): Expected => ({
  status: 200,
  sha256: (c) => {
    const picked = pick(c);
    return Buffer.isBuffer(picked) ? sha256Hex(picked) : picked.sha256;
  },
});

const sha256Hex = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

const xfcc = (value: (c: CorpusCerts) => string | string[]) => (c: CorpusCerts) => ({
  'x-forwarded-client-cert': value(c),
});
const certPair = (t: TestCertificate): string => `Cert="${envoyUrlEncode(t.cert)}"`;
const pinned =
  (pick: (c: CorpusCerts) => Buffer) =>
  (c: CorpusCerts): ClientCertOptions => ({ trustProxy: '127.0.0.1', pins: `sha256:${sha256Hex(pick(c))}` });
const rfc9440 = (c: CorpusCerts): ClientCertOptions => ({
  ca: c.root.cert,
  trustProxy: '127.0.0.1',
  source: 'rfc9440',
});

export const CORPUS: CorpusRow[] = [
  // XFCC injection
  {
    name: 'XFCC quote injection: a second Cert after a closing quote → malformed',
    headers: xfcc((c) => `Hash=${c.alice.sha256};${certPair(c.alice)}";${certPair(c.bob)}`),
    expect: malformed,
  },
  {
    name: 'XFCC a second Cert pair in the same element → malformed',
    headers: xfcc((c) => `${certPair(c.alice)};${certPair(c.bob)}`),
    expect: malformed,
  },
  {
    name: 'XFCC semicolon injection in a bare value (URI=x;Cert=...) → malformed (duplicate Cert)',
    headers: xfcc((c) => `${certPair(c.alice)};URI=spiffe://x;${certPair(c.mallory)}`),
    expect: malformed,
  },
  {
    name: 'XFCC comma injection in a bare Subject, element only → malformed',
    options: (c) => ({ ca: c.root.cert, trustProxy: '127.0.0.1', xfcc: { element: 'only' } }),
    headers: xfcc((c) => `${certPair(c.alice)};Subject=CN=x,${certPair(c.bob)}`),
    expect: malformed,
  },
  {
    name: 'XFCC comma injection of an untrusted element, default last → untrusted, not alice',
    headers: xfcc((c) => `${certPair(c.alice)};Subject=CN=x,${certPair(c.mallory)}`),
    expect: untrusted,
  },
  {
    name: 'XFCC a second Cert smuggled inside a quoted Subject stays text → the real Cert (alice)',
    headers: xfcc((c) => `${certPair(c.alice)};Subject="CN=x\\";${certPair(c.bob).replace(/"/g, '\\"')}"`),
    expect: admitted((c) => c.alice),
  },
  {
    name: 'XFCC escaped quote at the very end (unterminated) → malformed',
    headers: xfcc((c) => `${certPair(c.alice)};Subject="CN=x\\"`),
    expect: malformed,
  },
  {
    name: 'XFCC a lone backslash before the closing quote of Cert → malformed',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(c.alice.cert)}\\"`),
    expect: malformed,
  },
  {
    name: 'XFCC text after a closing quote → malformed',
    headers: xfcc((c) => `${certPair(c.alice)}x`),
    expect: malformed,
  },
  {
    name: 'XFCC duplicate Hash → malformed',
    headers: xfcc((c) => `Hash=${c.alice.sha256};Hash=${c.alice.sha256};${certPair(c.alice)}`),
    expect: malformed,
  },
  {
    name: 'XFCC duplicate Subject (case-folded key) → malformed',
    headers: xfcc((c) => `${certPair(c.alice)};Subject="a";SUBJECT="b"`),
    expect: malformed,
  },
  {
    name: 'XFCC Hash of another certificate → malformed',
    headers: xfcc((c) => `Hash=${c.bob.sha256};${certPair(c.alice)}`),
    expect: malformed,
  },
  {
    name: 'XFCC Hash that is not hex → malformed',
    headers: xfcc((c) => `Hash=${'z'.repeat(64)};${certPair(c.alice)}`),
    expect: malformed,
  },
  {
    name: 'XFCC Chain without Cert → the leaf is the first of Chain → alice',
    headers: xfcc((c) => `Hash=${c.alice.sha256};Chain="${envoyUrlEncode(c.alice.cert)}"`),
    expect: admitted((c) => c.alice),
  },
  {
    name: 'XFCC three header lines → malformed',
    headers: xfcc((c) => [envoyXfcc(c.alice), envoyXfcc(c.alice), envoyXfcc(c.bob)]),
    expect: malformed,
  },
  {
    name: 'XFCC latin-1 (non-ASCII) bytes in Cert → malformed',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(c.alice.cert).replace('MII', 'MI\u00e9')}"`),
    expect: malformed,
  },
  {
    name: 'XFCC latin-1 in a quoted Subject is only text → alice',
    headers: xfcc((c) => `${certPair(c.alice)};Subject="CN=\u00e9\u00ff"`),
    expect: admitted((c) => c.alice),
  },
  {
    name: 'XFCC percent-encoded NUL and CR/LF in Cert → malformed',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(c.alice.cert).replace('%0A', '%00%0D%0A')}"`),
    expect: malformed,
  },
  {
    name: 'XFCC 300 elements → malformed (maxElements)',
    headers: xfcc(() => Array.from({ length: 300 }, () => 'URI=a').join(',')),
    expect: malformed,
  },
  {
    name: 'XFCC 300 pairs of By in one element, no Cert → required',
    headers: xfcc(() => Array.from({ length: 300 }, (_, i) => `By=spiffe://p/${i}`).join(';')),
    expect: required,
  },
  {
    name: 'XFCC empty elements (",,") → malformed',
    headers: xfcc((c) => `${envoyXfcc(c.alice)},,`),
    expect: malformed,
  },

  // Certificates inside XFCC
  {
    name: 'certificate garbage DER in a PEM block → malformed',
    headers: xfcc(() => `Cert="${envoyUrlEncode(pem('CERTIFICATE', Buffer.from('300a0201010201020201', 'hex')))}"`),
    expect: malformed,
  },
  {
    name: 'certificate with trailing bytes after the DER → malformed',
    headers: xfcc(
      (c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', Buffer.concat([c.alice.der, Buffer.from([0, 0])])))}"`,
    ),
    expect: malformed,
  },
  {
    name: 'certificate truncated by one byte → malformed',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.alice.der.subarray(0, -1)))}"`),
    expect: malformed,
  },
  {
    name: 'certificate with a 64-byte serial → admitted',
    headers: xfcc((c) => envoyXfcc(c.hugeSerial)),
    expect: admitted((c) => c.hugeSerial),
  },
  {
    name: 'certificate with a negative serial, pinned → admitted by pin (RFC 5280 forbids it to CAs, parsers must cope)',
    options: pinned((c) => c.negativeSerial),
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.negativeSerial))}"`),
    expect: admitted((c) => c.negativeSerial),
  },
  {
    name: 'certificate with a negative serial, ca → untrusted (patched, so its signature no longer matches)',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.negativeSerial))}"`),
    expect: untrusted,
  },
  {
    name: 'certificate with a BMPString CN → admitted',
    headers: xfcc((c) => envoyXfcc(c.bmpName, { details: ['Cert'] })),
    expect: admitted((c) => c.bmpName),
  },
  {
    name: 'certificate with a UniversalString CN → admitted',
    headers: xfcc((c) => envoyXfcc(c.universalName, { details: ['Cert'] })),
    expect: admitted((c) => c.universalName),
  },
  {
    name: 'certificate with a TeletexString CN of high bytes, pinned → admitted by pin',
    options: pinned((c) => c.teletexHighBytes),
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.teletexHighBytes))}"`),
    expect: admitted((c) => c.teletexHighBytes),
  },
  {
    name: 'certificate with a TeletexString CN of high bytes, ca → untrusted (its signature no longer matches)',
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.teletexHighBytes))}"`),
    expect: untrusted,
  },
  {
    name: 'certificate with a lone surrogate in a BMPString CN, pinned → malformed',
    options: pinned((c) => c.badBmp),
    headers: xfcc((c) => `Cert="${envoyUrlEncode(pem('CERTIFICATE', c.badBmp))}"`),
    expect: malformed,
  },

  // Pathological chains
  {
    name: 'chain: two CAs certifying each other, repeated in Chain → untrusted',
    headers: xfcc(
      (c) => `${certPair(c.cyclicLeaf)};Chain="${[c.cyclicLeaf.cert, ...c.cyclicChain].map(envoyUrlEncode).join('')}"`,
    ),
    expect: untrusted,
  },
  {
    name: 'chain: nine intermediates deep (beyond the path-length bound) → untrusted',
    headers: xfcc(
      (c) => `${certPair(c.deepLeaf)};Chain="${[c.deepLeaf.cert, ...c.deepChain].map(envoyUrlEncode).join('')}"`,
    ),
    expect: untrusted,
  },
  {
    name: 'chain: eleven certificates in Chain → malformed (maxChainLength)',
    headers: xfcc(
      (c) => `${certPair(c.alice)};Chain="${Array.from({ length: 11 }, () => envoyUrlEncode(c.bob.cert)).join('')}"`,
    ),
    expect: malformed,
  },
  {
    name: 'chain: garbage in Chain next to a valid Cert → malformed',
    headers: xfcc(
      (c) => `${certPair(c.alice)};Chain="${envoyUrlEncode(pem('CERTIFICATE', Buffer.from('3003020101', 'hex')))}"`,
    ),
    expect: malformed,
  },

  // Other formats
  {
    name: 'RFC 9440 Client-Cert sent twice (two lines) → malformed',
    options: rfc9440,
    headers: (c) => ({ 'client-cert': [`:${b64(c.alice.der)}:`, `:${b64(c.bob.der)}:`] }),
    expect: malformed,
  },
  {
    name: 'RFC 9440 trailing bytes after the DER → malformed',
    options: rfc9440,
    headers: (c) => ({ 'client-cert': `:${b64(Buffer.concat([c.alice.der, Buffer.from([5, 0])]))}:` }),
    expect: malformed,
  },
  {
    name: 'RFC 9440 Client-Cert-Chain without Client-Cert → malformed',
    options: rfc9440,
    headers: (c) => ({ 'client-cert-chain': `:${b64(c.root.der)}:` }),
    expect: malformed,
  },
  {
    name: 'RFC 9440 parameters smuggled after the byte sequence → malformed',
    options: rfc9440,
    headers: (c) => ({ 'client-cert': `:${b64(c.alice.der)}:;cert=:${b64(c.bob.der)}:` }),
    expect: malformed,
  },
  {
    name: 'Traefik two header lines → malformed',
    options: (c) => ({ ca: c.root.cert, trustProxy: '127.0.0.1', source: 'traefik' }),
    headers: (c) => ({ 'x-forwarded-tls-client-cert': [b64(c.alice.der), b64(c.bob.der)] }),
    expect: malformed,
  },
  {
    name: 'url-pem two PEM blocks (leaf only allowed) → malformed',
    options: (c) => ({ ca: c.root.cert, trustProxy: '127.0.0.1', source: 'url-pem' }),
    headers: (c) => ({ 'ssl-client-cert': encodeURIComponent(c.alice.cert + c.bob.cert) }),
    expect: malformed,
  },
  {
    name: 'nginx says NONE but a certificate header is present → malformed',
    options: () => ({ trustProxy: '127.0.0.1', proxy: 'nginx' }),
    headers: (c) => ({ 'ssl-client-cert': encodeURIComponent(c.alice.cert), 'ssl-client-verify': 'NONE' }),
    expect: malformed,
  },
  {
    name: 'nginx verify header twice (SUCCESS, SUCCESS) → not verified → untrusted',
    options: () => ({ trustProxy: '127.0.0.1', proxy: 'nginx' }),
    headers: (c) => ({
      'ssl-client-cert': encodeURIComponent(c.alice.cert),
      'ssl-client-verify': ['SUCCESS', 'SUCCESS'],
    }),
    expect: untrusted,
  },
  {
    name: 'base64-der URL-safe alphabet → malformed',
    options: (c) => ({ ca: c.root.cert, trustProxy: '127.0.0.1', source: 'base64-der' }),
    headers: (c) => ({
      'x-client-cert':
        b64(c.alice.der).replace(/\+/g, '-').replace(/\//g, '_') +
        (b64(c.alice.der).includes('+') || b64(c.alice.der).includes('/') ? '' : '-'),
    }),
    expect: malformed,
  },
];
