/**
 * RFC 5280 §6 path validation with real certificates from the test kit: every check has a case
 * that passes and one that fails with its exact code.
 */

import { webcrypto } from 'node:crypto';
import { expect } from 'chai';
import {
  type CAOptions,
  createCA,
  generateKeyPair,
  type KeyPair,
  type RawExtension,
  type TestCA,
  type TestCertificate,
} from '../../../../packages/core/src/testkit/index.js';
import { derOid as oid, derTlv as tlv } from '../../../../packages/core/src/testkit/shared.js';
import {
  checkCertificate,
  compileIntermediatePool,
  compileVerifyPolicy,
  MAX_SIGNATURE_CHECKS,
  type VerifyChainInput,
  type VerifyChainResult,
  verifyChainSync,
} from '../../../../packages/core/src/trust/path/verify.js';
import { expectClientCertError } from '../../../helpers/errors.js';
import { expectFailure, expectOk } from '../../../helpers/verify.js';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
const NOW = Math.floor(Date.now() / SECOND) * SECOND;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** A day either side of NOW, so that certificates made during a slow run are valid at NOW. */
const valid = { notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + DAY) };
const expired = { notBefore: new Date(NOW - 3 * DAY), notAfter: new Date(NOW - DAY) };

interface Case {
  leaf: TestCertificate;
  anchors: TestCertificate[];
  intermediates?: TestCertificate[];
}

function verify({ leaf, anchors, intermediates = [] }: Case, extra: Partial<VerifyChainInput> = {}): VerifyChainResult {
  return verifyChainSync({
    leaf: leaf.cert,
    intermediates: intermediates.map((c) => c.cert),
    trustAnchors: anchors.map((a) => a.cert),
    at: new Date(NOW),
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------------
// DER for raw extensions, written with the test kit's own DER writer

const seq = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);
const ext = (id: string, value: Uint8Array, critical = false): RawExtension => ({ oid: id, critical, value });

const PRIVATE_OID = '1.3.6.1.4.1.55738.666.1';
const ANY_POLICY = '2.5.29.32.0';
const POLICY_A = '1.3.6.1.4.1.55738.1.1';
const POLICY_B = '1.3.6.1.4.1.55738.1.2';
const certificatePolicies = (critical: boolean, ...policies: string[]): RawExtension =>
  ext('2.5.29.32', seq(...policies.map((p) => seq(oid(p)))), critical);
const requireExplicitPolicy = (skip: number): RawExtension =>
  ext('2.5.29.36', seq(tlv(0x80, Buffer.from([skip]))), true);

async function ecKeys(namedCurve: 'P-384' | 'P-521'): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify'])) as KeyPair;
}

// ---------------------------------------------------------------------------------------------

describe('core/path-validation (RFC 5280 §6)', () => {
  let root: TestCA;
  let issuing: TestCA;
  let leaf: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=PV Root', ...valid });
    issuing = await root.intermediate({ subject: 'CN=PV Issuing CA', ...valid });
    leaf = await issuing.issue({ subject: 'CN=pv client', ...valid });
  });

  /** A CA under `root` with `options`, and a leaf under it with `leafOptions`. */
  async function underCA(
    options: CAOptions,
    leafOptions: Parameters<TestCA['issue']>[0] = {},
  ): Promise<Case & { ca: TestCA }> {
    const ca = await root.intermediate({ subject: 'CN=PV Test CA', ...valid, ...options });
    const issued = await ca.issue({ subject: 'CN=pv test client', ...valid, ...leafOptions });
    return { ca, leaf: issued, anchors: [root], intermediates: [ca] };
  }

  describe('path building', () => {
    it('succeeds through the good one of two cross-signed paths when the other is expired', async () => {
      const otherRoot = await createCA({ subject: 'CN=PV Other Root', ...valid });
      const keyPair = await generateKeyPair();
      const viaOther = await otherRoot.intermediate({ subject: 'CN=PV Cross CA', keyPair, ...expired });
      const viaRoot = await root.intermediate({ subject: 'CN=PV Cross CA', keyPair, ...valid });
      const client = await viaOther.issue({ subject: 'CN=cross client', ...valid });
      for (const intermediates of [
        [viaOther, viaRoot],
        [viaRoot, viaOther],
      ]) {
        expectOk(verify({ leaf: client, anchors: [otherRoot, root], intermediates }), [client, viaRoot, root]);
      }
      expectFailure(
        verify({ leaf: client, anchors: [otherRoot, root], intermediates: [viaOther] }),
        'expired',
        'certificate at depth 1 has expired',
      );
    });

    it('searches configured intermediates (intermediatePool) as well as presented ones', async () => {
      const pool = compileIntermediatePool([issuing.cert]);
      expectOk(
        verifyChainSync({ leaf: leaf.cert, intermediatePool: pool, trustAnchors: [root.cert], at: new Date(NOW) }),
        [leaf, issuing, root],
      );
      expectOk(
        verifyChainSync({
          leaf: leaf.cert,
          intermediatePool: issuing.der,
          trustAnchors: [root.cert],
          at: new Date(NOW),
        }),
      );
      expect(compileIntermediatePool([])).to.deep.equal([]);
      expectClientCertError(() => compileIntermediatePool([issuing.cert, 'garbage']), 'invalid_option');
    });

    it('ends a cycle of two CAs that issued each other with untrusted, without searching', async () => {
      const keysA = await generateKeyPair();
      const keysB = await generateKeyPair();
      const seedA = await createCA({ subject: 'CN=Cycle A', keyPair: keysA, ...valid });
      const seedB = await createCA({ subject: 'CN=Cycle B', keyPair: keysB, ...valid });
      const aByB = await seedB.intermediate({ subject: 'CN=Cycle A', keyPair: keysA, ...valid });
      const bByA = await seedA.intermediate({ subject: 'CN=Cycle B', keyPair: keysB, ...valid });
      const client = await aByB.issue({ subject: 'CN=cycle client', ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [aByB, bByA] }),
        'untrusted',
        'no path to a trust anchor',
      );
    });

    it('stops at its work limit in a cross-signed mesh whose way out does not verify', async () => {
      // Six CAs, each certified by the five others: every order of them is a path by name. The
      // only certificate leading to the anchor's name is signed by an impostor key.
      const names = Array.from({ length: 6 }, (_, i) => `CN=Mesh ${i}`);
      const keys = await Promise.all(names.map(() => generateKeyPair()));
      const seeds = await Promise.all(names.map((subject, i) => createCA({ subject, keyPair: keys[i], ...valid })));
      const pool: TestCA[] = [];
      for (let i = 0; i < names.length; i++) {
        for (let j = 0; j < names.length; j++) {
          if (i !== j) pool.push(await seeds[j]!.intermediate({ subject: names[i], keyPair: keys[i], ...valid }));
        }
      }
      const impostor = await createCA({ subject: 'CN=PV Root', ...valid });
      pool.push(await impostor.intermediate({ subject: names[0], keyPair: keys[0], ...valid }));
      const client = await seeds[5]!.issue({ subject: 'CN=mesh client', ...valid });
      expect(pool.length * 5).to.be.above(MAX_SIGNATURE_CHECKS);
      const started = Date.now();
      const result = verify({ leaf: client, anchors: [root], intermediates: pool });
      expectFailure(result, 'untrusted', 'no path to a trust anchor');
      expect(!result.ok && result.reason).to.match(/^no path to a trust anchor found within the path building limit/);
      expect(Date.now() - started).to.be.below(2000);
    });

    it('allows a subject and key once per path (RFC 4158), so re-issued copies of a CA do not multiply paths', async () => {
      // Ten copies of one CA (same name and key, each issued by the others' key) and a copy
      // "issued" by the anchor's name under an impostor key: by names and signatures alone every
      // order of the copies is a path.
      const keyPair = await generateKeyPair();
      const seed = await createCA({ subject: 'CN=PV Copies', keyPair, ...valid });
      const copies = await Promise.all(
        Array.from({ length: 10 }, () => seed.intermediate({ subject: 'CN=PV Copies', keyPair, ...valid })),
      );
      const impostor = await createCA({ subject: 'CN=PV Root', ...valid });
      copies.push(await impostor.intermediate({ subject: 'CN=PV Copies', keyPair, ...valid }));
      const client = await seed.issue({ subject: 'CN=copies client', ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: copies }),
        'untrusted',
        'no path to a trust anchor',
      );
    });

    it(`verifies at most ${MAX_SIGNATURE_CHECKS} signatures per call`, async () => {
      // Many certificates with the name of the leaf's issuer, none holding the key that signed it.
      const decoys = await Promise.all(
        Array.from({ length: MAX_SIGNATURE_CHECKS + 20 }, () =>
          root.intermediate({ subject: 'CN=PV Decoy', keyIdentifiers: false, ...valid }),
        ),
      );
      const seed = await createCA({ subject: 'CN=PV Decoy', ...valid });
      const client = await seed.issue({ subject: 'CN=decoy client', keyIdentifiers: false, ...valid });
      const limited = verify({ leaf: client, anchors: [root], intermediates: decoys });
      expectFailure(limited, 'untrusted', 'no path to a trust anchor');
      expect(!limited.ok && limited.reason).to.match(/^no path to a trust anchor found within the path building limit/);
      const searched = verify({ leaf: client, anchors: [root], intermediates: decoys.slice(0, 50) });
      expectFailure(searched, 'untrusted', 'no path to a trust anchor');
      expect(!searched.ok && searched.reason).to.equal(
        'no path to a trust anchor: 50 certificate(s) named as an issuer did not sign',
      );
    });

    it('reports the expired link of a cyclic pool at its shortest path', async () => {
      const keys = await Promise.all([0, 1, 2].map(() => generateKeyPair()));
      const seeds = await Promise.all(
        keys.map((keyPair, i) => createCA({ subject: `CN=Ring ${i}`, keyPair, ...valid })),
      );
      const pool = [
        await seeds[1]!.intermediate({ subject: 'CN=Ring 0', keyPair: keys[0], ...valid }),
        await seeds[2]!.intermediate({ subject: 'CN=Ring 1', keyPair: keys[1], ...valid }),
        await seeds[0]!.intermediate({ subject: 'CN=Ring 2', keyPair: keys[2], ...valid }),
        await root.intermediate({ subject: 'CN=Ring 0', keyPair: keys[0], ...expired }),
      ];
      const client = await seeds[0]!.issue({ subject: 'CN=ring client', ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: pool }),
        'expired',
        'certificate at depth 1 has expired',
      );
    });

    it('matches issuer names case-insensitively, ignoring extra whitespace and string types', async () => {
      const keyPair = await generateKeyPair();
      const ca = await root.intermediate({
        subject: [{ CN: [{ printableString: 'PV Spaced  CA' }] }],
        keyPair,
        ...valid,
      });
      const seed = await createCA({ subject: [{ CN: [{ utf8String: '  pv SPACED ca ' }] }], keyPair, ...valid });
      const client = await seed.issue({ subject: 'CN=spaced client', ...valid });
      expect(client.x509.issuer).to.not.equal(ca.x509.subject);
      expectOk(verify({ leaf: client, anchors: [root], intermediates: [ca] }), [client, ca, root]);
      const otherName = await createCA({ subject: 'CN=PV Spaced CB', keyPair, ...valid });
      expectFailure(verify({ leaf: await otherName.issue(valid), anchors: [root], intermediates: [ca] }), 'untrusted');
    });

    it('uses key identifiers as a hint only: a wrong authorityKeyIdentifier does not stop a valid path', async () => {
      const wrongAki = ext('2.5.29.35', seq(tlv(0x80, Buffer.alloc(20, 7))));
      const client = await issuing.issue({
        subject: 'CN=aki client',
        keyIdentifiers: false,
        extensions: [wrongAki],
        ...valid,
      });
      expectOk(verify({ leaf: client, anchors: [root], intermediates: [issuing] }), [client, issuing, root]);
    });

    it('ends the path at an anchor that is an intermediate, whatever issued it', () => {
      expectOk(verify({ leaf, anchors: [issuing] }), [leaf, issuing]);
    });
  });

  describe('signatures and algorithm strength', () => {
    let rsaRoot: TestCA;

    before(async () => {
      rsaRoot = await createCA({ subject: 'CN=PV RSA Root', keyType: 'rsa', ...valid });
    });

    it('rejects a SHA-1 signed leaf unless allowSha1Signatures', async () => {
      const sha1 = await issuing.issue({ subject: 'CN=sha1 client', signatureHash: 'SHA-1', ...valid });
      const input = { leaf: sha1, anchors: [root], intermediates: [issuing] };
      expectFailure(verify(input), 'weak_algorithm', 'certificate at depth 0 is signed with SHA-1');
      expectOk(verify(input, { policy: { allowSha1Signatures: true } }), [sha1, issuing, root]);
      expectOk(
        verify({
          leaf: await issuing.issue({ signatureHash: 'SHA-384', ...valid }),
          anchors: [root],
          intermediates: [issuing],
        }),
      );
    });

    it('rejects a SHA-1 signed intermediate, but not a SHA-1 self-signature on the anchor', async () => {
      const sha1Ca = await root.intermediate({ subject: 'CN=PV SHA1 CA', signatureHash: 'SHA-1', ...valid });
      const client = await sha1Ca.issue(valid);
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [sha1Ca] }),
        'weak_algorithm',
        'certificate at depth 1 is signed with SHA-1',
      );
      const sha1Root = await createCA({ subject: 'CN=PV SHA1 Root', signatureHash: 'SHA-1', ...valid });
      expectOk(verify({ leaf: await sha1Root.issue(valid), anchors: [sha1Root] }));
    });

    it('rejects MD5 signatures even when SHA-1 is allowed', async () => {
      const md5 = await rsaRoot.issue({ subject: 'CN=md5 client', signatureHash: 'MD5', ...valid });
      expectFailure(
        verify({ leaf: md5, anchors: [rsaRoot] }, { policy: { allowSha1Signatures: true } }),
        'weak_algorithm',
        'certificate at depth 0 is signed with an MD2, MD4 or MD5 digest',
      );
      expectOk(verify({ leaf: await rsaRoot.issue(valid), anchors: [rsaRoot] }));
    });

    it('rejects RSA keys shorter than minRsaBits (2048 by default), anchors included', async () => {
      const small = await issuing.issue({ subject: 'CN=rsa1024 client', keyType: 'rsa', rsaBits: 1024, ...valid });
      const input = { leaf: small, anchors: [root], intermediates: [issuing] };
      expectFailure(verify(input), 'weak_algorithm', 'certificate at depth 0 has an RSA key shorter than 2048 bits');
      expectOk(verify(input, { policy: { minRsaBits: 1024 } }));
      // An anchor's key too; its key is never used, so nothing proves the leaf is its own: the
      // client is told only "untrusted", and the reason (for logs) names the key.
      const smallRoot = await createCA({ subject: 'CN=PV Small Root', keyType: 'rsa', rsaBits: 1024, ...valid });
      const underSmall = verify({ leaf: await smallRoot.issue(valid), anchors: [smallRoot] });
      expectFailure(underSmall, 'untrusted', 'no path to a trust anchor');
      expect(!underSmall.ok && underSmall.reason).to.equal(
        'no path to a trust anchor: certificate at depth 1 has an RSA key ' +
          'shorter than 2048 bits, and is not verified to be issued under a trust anchor',
      );
      expectFailure(
        verify({ leaf: await rsaRoot.issue(valid), anchors: [rsaRoot] }, { policy: { minRsaBits: 3072 } }),
        'untrusted',
      );
    });

    it('accepts P-256, P-384 and P-521 keys, and only the curves of ecCurves when given', async () => {
      const p384 = await issuing.issue({ subject: 'CN=p384 client', keyPair: await ecKeys('P-384'), ...valid });
      const p521Ca = await root.intermediate({ subject: 'CN=PV P-521 CA', keyPair: await ecKeys('P-521'), ...valid });
      const underP521 = await p521Ca.issue(valid);
      expectOk(verify({ leaf: p384, anchors: [root], intermediates: [issuing] }));
      expectOk(verify({ leaf: underP521, anchors: [root], intermediates: [p521Ca] }));
      expectFailure(
        verify({ leaf: p384, anchors: [root], intermediates: [issuing] }, { policy: { ecCurves: ['P-256'] } }),
        'weak_algorithm',
        'certificate at depth 0 has an EC key on a curve the policy does not allow',
      );
      expectOk(
        verify(
          { leaf: p384, anchors: [root], intermediates: [issuing] },
          { policy: { ecCurves: ['prime256v1', 'secp384r1'] } },
        ),
      );
    });

    it('validates the policy once and throws invalid_option on bad values', () => {
      const compiled = compileVerifyPolicy({ allowSha1Signatures: true, minRsaBits: 3072 });
      expect(compiled.minRsaBits).to.equal(3072);
      expect(Object.isFrozen(compiled)).to.equal(true);
      expect(compileVerifyPolicy(compiled)).to.equal(compiled);
      expect(compileVerifyPolicy().ecCurves).to.deep.equal(new Set(['prime256v1', 'secp384r1', 'secp521r1']));
      const bad: unknown[] = [
        { minRsaBits: 512 },
        { minRsaBits: 2048.5 },
        { minRsaBits: '2048' },
        { allowSha1Signatures: 'yes' },
        { ecCurves: 'P-256' },
        { ecCurves: ['P-999'] },
        { allowSHA1: true },
        null,
        [],
      ];
      for (const policy of bad) expectClientCertError(() => compileVerifyPolicy(policy as never), 'invalid_option');
      expectClientCertError(() => verify({ leaf, anchors: [root] }, { policy: { minRsaBits: 1 } }), 'invalid_option');
    });

    it('does not accept a look-alike issuer whose key did not sign', async () => {
      const impostor = await root.intermediate({ subject: 'CN=PV Issuing CA', keyIdentifiers: false, ...valid });
      expectFailure(verify({ leaf, anchors: [root], intermediates: [impostor] }), 'untrusted');
    });
  });

  describe('validity', () => {
    it('checks every certificate, the anchor included, inclusive at both ends', async () => {
      const shortLived = await issuing.issue({ notBefore: new Date(NOW - HOUR), notAfter: new Date(NOW + HOUR) });
      const input = { leaf: shortLived, anchors: [root], intermediates: [issuing] };
      expectOk(verify(input, { at: shortLived.notAfter }));
      expectOk(verify(input, { at: shortLived.notBefore }));
      expectFailure(
        verify(input, { at: new Date(NOW + HOUR + SECOND) }),
        'expired',
        'certificate at depth 0 has expired',
      );
      expectFailure(
        verify(input, { at: new Date(NOW - HOUR - 1) }),
        'not_yet_valid',
        'certificate at depth 0 is not yet valid',
      );
      // When a CA expires with its leaf, the CA is found first: the path never reaches the anchor.
      expectFailure(
        verify(input, { at: new Date(NOW + DAY + SECOND) }),
        'expired',
        'certificate at depth 1 has expired',
      );
      const oldRoot = await createCA({ subject: 'CN=PV Old Root', ...expired });
      expectFailure(
        verify({ leaf: await oldRoot.issue(valid), anchors: [oldRoot] }),
        'expired',
        'certificate at depth 1 has expired',
      );
    });
  });

  describe('basicConstraints', () => {
    it('requires cA=TRUE of every issuer: not asserted, or basicConstraints missing, is invalid_ca', async () => {
      const notCa = await underCA({ ca: false, keyUsage: null });
      expectFailure(verify(notCa), 'invalid_ca', 'certificate at depth 1 is not a CA');
      const noBasicConstraints = await underCA({ ca: null, keyUsage: null });
      expectFailure(verify(noBasicConstraints), 'invalid_ca', 'certificate at depth 1 is not a CA');
      expectOk(verify(await underCA({})));
    });

    it('requires it of a v3 anchor, but accepts a v1 anchor', async () => {
      const notCaRoot = await createCA({ subject: 'CN=PV Not CA Root', ca: false, keyUsage: null, ...valid });
      expectFailure(
        verify({ leaf: await notCaRoot.issue(valid), anchors: [notCaRoot] }),
        'invalid_ca',
        'certificate at depth 1 is not a CA',
      );
      const noBcRoot = await createCA({ subject: 'CN=PV No BC Root', ca: null, ...valid });
      expectFailure(verify({ leaf: await noBcRoot.issue(valid), anchors: [noBcRoot] }), 'invalid_ca');
      const v1Root = await createCA({ subject: 'CN=PV v1 Root', version: 1, ...valid });
      expect(v1Root.x509.ca).to.equal(false); // no basicConstraints at all
      const v1Ca = await v1Root.intermediate({ subject: 'CN=PV under v1', ...valid });
      expectOk(verify({ leaf: await v1Ca.issue(valid), anchors: [v1Root], intermediates: [v1Ca] }));
    });

    it('does not accept a v1 certificate as an intermediate', async () => {
      const v1Ca = await root.intermediate({ subject: 'CN=PV v1 CA', version: 1, ...valid });
      expectFailure(
        verify({ leaf: await v1Ca.issue(valid), anchors: [root], intermediates: [v1Ca] }),
        'invalid_ca',
        'certificate at depth 1 is a version 1 or 2 certificate and cannot be an intermediate CA',
      );
    });

    it('enforces pathLenConstraint on the non-self-issued intermediates below a CA', async () => {
      const limited = await root.intermediate({ subject: 'CN=PV Limited', pathLength: 0, ...valid });
      const below = await limited.intermediate({ subject: 'CN=PV Below Limited', ...valid });
      const client = await below.issue(valid);
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [limited, below] }),
        'path_length_exceeded',
        'certificate at depth 2 has more intermediate CA certificates below it than its path length constraint allows',
      );
      expectOk(verify({ leaf: await limited.issue(valid), anchors: [root], intermediates: [limited] }));
      const one = await root.intermediate({ subject: 'CN=PV Limited One', pathLength: 1, ...valid });
      const underOne = await one.intermediate({ subject: 'CN=PV Below One', ...valid });
      expectOk(verify({ leaf: await underOne.issue(valid), anchors: [root], intermediates: [one, underOne] }));
    });

    it('does not count a self-issued intermediate (key rollover) toward the path length', async () => {
      const limited = await root.intermediate({ subject: 'CN=PV Rollover', pathLength: 0, ...valid });
      const rolled = await limited.intermediate({ subject: 'CN=PV Rollover', ...valid }); // same name, new key
      const client = await rolled.issue(valid);
      expectOk(verify({ leaf: client, anchors: [root], intermediates: [limited, rolled] }), [
        client,
        rolled,
        limited,
        root,
      ]);
    });

    it('applies the anchor’s own pathLenConstraint', async () => {
      const strictRoot = await createCA({ subject: 'CN=PV Strict Root', pathLength: 0, ...valid });
      const ca = await strictRoot.intermediate({ subject: 'CN=PV Under Strict', ...valid });
      expectFailure(
        verify({ leaf: await ca.issue(valid), anchors: [strictRoot], intermediates: [ca] }),
        'path_length_exceeded',
        /^certificate at depth 2 has more intermediate CA certificates/,
      );
      expectOk(verify({ leaf: await strictRoot.issue(valid), anchors: [strictRoot] }));
    });

    it('accepts a CA certificate as the leaf when its key usage allows the purpose', async () => {
      const caLeaf = await root.intermediate({ subject: 'CN=PV CA Leaf', ...valid });
      expectOk(verify({ leaf: caLeaf, anchors: [root] }), [caLeaf, root]);
      const signOnly = await root.intermediate({
        subject: 'CN=PV Sign Only',
        keyUsage: ['keyCertSign', 'cRLSign'],
        ...valid,
      });
      expectFailure(
        verify({ leaf: signOnly, anchors: [root] }),
        'bad_key_usage',
        'certificate at depth 0 has a key usage that does not allow the required purpose',
      );
    });
  });

  describe('keyUsage', () => {
    it('requires keyCertSign of an issuer that has the extension', async () => {
      expectFailure(
        verify(await underCA({ keyUsage: ['digitalSignature', 'cRLSign'] })),
        'bad_key_usage',
        'certificate at depth 1 has a key usage that does not allow signing certificates',
      );
      expectOk(verify(await underCA({ keyUsage: ['keyCertSign'] })));
      expectOk(verify(await underCA({ keyUsage: null })));
      const noSignRoot = await createCA({
        subject: 'CN=PV No keyCertSign Root',
        keyUsage: ['digitalSignature'],
        ...valid,
      });
      expectFailure(verify({ leaf: await noSignRoot.issue(valid), anchors: [noSignRoot] }), 'bad_key_usage');
    });

    it('requires digitalSignature or keyAgreement of a clientAuth leaf that has the extension', async () => {
      const make = (
        keyUsage: Parameters<TestCA['issue']>[0] extends infer O
          ? O extends { keyUsage?: infer K }
            ? K
            : never
          : never,
      ) => issuing.issue({ keyUsage, eku: [CLIENT_AUTH, SERVER_AUTH], ...valid });
      const encipherOnly = await make(['keyEncipherment']);
      const input = { leaf: encipherOnly, anchors: [root], intermediates: [issuing] };
      expectFailure(
        verify(input),
        'bad_key_usage',
        'certificate at depth 0 has a key usage that does not allow the required purpose',
      );
      expectOk(verify(input, { purpose: 'serverAuth' })); // an RSA key exchange server decrypts
      expectOk(verify(input, { purpose: 'any' }));
      expectOk(verify({ leaf: await make(['keyAgreement']), anchors: [root], intermediates: [issuing] }));
      expectOk(verify({ leaf: await make(['digitalSignature']), anchors: [root], intermediates: [issuing] }));
      expectOk(verify({ leaf: await make(null), anchors: [root], intermediates: [issuing] }));
    });

    it('rejects a leaf asserting keyCertSign without being a CA', async () => {
      const client = await issuing.issue({ keyUsage: ['digitalSignature', 'keyCertSign'], ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
        'bad_key_usage',
        'certificate at depth 0 asserts keyCertSign but is not a CA',
      );
    });
  });

  describe('extended key usage', () => {
    it('lets an intermediate’s EKU constrain the purpose', async () => {
      const serverOnly = await underCA({ eku: [SERVER_AUTH] }, { eku: [CLIENT_AUTH, SERVER_AUTH] });
      expectFailure(
        verify(serverOnly),
        'wrong_purpose',
        'certificate at depth 1 is a CA whose extended key usage excludes the required purpose',
      );
      expectOk(verify(serverOnly, { purpose: 'serverAuth' }));
      expectOk(verify(serverOnly, { purpose: 'any' }));
      expectOk(verify(await underCA({ eku: [CLIENT_AUTH] })));
      expectOk(verify(await underCA({ eku: ['any'] })));
    });

    it('applies an anchor’s EKU too', async () => {
      const serverRoot = await createCA({ subject: 'CN=PV Server Root', eku: [SERVER_AUTH], ...valid });
      expectFailure(
        verify({ leaf: await serverRoot.issue(valid), anchors: [serverRoot] }),
        'wrong_purpose',
        /^certificate at depth 1 is a CA whose/,
      );
    });
  });

  describe('name constraints', () => {
    async function constrained(
      nameConstraints: CAOptions['nameConstraints'],
      leafOptions: Parameters<TestCA['issue']>[0],
    ): Promise<VerifyChainResult> {
      return verify(await underCA({ nameConstraints }, leafOptions));
    }

    it('dNSName: permitted and excluded subtrees, label-wise', async () => {
      const permitted = { permitted: { dns: ['example.com'] } };
      expectOk(await constrained(permitted, { san: { dns: ['example.com', 'a.b.example.com'] } }));
      expectFailure(
        await constrained(permitted, { san: { dns: ['a.example.com', 'badexample.com'] } }),
        'name_constraints',
        'certificate at depth 0 violates the name constraints of the certificate at depth 1: a DNS name is outside the permitted subtrees',
      );
      expectOk(await constrained(permitted, { san: { dns: ['A.EXAMPLE.COM'] } }));
      const excluded = { excluded: { dns: ['bad.example.com'] } };
      expectFailure(
        await constrained(excluded, { san: { dns: ['ok.example.com', 'x.bad.example.com'] } }),
        'name_constraints',
        /a DNS name is in an excluded subtree$/,
      );
      expectOk(await constrained(excluded, { san: { dns: ['notbad.example.com'] } }));
      // A leading period is not dNSName syntax (refused by default: rfc5280-profile.test.ts); allowed, it means subdomains only.
      const subdomains = { permitted: { dns: ['.example.com'] } };
      const allowLeadingDot = { policy: { allowLeadingDotDnsConstraints: true } };
      expectOk(
        verify(await underCA({ nameConstraints: subdomains }, { san: { dns: ['a.example.com'] } }), allowLeadingDot),
      );
      expectFailure(
        verify(await underCA({ nameConstraints: subdomains }, { san: { dns: ['example.com'] } }), allowLeadingDot),
        'name_constraints',
        /a DNS name is outside the permitted subtrees$/,
      );
      expectFailure(
        await constrained(permitted, { san: { dns: ['.example.com'] } }),
        'name_constraints',
        /a name that cannot be interpreted is constrained$/,
      );
    });

    it('dNSName: a wildcard is permitted only if all its names are, excluded if any is (CVE-2025-61727)', async () => {
      expectFailure(
        await constrained(
          { permitted: { dns: ['example.com'] }, excluded: { dns: ['bar.example.com'] } },
          { san: { dns: ['*.example.com'] } },
        ),
        'name_constraints',
        /excluded subtree$/,
      );
      expectFailure(
        await constrained({ permitted: { dns: ['foo.example.com'] } }, { san: { dns: ['*.example.com'] } }),
        'name_constraints',
        /outside the permitted subtrees$/,
      );
      expectOk(await constrained({ permitted: { dns: ['example.com'] } }, { san: { dns: ['*.example.com'] } }));
      expectOk(await constrained({ excluded: { dns: ['a.bar.example.com'] } }, { san: { dns: ['*.example.com'] } }));
    });

    it('rfc822Name: mailbox, host and domain constraints, and emailAddress in the subject', async () => {
      expectOk(await constrained({ permitted: { email: ['example.com'] } }, { san: { email: ['alice@example.com'] } }));
      expectFailure(
        await constrained({ permitted: { email: ['example.com'] } }, { san: { email: ['alice@mail.example.com'] } }),
        'name_constraints',
        /an email address is outside the permitted subtrees$/,
      );
      expectOk(
        await constrained({ permitted: { email: ['.example.com'] } }, { san: { email: ['alice@mail.example.com'] } }),
      );
      expectOk(
        await constrained({ permitted: { email: ['alice@example.com'] } }, { san: { email: ['alice@EXAMPLE.com'] } }),
      );
      expectFailure(
        await constrained({ permitted: { email: ['alice@example.com'] } }, { san: { email: ['bob@example.com'] } }),
        'name_constraints',
      );
      expectFailure(
        await constrained({ excluded: { email: ['evil.example'] } }, { subject: 'CN=bob,E=bob@evil.example' }),
        'name_constraints',
        /an email address is in an excluded subtree$/,
      );
      expectOk(await constrained({ excluded: { email: ['evil.example'] } }, { subject: 'CN=bob,E=bob@good.example' }));
      expectFailure(
        await constrained({ permitted: { email: ['example.com'] } }, { san: { email: ['a@b@example.com'] } }),
        'name_constraints',
        /cannot be interpreted/,
      );
    });

    it('uniformResourceIdentifier: the host part', async () => {
      const permitted = { permitted: { uri: ['.example.com'] } };
      expectOk(
        await constrained(permitted, {
          san: { uri: ['spiffe://prod.example.com/ns/web', 'https://user@a.EXAMPLE.com:8443/x'] },
        }),
      );
      expectFailure(
        await constrained(permitted, { san: { uri: ['spiffe://example.org/ns/web'] } }),
        'name_constraints',
        /a URI is outside the permitted subtrees$/,
      );
      expectFailure(await constrained(permitted, { san: { uri: ['https://example.com/'] } }), 'name_constraints');
      expectOk(await constrained({ permitted: { uri: ['example.com'] } }, { san: { uri: ['https://example.com/'] } }));
      expectFailure(
        await constrained(permitted, { san: { uri: ['urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'] } }),
        'name_constraints',
        /cannot be interpreted/,
      );
      expectFailure(
        await constrained({ excluded: { uri: ['bad.example.com'] } }, { san: { uri: ['https://bad.example.com/'] } }),
        'name_constraints',
        /excluded subtree$/,
      );
    });

    it('iPAddress: IPv4 and IPv6 address ranges', async () => {
      expectOk(await constrained({ permitted: { ip: ['10.0.0.0/8'] } }, { san: { ip: ['10.1.2.3'] } }));
      expectFailure(
        await constrained({ permitted: { ip: ['10.0.0.0/8'] } }, { san: { ip: ['192.168.1.1'] } }),
        'name_constraints',
        /an IP address is outside the permitted subtrees$/,
      );
      expectFailure(
        await constrained({ excluded: { ip: ['192.0.2.0/24'] } }, { san: { ip: ['192.0.2.77'] } }),
        'name_constraints',
        /excluded subtree$/,
      );
      expectOk(await constrained({ permitted: { ip: ['2001:db8::/32'] } }, { san: { ip: ['2001:db8:1::1'] } }));
      expectFailure(
        await constrained({ permitted: { ip: ['2001:db8::/32'] } }, { san: { ip: ['2001:db9::1'] } }),
        'name_constraints',
      );
      expectFailure(await constrained({ excluded: { ip: ['::1/128'] } }, { san: { ip: ['::1'] } }), 'name_constraints');
      // Permitted IPv4 ranges constrain the iPAddress form: an IPv6 address is in none of them
      // (as in Go and OpenSSL).
      expectFailure(
        await constrained({ permitted: { ip: ['10.0.0.0/8'] } }, { san: { ip: ['2001:db8::1'] } }),
        'name_constraints',
      );
      expectOk(await constrained({ excluded: { ip: ['10.0.0.0/8'] } }, { san: { ip: ['::ffff:10.0.0.1'] } }));
    });

    it('directoryName: the subject and SAN directory names, as an RDN prefix', async () => {
      const permitted = { permitted: { dn: ['O=Acme,C=US'] } };
      expectOk(await constrained(permitted, { subject: 'CN=alice,OU=Eng,O=Acme,C=US' }));
      expectOk(await constrained(permitted, { subject: 'CN=alice,O=ACME,C=us' }));
      expectFailure(
        await constrained(permitted, { subject: 'CN=alice,O=Other,C=US' }),
        'name_constraints',
        /a directory name is outside the permitted subtrees$/,
      );
      expectFailure(
        await constrained(permitted, {
          subject: 'CN=alice,O=Acme,C=US',
          san: [{ type: 'dn', value: 'C=US, O=Other' }],
        }),
        'name_constraints',
      );
      expectFailure(
        await constrained({ excluded: { dn: ['O=Evil,C=US'] } }, { subject: 'CN=alice,O=Evil,C=US' }),
        'name_constraints',
        /excluded subtree$/,
      );
    });

    it('applies constraints of the anchor, and of every CA to every certificate below it', async () => {
      const constrainedRoot = await createCA({
        subject: 'CN=PV NC Root',
        nameConstraints: { permitted: { dns: ['example.com'] } },
        ...valid,
      });
      expectFailure(
        verify({
          leaf: await constrainedRoot.issue({ san: { dns: ['example.org'] }, ...valid }),
          anchors: [constrainedRoot],
        }),
        'name_constraints',
      );
      expectOk(
        verify({
          leaf: await constrainedRoot.issue({ san: { dns: ['example.com'] }, ...valid }),
          anchors: [constrainedRoot],
        }),
      );
      // An intermediate's own names are checked against the constraints above it.
      const ca = await constrainedRoot.intermediate({
        subject: 'CN=PV NC Sub',
        san: { dns: ['ca.example.org'] },
        ...valid,
      });
      const client = await ca.issue({ san: { dns: ['www.example.com'] }, ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [constrainedRoot], intermediates: [ca] }),
        'name_constraints',
        /^certificate at depth 1 violates the name constraints of the certificate at depth 2/,
      );
    });

    it('narrows with every CA: a later CA cannot widen what an earlier one permitted', async () => {
      const first = await root.intermediate({
        subject: 'CN=PV NC First',
        nameConstraints: { permitted: { dns: ['bar.example.com'] } },
        ...valid,
      });
      const second = await first.intermediate({
        subject: 'CN=PV NC Second',
        nameConstraints: { permitted: { dns: ['foo.example.com', 'bar.example.com'] } },
        ...valid,
      });
      const client = await second.issue({ san: { dns: ['foo.example.com'] }, ...valid });
      expectFailure(verify({ leaf: client, anchors: [root], intermediates: [first, second] }), 'name_constraints');
    });

    it('exempts self-issued intermediates, but not a self-issued leaf', async () => {
      const ca = await root.intermediate({
        subject: 'CN=PV NC Roll',
        nameConstraints: { permitted: { dns: ['example.com'] } },
        ...valid,
      });
      const rolled = await ca.intermediate({
        subject: 'CN=PV NC Roll',
        san: { dns: ['rollover.example.org'] },
        ...valid,
      });
      expectOk(
        verify({
          leaf: await rolled.issue({ san: { dns: ['ok.example.com'] }, ...valid }),
          anchors: [root],
          intermediates: [ca, rolled],
        }),
      );
      const selfIssuedLeaf = await ca.issue({ subject: 'CN=PV NC Roll', san: { dns: ['leaf.example.org'] }, ...valid });
      expectFailure(verify({ leaf: selfIssuedLeaf, anchors: [root], intermediates: [ca] }), 'name_constraints');
    });

    it('rejects a name of a constrained form it does not implement (otherName), only when present', async () => {
      const upnConstraint = tlv(
        0xa0,
        oid('1.3.6.1.4.1.311.20.2.3'),
        tlv(0xa0, tlv(0x0c, Buffer.from('x@example.com'))),
      );
      const nameConstraints = { permitted: { dns: ['example.com'] }, excluded: { raw: [upnConstraint] } };
      expectFailure(
        await constrained(nameConstraints, {
          san: [
            { type: 'dns', value: 'example.com' },
            { type: 'upn', value: 'alice@example.com' },
          ],
        }),
        'name_constraints',
        /a name of a form the constraints do not support is constrained$/,
      );
      expectOk(await constrained(nameConstraints, { san: { dns: ['example.com'] } }));
    });

    it('refuses a CA whose constraints cannot be applied', async () => {
      expectFailure(
        await constrained({ permitted: { dns: ['*.example.com'] } }, { san: { dns: ['a.example.com'] } }),
        'name_constraints',
        'certificate at depth 1 has name constraints that cannot be applied: a dNSName constraint is not a domain',
      );
      const noncontiguous = tlv(0x87, Buffer.from([10, 0, 0, 0, 255, 0, 255, 0]));
      expectFailure(
        await constrained({ permitted: { raw: [noncontiguous] } }, { san: { ip: ['10.0.0.1'] } }),
        'name_constraints',
        /an iPAddress constraint has no prefix mask$/,
      );
      const noMask = tlv(0x87, Buffer.from([127, 0, 0, 1]));
      expectFailure(
        await constrained({ permitted: { raw: [noMask] } }, { san: { ip: ['127.0.0.1'] } }),
        'malformed',
        /^certificate at depth 1 is malformed/,
      );
    });

    it('rejects name constraints on a certificate that is not a CA', async () => {
      const client = await issuing.issue({ nameConstraints: { permitted: { dns: ['example.com'] } }, ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
        'name_constraints',
        'certificate at depth 0 has name constraints but is not a CA',
      );
    });

    it('caps the comparisons: many names under many constraints are refused as too complex', async () => {
      const nameConstraints = {
        permitted: { dns: [...Array.from({ length: 600 }, (_, i) => `p${i}.test`), 'test'] },
        excluded: { dns: Array.from({ length: 600 }, (_, i) => `x${i}.test`) },
      };
      // 401 names (the subject and 400 SANs) × 1201 subtrees > 250,000; 21 × 1201 is not.
      expectFailure(
        await constrained(nameConstraints, { san: { dns: Array.from({ length: 400 }, (_, i) => `n${i}.test`) } }),
        'name_constraints',
        'certificate at depth 0 has too many names for the name constraints of the certificate at depth 1: ' +
          'too complex to check (more than 250000 name comparisons)',
      );
      expectOk(
        await constrained(nameConstraints, { san: { dns: Array.from({ length: 20 }, (_, i) => `n${i}.test`) } }),
      );
    });
  });

  describe('critical extensions', () => {
    const unknownCritical = ext(PRIVATE_OID, Buffer.from([0x05, 0x00]), true);

    it('rejects an unknown critical extension on the leaf, an intermediate or the anchor', async () => {
      const client = await issuing.issue({ extensions: [unknownCritical], ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
        'unhandled_critical_extension',
        'certificate at depth 0 has an unhandled critical extension',
      );
      expectFailure(
        verify(await underCA({ extensions: [unknownCritical] })),
        'unhandled_critical_extension',
        'certificate at depth 1 has an unhandled critical extension',
      );
      const criticalRoot = await createCA({ subject: 'CN=PV Critical Root', extensions: [unknownCritical], ...valid });
      expectFailure(
        verify({ leaf: await criticalRoot.issue(valid), anchors: [criticalRoot] }),
        'unhandled_critical_extension',
      );
      expectOk(
        verify({
          leaf: await issuing.issue({ extensions: [{ ...unknownCritical, critical: false }], ...valid }),
          anchors: [root],
          intermediates: [issuing],
        }),
      );
    });

    it('treats a must-be-non-critical extension marked critical as unhandled', async () => {
      const criticalSki = ext('2.5.29.14', tlv(0x04, Buffer.alloc(20, 1)), true);
      const criticalAia = ext(
        '1.3.6.1.5.5.7.1.1',
        seq(seq(oid('1.3.6.1.5.5.7.48.2'), tlv(0x86, Buffer.from('http://ca.example/ca.crt')))),
        true,
      );
      for (const extension of [criticalSki, criticalAia]) {
        const client = await issuing.issue({ extensions: [extension], ...valid });
        expectFailure(
          verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
          'unhandled_critical_extension',
        );
        const relaxed = await issuing.issue({ extensions: [{ ...extension, critical: false }], ...valid });
        expectOk(verify({ leaf: relaxed, anchors: [root], intermediates: [issuing] }));
      }
    });

    it('accepts the extensions it processes when they are critical', async () => {
      const criticalSan = ext('2.5.29.17', seq(tlv(0x82, Buffer.from('example.com'))), true);
      const client = await issuing.issue({ extensions: [criticalSan, certificatePolicies(true, POLICY_A)], ...valid });
      expectOk(verify({ leaf: client, anchors: [root], intermediates: [issuing] }));
      const inhibitAnyPolicy = ext('2.5.29.54', tlv(0x02, Buffer.from([0])), true);
      expectOk(verify(await underCA({ extensions: [inhibitAnyPolicy, requireExplicitPolicy(5)] })));
    });
  });

  describe('malformed extensions', () => {
    it('rejects a duplicate extension', async () => {
      const client = await issuing.issue({
        san: { dns: ['a.example.com'] },
        extensions: [ext('2.5.29.17', seq(tlv(0x82, Buffer.from('b.example.com'))))],
        ...valid,
      });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
        'malformed',
        'certificate at depth 0 is malformed: duplicate extension',
      );
    });

    it('rejects bad DER in a known extension, on the leaf or an intermediate', async () => {
      const badKeyUsage = ext('2.5.29.15', Buffer.from('not DER'), true);
      const client = await issuing.issue({ keyUsage: null, extensions: [badKeyUsage], ...valid });
      expectFailure(
        verify({ leaf: client, anchors: [root], intermediates: [issuing] }),
        'malformed',
        /^certificate at depth 0 is malformed/,
      );
      const badSan = ext('2.5.29.17', Buffer.from('example.com'));
      expectFailure(
        verify(await underCA({ extensions: [badSan] })),
        'malformed',
        /^certificate at depth 1 is malformed/,
      );
      const emptyEku = ext('2.5.29.37', seq());
      expectFailure(
        verify({
          leaf: await issuing.issue({ eku: null, extensions: [emptyEku], ...valid }),
          anchors: [root],
          intermediates: [issuing],
        }),
        'malformed',
        'certificate at depth 0 is malformed: empty extKeyUsage',
      );
    });

    it('rejects a certificate whose two signature algorithm fields differ', async () => {
      const client = await issuing.issue({ subject: 'CN=mismatch', ...valid });
      const der = Buffer.from(client.der);
      const ecdsaSha256 = oid('1.2.840.10045.4.3.2');
      const outer = der.lastIndexOf(ecdsaSha256);
      der[outer + ecdsaSha256.length - 1] = 0x03; // ecdsa-with-SHA384 outside, SHA-256 inside
      const result = verifyChainSync({
        leaf: der,
        intermediates: [issuing.cert],
        trustAnchors: [root.cert],
        at: new Date(NOW),
      });
      expectFailure(result, 'malformed', 'certificate at depth 0 is malformed: signature algorithm mismatch');
    });
  });

  describe('certificate policies', () => {
    it('enforces requireExplicitPolicy: the leaf must carry a policy valid for the path', async () => {
      const explicit = { extensions: [requireExplicitPolicy(0), certificatePolicies(false, POLICY_A)] };
      expectOk(verify(await underCA(explicit, { extensions: [certificatePolicies(false, POLICY_A)] })));
      expectFailure(
        verify(await underCA(explicit)),
        'invalid_policy',
        'certification path fails policy processing: no certificate policy is valid for the whole path, and one is required',
      );
      expectFailure(
        verify(await underCA(explicit, { extensions: [certificatePolicies(false, POLICY_B)] })),
        'invalid_policy',
      );
      const anyPolicyCa = { extensions: [requireExplicitPolicy(0), certificatePolicies(false, ANY_POLICY)] };
      expectOk(verify(await underCA(anyPolicyCa, { extensions: [certificatePolicies(false, POLICY_B)] })));
    });

    it('follows policy mappings and rejects a mapping of anyPolicy', async () => {
      const mapping = ext('2.5.29.33', seq(seq(oid(POLICY_A), oid(POLICY_B))), true);
      const mapped = { extensions: [requireExplicitPolicy(0), certificatePolicies(false, POLICY_A), mapping] };
      expectOk(verify(await underCA(mapped, { extensions: [certificatePolicies(false, POLICY_B)] })));
      expectFailure(
        verify(await underCA(mapped, { extensions: [certificatePolicies(false, POLICY_A)] })),
        'invalid_policy',
      );
      const anyMapping = ext('2.5.29.33', seq(seq(oid(ANY_POLICY), oid(POLICY_B))), true);
      expectFailure(
        verify(await underCA({ extensions: [anyMapping] })),
        'invalid_policy',
        'certification path fails policy processing: a policy mapping maps anyPolicy',
      );
    });

    it('accepts paths with policies but no explicit policy requirement', async () => {
      expectOk(
        verify(
          await underCA(
            { extensions: [certificatePolicies(true, POLICY_A)] },
            { extensions: [certificatePolicies(false, POLICY_B)] },
          ),
        ),
      );
    });
  });

  describe('pinned leaves', () => {
    it('accepts a leaf that is a trust anchor after the leaf checks, and nothing self-signed otherwise', async () => {
      const pinned = await createCA({ subject: 'CN=PV Pinned', ...valid });
      expectOk(verify({ leaf: pinned, anchors: [pinned] }), [pinned]);
      expectFailure(verify({ leaf: pinned, anchors: [root] }), 'untrusted');
      const pinnedSha1 = await createCA({ subject: 'CN=PV Pinned SHA1', signatureHash: 'SHA-1', ...valid });
      expectOk(verify({ leaf: pinnedSha1, anchors: [pinnedSha1] })); // its own signature is not relied on
      const pinnedServer = await createCA({ subject: 'CN=PV Pinned Server', eku: [SERVER_AUTH], ...valid });
      expectFailure(verify({ leaf: pinnedServer, anchors: [pinnedServer] }), 'wrong_purpose');
    });
  });

  describe('checkCertificate', () => {
    it('applies the leaf checks that need no issuer, with the same codes', async () => {
      expect(checkCertificate(leaf.x509, { at: new Date(NOW) })).to.deep.equal({ ok: true });
      const encipherOnly = await issuing.issue({ keyUsage: ['keyEncipherment'], ...valid });
      expect(checkCertificate(encipherOnly.x509, { at: new Date(NOW) })).to.include({
        ok: false,
        code: 'bad_key_usage',
      });
      expect(checkCertificate(leaf.x509, { at: new Date(NOW + 2 * DAY) })).to.include({ ok: false, code: 'expired' });
      expect(checkCertificate(leaf.x509, { at: new Date(NOW), purpose: 'serverAuth' })).to.include({
        ok: false,
        code: 'wrong_purpose',
      });
    });
  });

  describe('failure messages', () => {
    it('never contain certificate contents', async () => {
      const secret = await root.intermediate({
        subject: 'CN=secret-ca',
        nameConstraints: { permitted: { dns: ['secret.example'] } },
        ...valid,
      });
      const client = await secret.issue({
        subject: 'CN=secret-client',
        san: { dns: ['secret.other'], email: ['secret@other'] },
        ...valid,
      });
      const result = verify({ leaf: client, anchors: [root], intermediates: [secret] });
      expectFailure(result, 'name_constraints');
      expect(!result.ok && result.message).to.not.match(/secret/);
    });
  });
});
