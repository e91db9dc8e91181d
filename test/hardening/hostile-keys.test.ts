/**
 * A chain can choose its keys, and a key can be made to cost: one RSA verification with a
 * 2048-bit public exponent costs as much as a hundred ordinary ones, one with a 16384-bit modulus
 * about forty. Path validation judges every key from its DER before the key verifies anything
 * (or is even loaded into OpenSSL), so a hostile chain costs no more than a normal one.
 *
 * Work is counted, never timed: while `countKeyWork` runs, the signature primitives path
 * validation uses (`crypto.verify` over the signed bytes, and `X509Certificate.prototype.verify`
 * where OpenSSL must judge an unusual encoding itself) and the ways a key is loaded into OpenSSL
 * (`crypto.createPublicKey` from a certificate's SubjectPublicKeyInfo, the `publicKey` getter) are
 * wrapped, and every call is recorded with the key it was for.
 *
 * The hostile certificates are real: each is issued by the test root, which signs its
 * TBSCertificate after the kit's public key is swapped for the hostile one, and the leaf under a
 * hostile key with a private key (huge exponent, explicit EC parameters) is signed by it, so a
 * validator without a key policy accepts the chain.
 */

import crypto, {
  createPrivateKey,
  generateKeyPairSync,
  KeyObject,
  randomBytes,
  sign,
  X509Certificate,
} from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { expect } from 'chai';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { derOid, derTlv } from '../../packages/core/src/testkit/shared.js';
import {
  checkKeyPolicy,
  compileTrustAnchors,
  MAX_SIGNATURE_CHECKS,
  type VerifyChainInput,
  type VerifyChainResult,
  verifyChainSync,
} from '../../packages/core/src/trust/path/verify.js';
import { DerCursor, readTlv, Tag } from '../../packages/core/src/x509/der.js';
import { request } from '../helpers/http-client.js';
import { expectFailure, expectOk } from '../helpers/verify.js';
import { ADAPTERS, parseBody, startServer } from './servers.js';

// ---------------------------------------------------------------------------------------------
// Counting key work

interface KeyWork {
  /** The public key of each signature verification, as SPKI DER. */
  verifiedWith: Buffer[];
  /** The SPKI DER of each key loaded. */
  loaded: Buffer[];
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

const spkiOf = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/**
 * Wraps the primitives; the returned function restores them and tells what was done meanwhile.
 * The core imports `verify` and `createPublicKey` from node:crypto, so the wrapped functions reach
 * it through `syncBuiltinESMExports`.
 */
function recordKeyWork(): () => KeyWork {
  const nodeCrypto = crypto as unknown as Record<string, AnyFunction>;
  const { verify, createPublicKey } = nodeCrypto as Record<'verify' | 'createPublicKey', AnyFunction>;
  const proto = X509Certificate.prototype as unknown as Record<string, AnyFunction>;
  const x509Verify = proto.verify!;
  const getter = Object.getOwnPropertyDescriptor(X509Certificate.prototype, 'publicKey')!;
  const keys: KeyObject[] = [];
  const loaded: Buffer[] = [];
  nodeCrypto.verify = function counted(this: unknown, ...args: unknown[]): unknown {
    const key = args[2];
    keys.push(key instanceof KeyObject ? key : (key as { key: KeyObject }).key);
    return Reflect.apply(verify, this, args);
  };
  nodeCrypto.createPublicKey = function counted(this: unknown, ...args: unknown[]): unknown {
    const made = Reflect.apply(createPublicKey, this, args) as KeyObject;
    loaded.push(spkiOf(made));
    return made;
  };
  proto.verify = function counted(this: unknown, ...args: unknown[]): unknown {
    keys.push(args[0] as KeyObject);
    return Reflect.apply(x509Verify, this, args);
  };
  Object.defineProperty(X509Certificate.prototype, 'publicKey', {
    ...getter,
    get(this: X509Certificate) {
      const key = getter.get!.call(this) as KeyObject;
      loaded.push(spkiOf(key));
      return key;
    },
  });
  syncBuiltinESMExports();
  return () => {
    nodeCrypto.verify = verify;
    nodeCrypto.createPublicKey = createPublicKey;
    proto.verify = x509Verify;
    Object.defineProperty(X509Certificate.prototype, 'publicKey', getter);
    syncBuiltinESMExports();
    return { verifiedWith: keys.map(spkiOf), loaded };
  };
}

/** Runs `fn` with signature verifications and key loads recorded. */
function countKeyWork<T>(fn: () => T): { result: T; work: KeyWork } {
  const stop = recordKeyWork();
  let work: KeyWork | undefined;
  try {
    const result = fn();
    work = stop();
    return { result, work };
  } finally {
    if (work === undefined) stop();
  }
}

/** `countKeyWork` for a request to a server of this process: everything until it answers. */
async function countKeyWorkAsync<T>(fn: () => Promise<T>): Promise<{ result: T; work: KeyWork }> {
  const stop = recordKeyWork();
  let work: KeyWork | undefined;
  try {
    const result = await fn();
    work = stop();
    return { result, work };
  } finally {
    if (work === undefined) stop();
  }
}

/** How often the key `spki` verified a signature, and whether it was loaded at all. */
function usesOf(work: KeyWork, spki: Buffer): { verifications: number; loaded: boolean } {
  return {
    verifications: work.verifiedWith.filter((key) => key.equals(spki)).length,
    loaded: work.loaded.some((der) => der.equals(spki)),
  };
}

// ---------------------------------------------------------------------------------------------
// Hostile keys and certificates

const toBigInt = (base64url: string): bigint => BigInt(`0x${Buffer.from(base64url, 'base64url').toString('hex')}`);
const toBytes = (value: bigint): Buffer => {
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 === 0 ? hex : `0${hex}`, 'hex');
};
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));

function modInverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a, m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return ((s0 % m) + m) % m;
}

function derInteger(value: bigint): Buffer {
  const bytes = toBytes(value);
  return derTlv(0x02, bytes[0]! >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function rsaSpki(modulus: bigint, exponent: bigint): Buffer {
  return derTlv(
    0x30,
    derTlv(0x30, derOid('1.2.840.113549.1.1.1'), Buffer.from([0x05, 0x00])),
    derTlv(0x03, Buffer.from([0]), derTlv(0x30, derInteger(modulus), derInteger(exponent))),
  );
}

interface HostileKey {
  spki: Buffer;
  /** Absent when nobody can sign with the key (a made-up modulus). */
  privateKey?: KeyObject;
}

/**
 * A working RSA key pair whose public exponent is a random odd number of `bits - 2` bits: node:crypto
 * only generates exponents up to 2^32, so the private exponent is computed here from the primes.
 */
function hugeExponentKey(bits: number): HostileKey {
  const jwk = generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ format: 'jwk' });
  const [n, p, q] = [toBigInt(jwk.n!), toBigInt(jwk.p!), toBigInt(jwk.q!)];
  const lambda = ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n);
  let e: bigint;
  do
    e =
      (BigInt(`0x${randomBytes(bits / 8).toString('hex')}`) % (1n << BigInt(bits - 2))) | (1n << BigInt(bits - 3)) | 1n;
  while (gcd(e, lambda) !== 1n);
  const d = modInverse(e, lambda);
  const b64 = (value: bigint): string => toBytes(value).toString('base64url');
  const privateKey = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'RSA',
      n: jwk.n!,
      e: b64(e),
      d: b64(d),
      p: jwk.p!,
      q: jwk.q!,
      dp: b64(d % (p - 1n)),
      dq: b64(d % (q - 1n)),
      qi: jwk.qi!,
    },
  });
  return { spki: rsaSpki(n, e), privateKey };
}

/** An RSA public key with a made-up odd modulus of `bits` and e = 65537. */
function bigModulusKey(bits: number): HostileKey {
  const n = BigInt(`0x${randomBytes(bits / 8).toString('hex')}`) | (1n << BigInt(bits - 1)) | 1n;
  return { spki: rsaSpki(n, 65537n) };
}

/** A P-256 key pair written with explicit curve parameters instead of the curve's name. */
function explicitCurveKey(): HostileKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1', paramEncoding: 'explicit' });
  return { spki: publicKey.export({ type: 'spki', format: 'der' }), privateKey };
}

/**
 * `template` with its SubjectPublicKeyInfo replaced by `spki` (when given) and signed again by
 * `signer` with the algorithm it already names.
 */
function remake(template: Buffer, signer: KeyObject, spki?: Buffer): Buffer {
  const certificate = DerCursor.inside(template, readTlv(template, 0, template.length));
  const tbs = DerCursor.inside(template, certificate.expect(Tag.SEQUENCE, 'tbsCertificate'));
  const algorithm = certificate.expect(Tag.SEQUENCE, 'signatureAlgorithm');
  const fields: Buffer[] = [];
  while (!tbs.done) {
    const field = tbs.next('field');
    // version [0], serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, ...
    fields.push(fields.length === 6 && spki ? spki : template.subarray(field.start, field.end));
  }
  const tbsDer = derTlv(0x30, ...fields);
  const signature = sign('sha256', tbsDer, { key: signer, dsaEncoding: 'der' });
  return derTlv(
    0x30,
    tbsDer,
    template.subarray(algorithm.start, algorithm.end),
    derTlv(0x03, Buffer.from([0]), signature),
  );
}

const pemOf = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;

interface Chain {
  leaf: Buffer;
  intermediates: Buffer[];
  /** The hostile key and the certificate that carries it. */
  hostile: { spki: Buffer; cert: Buffer };
}

/**
 * root → an intermediate carrying `key` (issued by the root) → a leaf, signed by `key` when it
 * has a private key. `keyType` is the kind of key `key` is, so that the leaf names the right
 * signature algorithm.
 */
async function hostileIntermediate(
  root: TestCA,
  key: HostileKey,
  keyType: 'rsa' | 'ec',
  subject: string,
): Promise<Chain> {
  const template = await root.intermediate({ subject, keyType, keyIdentifiers: false });
  const intermediate = remake(template.der, KeyObject.from(root.keys.privateKey), key.spki);
  const issued = await template.issue({ subject: 'CN=mallory', keyIdentifiers: false });
  const leaf = key.privateKey ? remake(issued.der, key.privateKey) : issued.der;
  return { leaf, intermediates: [intermediate], hostile: { spki: key.spki, cert: intermediate } };
}

function verifyAt(
  root: TestCA,
  chain: Pick<Chain, 'leaf' | 'intermediates'>,
  extra: Partial<VerifyChainInput> = {},
): VerifyChainResult {
  // DER in, fresh objects out: nothing is served from the signature cache of an earlier call.
  return verifyChainSync({ leaf: chain.leaf, intermediates: chain.intermediates, trustAnchors: [root.der], ...extra });
}

// ---------------------------------------------------------------------------------------------

describe('hardening/hostile keys: key policy before any signature', function () {
  this.timeout(60_000);

  let root: TestCA;
  let normal: { leaf: Buffer; intermediates: Buffer[] };
  let normalWork: number;
  let hugeExponent: Chain;
  let bigModulus: Chain;
  let explicitCurve: Chain;

  before(async () => {
    root = await createCA({ subject: 'CN=Hostile Keys Root' });
    const issuing = await root.intermediate({ subject: 'CN=Normal Issuing CA', keyType: 'rsa' });
    normal = { leaf: (await issuing.issue({ subject: 'CN=alice' })).der, intermediates: [issuing.der] };
    hugeExponent = await hostileIntermediate(root, hugeExponentKey(2048), 'rsa', 'CN=Hostile Exponent CA');
    bigModulus = await hostileIntermediate(root, bigModulusKey(16384), 'rsa', 'CN=Hostile Modulus CA');
    explicitCurve = await hostileIntermediate(root, explicitCurveKey(), 'ec', 'CN=Hostile Curve CA');
  });

  it('counts the work of a normal chain: two signatures, each by a key of the path', () => {
    const { result, work } = countKeyWork(() => verifyAt(root, normal));
    expectOk(result);
    expect(work.verifiedWith).to.have.length(2);
    normalWork = work.verifiedWith.length;
  });

  it('the hostile chains are valid but for their keys: with the key checks set aside they verify', () => {
    // Node itself verifies each link, so the refusals below are the policy's, not bad signatures.
    for (const chain of [hugeExponent, explicitCurve]) {
      const [leaf, intermediate] = [new X509Certificate(chain.leaf), new X509Certificate(chain.intermediates[0]!)];
      expect(leaf.verify(intermediate.publicKey)).to.equal(true);
      expect(intermediate.verify(root.x509.publicKey)).to.equal(true);
    }
  });

  const cases: Array<[string, () => Chain, string]> = [
    [
      'an RSA key with a 2046-bit public exponent',
      () => hugeExponent,
      'has an RSA key whose public exponent is not an odd number from 3 to 2^32-1',
    ],
    ['a 16384-bit RSA modulus', () => bigModulus, 'has an RSA key longer than 8192 bits'],
    ['an EC key with explicit curve parameters', () => explicitCurve, 'has an EC key with explicit curve parameters'],
  ];
  for (const [name, chainOf, reason] of cases) {
    it(`an intermediate with ${name} is refused without loading or using its key`, () => {
      const chain = chainOf();
      const { result, work } = countKeyWork(() => verifyAt(root, chain));
      expectFailure(result, 'untrusted', 'no path to a trust anchor');
      expect(!result.ok && result.reason).to.equal(
        `no path to a trust anchor: certificate at depth 1 ${reason}, ` +
          'and is not verified to be issued under a trust anchor',
      );
      expect(usesOf(work, chain.hostile.spki)).to.deep.equal({ verifications: 0, loaded: false });
      expect(work.verifiedWith.length).to.be.at.most(normalWork);
    });

    it(`a leaf with ${name} is refused before any signature work`, () => {
      // The hostile certificate itself presented as the leaf (its own issuer is the root).
      const chain = chainOf();
      const { result, work } = countKeyWork(() =>
        verifyAt(root, { leaf: chain.hostile.cert, intermediates: [] }, { purpose: 'any' }),
      );
      expectFailure(result, 'weak_algorithm', `certificate at depth 0 ${reason}`);
      expect(work.verifiedWith).to.have.length(0);
      expect(work.loaded).to.have.length(0);
    });
  }

  it('the bound is the policy: maxRsaBits 16384 lets the large key be used, once', () => {
    const { result, work } = countKeyWork(() => verifyAt(root, bigModulus, { policy: { maxRsaBits: 16384 } }));
    expectFailure(result, 'untrusted'); // a made-up modulus signed nothing
    expect(usesOf(work, bigModulus.hostile.spki)).to.deep.equal({
      verifications: 1,
      loaded: true,
    });
  });

  it('never uses a configured anchor key the policy refuses', async () => {
    const key = hugeExponentKey(2048);
    const template = await createCA({ subject: 'CN=Hostile Anchor', keyType: 'rsa', keyIdentifiers: false });
    const anchor = remake(template.der, key.privateKey!, key.spki); // self-signed with the hostile key
    const leaf = remake(
      (await template.issue({ subject: 'CN=under anchor', keyIdentifiers: false })).der,
      key.privateKey!,
    );
    const { result, work } = countKeyWork(() => verifyChainSync({ leaf, trustAnchors: [anchor] }));
    expectFailure(result, 'untrusted', 'no path to a trust anchor');
    expect(usesOf(work, key.spki)).to.deep.equal({ verifications: 0, loaded: false });
    // Compiled at start-up, as the middleware does: parsed, but its key is not loaded either.
    const rootSpki = spkiOf(root.x509.publicKey);
    const compiled = countKeyWork(() => compileTrustAnchors([anchor, root.der]));
    expect(compiled.work.loaded).to.have.length(1);
    expect(compiled.work.loaded[0]!.equals(rootSpki)).to.equal(true);
    const onCompiled = countKeyWork(() => verifyChainSync({ leaf, trustAnchors: compiled.result }));
    expectFailure(onCompiled.result, 'untrusted', 'no path to a trust anchor');
    expect(onCompiled.work.verifiedWith).to.have.length(0);
  });

  it('checkKeyPolicy judges a path someone else verified, from the DER alone', () => {
    const path = (chain: Pick<Chain, 'leaf' | 'intermediates'>) =>
      [chain.leaf, ...chain.intermediates, root.der].map((der) => new X509Certificate(der));
    const { result, work } = countKeyWork(() =>
      [hugeExponent, bigModulus, explicitCurve].map((chain) => checkKeyPolicy(path(chain))),
    );
    expect(result.map((r) => (r.ok ? 'ok' : r.message))).to.deep.equal([
      'certificate at depth 1 has an RSA key whose public exponent is not an odd number from 3 to 2^32-1',
      'certificate at depth 1 has an RSA key longer than 8192 bits',
      'certificate at depth 1 has an EC key with explicit curve parameters',
    ]);
    expect(work.loaded).to.have.length(0);
    expect(checkKeyPolicy(path(normal))).to.deep.equal({ ok: true });
    expect(checkKeyPolicy(path(normal), { minRsaBits: 3072 })).to.deep.include({ ok: false, code: 'weak_algorithm' });
  });

  describe('hostile sets of presented certificates cost bounded work', () => {
    it(`many hostile keys under one name cost nothing; many decoy keys at most ${MAX_SIGNATURE_CHECKS} checks`, async () => {
      // 120 certificates named as the leaf's issuer, each with a hostile key, then 120 with
      // ordinary keys that did not sign it.
      const seed = await createCA({ subject: 'CN=Decoy CA' });
      const leaf = (await seed.issue({ subject: 'CN=decoy client', keyIdentifiers: false })).der;
      const template = await root.intermediate({ subject: 'CN=Decoy CA', keyType: 'rsa', keyIdentifiers: false });
      const rootKey = KeyObject.from(root.keys.privateKey);
      const hostile = Array.from({ length: 120 }, () => remake(template.der, rootKey, bigModulusKey(9216).spki));
      const hostileRun = countKeyWork(() => verifyAt(root, { leaf, intermediates: hostile }));
      expectFailure(hostileRun.result, 'untrusted', 'no path to a trust anchor');
      expect(hostileRun.work.verifiedWith).to.have.length(0);
      expect(hostileRun.work.loaded).to.have.length(0);

      const decoys = await Promise.all(
        Array.from({ length: 120 }, () => root.intermediate({ subject: 'CN=Decoy CA', keyIdentifiers: false })),
      );
      const decoyRun = countKeyWork(() => verifyAt(root, { leaf, intermediates: decoys.map((d) => d.der) }));
      expectFailure(decoyRun.result, 'untrusted', 'no path to a trust anchor');
      expect(!decoyRun.result.ok && decoyRun.result.reason).to.match(
        /^no path to a trust anchor found within the path building limit/,
      );
      expect(decoyRun.work.verifiedWith).to.have.length(MAX_SIGNATURE_CHECKS);
    });

    it('a stack of hostile intermediates up to the depth limit uses none of their keys', async () => {
      // root → H1 → ... → H7 → leaf, every link by name, each Hn with a huge exponent.
      const rootKey = KeyObject.from(root.keys.privateKey);
      let issuer: TestCA = root;
      let signer = rootKey;
      const stack: Buffer[] = [];
      const keys: HostileKey[] = [];
      for (let i = 1; i <= 7; i++) {
        const key = hugeExponentKey(2048);
        const template: TestCA = await issuer.intermediate({
          subject: `CN=Stack ${i}`,
          keyType: 'rsa',
          keyIdentifiers: false,
        });
        stack.push(remake(template.der, signer, key.spki));
        keys.push(key);
        issuer = template;
        signer = key.privateKey!;
      }
      const leaf = remake((await issuer.issue({ subject: 'CN=stacked', keyIdentifiers: false })).der, signer);
      const { result, work } = countKeyWork(() => verifyAt(root, { leaf, intermediates: [...stack].reverse() }));
      expectFailure(result, 'untrusted', 'no path to a trust anchor');
      expect(work.verifiedWith).to.have.length(0);
      expect(work.loaded).to.have.length(0);
    });

    it('keeps the signature cache: the same certificate objects verified again cost nothing', () => {
      const objects = {
        leaf: new X509Certificate(normal.leaf),
        intermediates: normal.intermediates.map((der) => new X509Certificate(der)),
        trustAnchors: compileTrustAnchors(root.der),
      };
      expect(countKeyWork(() => expectOk(verifyChainSync(objects))).work.verifiedWith).to.have.length(2);
      expect(countKeyWork(() => expectOk(verifyChainSync(objects))).work.verifiedWith).to.have.length(0);
    });
  });

  describe('over real servers: a hostile chain in a forwarded header', () => {
    /** An XFCC header as Envoy writes it for `leaf` presented with `intermediates`. */
    function xfcc(leaf: Buffer, intermediates: Buffer[]): string {
      const client = {
        cert: pemOf(leaf),
        sha256: new X509Certificate(leaf).fingerprint256.replace(/:/g, '').toLowerCase(),
        x509: new X509Certificate(leaf),
        chain: intermediates.map(pemOf),
      } as unknown as TestCertificate;
      return envoyXfcc(client, { details: ['Cert', 'Chain'] });
    }

    for (const adapter of ADAPTERS) {
      it(`${adapter}: costs no more signature checks than a normal chain, and none with the hostile key`, async () => {
        const server = await startServer(adapter, { options: { source: 'xfcc', ca: root.cert } });
        try {
          const send = (chain: Pick<Chain, 'leaf' | 'intermediates'>) =>
            request({
              url: server.url(),
              path: '/whoami',
              headers: { 'x-forwarded-client-cert': xfcc(chain.leaf, chain.intermediates) },
            });
          // Fresh certificates, so that no decision or signature is served from a cache.
          const issuing = await root.intermediate({ subject: `CN=${adapter} Issuing CA`, keyType: 'rsa' });
          const alice = { leaf: (await issuing.issue({ subject: 'CN=alice' })).der, intermediates: [issuing.der] };
          const good = await countKeyWorkAsync(() => send(alice));
          expect(good.result.status).to.equal(200);
          expect(good.work.verifiedWith).to.have.length(2);
          const hostileChains = [
            await hostileIntermediate(root, hugeExponentKey(2048), 'rsa', `CN=${adapter} Exponent CA`),
            await hostileIntermediate(root, bigModulusKey(16384), 'rsa', `CN=${adapter} Modulus CA`),
            await hostileIntermediate(root, explicitCurveKey(), 'ec', `CN=${adapter} Curve CA`),
          ];
          for (const chain of hostileChains) {
            const { result, work } = await countKeyWorkAsync(() => send(chain));
            expect(result.status).to.equal(403);
            expect(parseBody(result.text).code).to.equal('client_certificate_untrusted');
            expect(usesOf(work, chain.hostile.spki)).to.deep.equal({
              verifications: 0,
              loaded: false,
            });
            expect(work.verifiedWith.length).to.be.at.most(good.work.verifiedWith.length);
          }
        } finally {
          await server.close();
        }
      });
    }
  });
});
