import { expect } from 'chai';
import { webcrypto, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as X509Lib from '../../packages/core/node_modules/@peculiar/x509/build/index.js';
import { isClientCertError } from '../../packages/core/src/errors.js';
import {
  compileTrustAnchors, resolvePurpose, verifyChain, verifyChainSync, type VerifyChainInput, type VerifyChainResult,
} from '../../packages/core/src/verify.js';

// ---------------------------------------------------------------------------------------------
// Local certificate factory. @peculiar/x509 is a dependency of packages/core only (not of the
// workspace root), so it is resolved from there; it needs the reflect-metadata polyfill first.

const requireFromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url));
requireFromCore('reflect-metadata');
const x509 = requireFromCore('@peculiar/x509') as typeof X509Lib;
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type KeyPair = webcrypto.CryptoKeyPair;
type Alg = { name: string; hash: string; namedCurve?: string; modulusLength?: number; publicExponent?: Uint8Array };
const EC: Alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const RSA: Alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
/** The reference time of every check; whole seconds, as certificates store them. */
const NOW = Math.floor(Date.now() / SECOND) * SECOND;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

interface Issued {
  name: string;
  keys: KeyPair;
  alg: Alg;
  cert: X509Lib.X509Certificate;
  pem: string;
  der: Buffer;
  node: X509Certificate;
}

interface IssueParams {
  /** Common name; also the label used in assertions. */
  cn: string;
  /** Signer; self-signed when absent. */
  issuer?: Issued;
  /** Reuse a key pair (re-issued or cross-signed certificates). */
  keys?: KeyPair;
  alg?: Alg;
  ca?: boolean;
  /** Extended key usage; null omits the extension. Leaves default to clientAuth. */
  eku?: string[] | null;
  notBefore?: number;
  notAfter?: number;
  serial?: string;
}

let serialCounter = 1;

async function newKeys(alg: Alg = EC): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(alg as webcrypto.EcKeyGenParams, true, ['sign', 'verify'])) as KeyPair;
}

async function issue(p: IssueParams): Promise<Issued> {
  const alg = p.alg ?? EC;
  const keys = p.keys ?? await newKeys(alg);
  const ca = p.ca ?? false;
  const extensions: X509Lib.Extension[] = [new x509.BasicConstraintsExtension(ca, undefined, true)];
  if (ca) extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  const eku = p.eku === undefined ? (ca ? null : [CLIENT_AUTH]) : p.eku;
  if (eku) extensions.push(new x509.ExtendedKeyUsageExtension(eku));
  const subject = `CN=${p.cn}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: p.serial ?? (serialCounter++).toString(16).padStart(4, '0'),
    subject,
    issuer: p.issuer ? p.issuer.cert.subject : subject,
    notBefore: new Date(p.notBefore ?? NOW - DAY),
    notAfter: new Date(p.notAfter ?? NOW + DAY),
    publicKey: keys.publicKey,
    signingKey: (p.issuer?.keys ?? keys).privateKey,
    signingAlgorithm: p.issuer?.alg ?? alg,
    extensions,
  });
  const der = Buffer.from(cert.rawData);
  return { name: p.cn, keys, alg, cert, pem: cert.toString('pem'), der, node: new X509Certificate(der) };
}

/** A non-CA issuer: basicConstraints cA=false and no key usage, so only the CA check stops it. */
async function issueNonCa(cn: string, issuer: Issued): Promise<Issued> {
  return issue({ cn, issuer, eku: null });
}

function verify(input: Partial<VerifyChainInput> & Pick<VerifyChainInput, 'leaf'>, anchors: Issued[]): VerifyChainResult {
  return verifyChainSync({ at: new Date(NOW), trustAnchors: anchors.map((a) => a.pem), ...input });
}

function expectOk(result: VerifyChainResult, path: Issued[]): void {
  if (!result.ok) expect.fail(`expected success, got ${result.code}: ${result.message}`);
  expect(result.chain.map((c) => c.fingerprint256)).to.deep.equal(path.map((c) => c.node.fingerprint256));
}

function expectFailure(result: VerifyChainResult, code: string, message?: string): void {
  if (result.ok) expect.fail(`expected ${code}, got success`);
  expect(result.code, result.message).to.equal(code);
  if (message !== undefined) expect(result.message).to.equal(message);
}

function expectThrowsCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isClientCertError(thrown), String(thrown)).to.equal(true);
  expect((thrown as { code: string }).code).to.equal(code);
}

// ---------------------------------------------------------------------------------------------

describe('core/verify', () => {
  let root: Issued;
  let intermediate: Issued;
  let leaf: Issued;
  let rsaLeaf: Issued;
  let otherRoot: Issued;

  before(async () => {
    root = await issue({ cn: 'Root CA', ca: true });
    intermediate = await issue({ cn: 'Issuing CA', issuer: root, ca: true });
    leaf = await issue({ cn: 'alice', issuer: intermediate });
    rsaLeaf = await issue({ cn: 'rsa-client', issuer: intermediate, alg: RSA });
    otherRoot = await issue({ cn: 'Other Root', ca: true });
  });

  describe('successful paths', () => {
    it('verifies leaf → intermediate → root and returns the chain in that order', () => {
      expectOk(verify({ leaf: leaf.pem, intermediates: [intermediate.pem] }, [root]), [leaf, intermediate, root]);
    });

    it('verifies an RSA leaf, DER and X509Certificate inputs', () => {
      expectOk(verify({ leaf: rsaLeaf.der, intermediates: [intermediate.node] }, [root]), [rsaLeaf, intermediate, root]);
      expectOk(verifyChainSync({ leaf: leaf.node, intermediates: [intermediate.der], trustAnchors: [root.node], at: new Date(NOW) }),
        [leaf, intermediate, root]);
    });

    it('stops at an intermediate that is itself a trust anchor', () => {
      expectOk(verify({ leaf: leaf.pem, intermediates: [intermediate.pem] }, [intermediate, root]), [leaf, intermediate]);
      expectOk(verify({ leaf: leaf.pem }, [intermediate]), [leaf, intermediate]);
    });

    it('accepts intermediates in any order, duplicated, and as one PEM bundle', () => {
      const unrelated = otherRoot.pem;
      expectOk(verify({ leaf: leaf.pem, intermediates: [unrelated, intermediate.pem, intermediate.pem] }, [root]),
        [leaf, intermediate, root]);
      expectOk(verify({ leaf: leaf.pem, intermediates: `${unrelated}${intermediate.pem}` }, [root]), [leaf, intermediate, root]);
    });

    it('verifies through the async contract', async () => {
      const result = await verifyChain({ leaf: leaf.pem, intermediates: [intermediate.pem], trustAnchors: [root.pem] });
      expectOk(result, [leaf, intermediate, root]);
    });

    it('accepts a leaf pinned as a trust anchor, and only then', async () => {
      const selfSigned = await issue({ cn: 'pinned' });
      expectOk(verify({ leaf: selfSigned.pem }, [selfSigned]), [selfSigned]);
      expectFailure(verify({ leaf: selfSigned.pem }, [root]), 'untrusted', 'no path to a trust anchor');
    });

    it('defaults `at` to now', () => {
      expectOk(verifyChainSync({ leaf: leaf.pem, intermediates: [intermediate.pem], trustAnchors: [root.pem] }),
        [leaf, intermediate, root]);
    });
  });

  describe('trust failures', () => {
    it('rejects a leaf issued by an unrelated CA as untrusted', async () => {
      const stranger = await issue({ cn: 'alice', issuer: otherRoot });
      expectFailure(verify({ leaf: stranger.pem }, [root]), 'untrusted', 'no path to a trust anchor');
    });

    it('rejects a missing intermediate as untrusted', () => {
      expectFailure(verify({ leaf: leaf.pem }, [root]), 'untrusted');
    });

    it('does not accept a look-alike issuer whose signature does not verify', async () => {
      // Same name as the real intermediate, different key: names match, signatures do not.
      const impostor = await issue({ cn: 'Issuing CA', issuer: root, ca: true });
      expectFailure(verify({ leaf: leaf.pem, intermediates: [impostor.pem] }, [root]), 'untrusted');
      const forged = await issue({ cn: 'mallory', issuer: impostor });
      expectFailure(verify({ leaf: forged.pem, intermediates: [intermediate.pem] }, [root]), 'untrusted');
    });

    it('rejects a non-CA certificate used as an issuer', async () => {
      const notCa = await issueNonCa('Not A CA', root);
      const under = await issue({ cn: 'bob', issuer: notCa });
      expect(under.node.checkIssued(notCa.node)).to.equal(true); // only the CA flag stops it
      expectFailure(verify({ leaf: under.pem, intermediates: [notCa.pem] }, [root]), 'untrusted',
        'certificate at depth 1 is not a CA');
      expectFailure(verify({ leaf: under.pem }, [notCa]), 'untrusted', 'certificate at depth 1 is not a CA');
    });

    it('keeps certificate contents out of messages', async () => {
      const stranger = await issue({ cn: 'secret-name', issuer: otherRoot });
      const result = verify({ leaf: stranger.pem }, [root]);
      expect(!result.ok && result.message).to.not.include('secret');
    });
  });

  describe('validity', () => {
    let expired: Issued;
    let notYetValid: Issued;

    before(async () => {
      expired = await issue({ cn: 'expired', issuer: intermediate, notBefore: NOW - 2 * DAY, notAfter: NOW - HOUR });
      notYetValid = await issue({ cn: 'future', issuer: intermediate, notBefore: NOW + HOUR, notAfter: NOW + DAY });
    });

    it('rejects an expired leaf', () => {
      expectFailure(verify({ leaf: expired.pem, intermediates: [intermediate.pem] }, [root]), 'expired',
        'certificate at depth 0 has expired');
    });

    it('rejects a not-yet-valid leaf', () => {
      expectFailure(verify({ leaf: notYetValid.pem, intermediates: [intermediate.pem] }, [root]), 'not_yet_valid',
        'certificate at depth 0 is not yet valid');
    });

    it('checks whole seconds, inclusive at both ends, with tolerance', () => {
      const input = { leaf: leaf.pem, intermediates: [intermediate.pem] };
      const notAfter = leaf.cert.notAfter.getTime();
      const notBefore = leaf.cert.notBefore.getTime();
      expectOk(verify({ ...input, at: new Date(notAfter) }, [root]), [leaf, intermediate, root]);
      expectOk(verify({ ...input, at: new Date(notAfter + 999) }, [root]), [leaf, intermediate, root]);
      expectFailure(verify({ ...input, at: new Date(notAfter + SECOND) }, [root]), 'expired');
      expectOk(verify({ ...input, at: new Date(notBefore) }, [root]), [leaf, intermediate, root]);
      expectFailure(verify({ ...input, at: new Date(notBefore - 1) }, [root]), 'not_yet_valid');
      expectOk(verify({ ...input, at: new Date(notAfter + 5 * SECOND), clockToleranceSeconds: 5 }, [root]),
        [leaf, intermediate, root]);
      expectFailure(verify({ ...input, at: new Date(notAfter + 6 * SECOND), clockToleranceSeconds: 5 }, [root]), 'expired');
      expectOk(verify({ ...input, at: new Date(notBefore - 5 * SECOND), clockToleranceSeconds: 5 }, [root]),
        [leaf, intermediate, root]);
      expectOk(verify({ leaf: expired.pem, intermediates: [intermediate.pem], clockToleranceSeconds: 2 * 3600 }, [root]),
        [expired, intermediate, root]);
    });

    it('rejects an expired intermediate, and an anchor outside its validity', async () => {
      const oldIntermediate = await issue({
        cn: 'Old CA', issuer: root, ca: true, notBefore: NOW - 3 * DAY, notAfter: NOW - DAY,
      });
      const under = await issue({ cn: 'carol', issuer: oldIntermediate, notBefore: NOW - 2 * DAY });
      expectFailure(verify({ leaf: under.pem, intermediates: [oldIntermediate.pem] }, [root]), 'expired',
        'certificate at depth 1 has expired');
      const futureRoot = await issue({ cn: 'Future Root', ca: true, notBefore: NOW + HOUR });
      const underFuture = await issue({ cn: 'dave', issuer: futureRoot });
      expectFailure(verify({ leaf: underFuture.pem }, [futureRoot]), 'not_yet_valid', 'certificate at depth 1 is not yet valid');
    });

    it('tries an alternative when the first issuer candidate is expired', async () => {
      // The same intermediate (name and key) issued twice: once long expired, once current.
      const stale = await issue({
        cn: 'Issuing CA', keys: intermediate.keys, issuer: root, ca: true, notBefore: NOW - 3 * DAY, notAfter: NOW - DAY,
      });
      expectOk(verify({ leaf: leaf.pem, intermediates: [stale.pem, intermediate.pem] }, [root]), [leaf, intermediate, root]);
      expectFailure(verify({ leaf: leaf.pem, intermediates: [stale.pem] }, [root]), 'expired',
        'certificate at depth 1 has expired');
    });
  });

  describe('purpose', () => {
    let serverOnly: Issued;
    let noEku: Issued;
    let anyEku: Issued;

    before(async () => {
      serverOnly = await issue({ cn: 'server', issuer: intermediate, eku: [SERVER_AUTH] });
      noEku = await issue({ cn: 'no-eku', issuer: intermediate, eku: null });
      anyEku = await issue({ cn: 'any-eku', issuer: intermediate, eku: ['2.5.29.37.0'] });
    });

    const check = (who: Issued, purpose?: string): VerifyChainResult =>
      verify({ leaf: who.pem, intermediates: [intermediate.pem], ...(purpose === undefined ? {} : { purpose }) }, [root]);

    it('requires clientAuth by default', () => {
      expectFailure(check(serverOnly), 'wrong_purpose', 'certificate at depth 0 is not valid for the required purpose');
      expectOk(check(leaf), [leaf, intermediate, root]);
    });

    it('accepts a leaf without the EKU extension, or with anyExtendedKeyUsage', () => {
      expectOk(check(noEku), [noEku, intermediate, root]);
      expectOk(check(anyEku), [anyEku, intermediate, root]);
    });

    it('accepts purpose names, case-insensitively, dotted OIDs, and any', () => {
      expectOk(check(serverOnly, 'serverAuth'), [serverOnly, intermediate, root]);
      expectOk(check(serverOnly, 'SERVERAUTH'), [serverOnly, intermediate, root]);
      expectOk(check(serverOnly, SERVER_AUTH), [serverOnly, intermediate, root]);
      expectOk(check(serverOnly, 'any'), [serverOnly, intermediate, root]);
      expectFailure(check(leaf, 'codeSigning'), 'wrong_purpose');
      expectFailure(check(leaf, 'emailProtection'), 'wrong_purpose');
      expect(resolvePurpose(undefined)).to.equal(CLIENT_AUTH);
      expect(resolvePurpose('any')).to.equal(null);
    });

    it('throws invalid_option for an unknown purpose or bad time options', async () => {
      expectThrowsCode(() => check(leaf, 'clientauthx'), 'invalid_option');
      expectThrowsCode(() => check(leaf, '1..2'), 'invalid_option');
      expectThrowsCode(() => verify({ leaf: leaf.pem, at: new Date(NaN) }, [root]), 'invalid_option');
      expectThrowsCode(() => verify({ leaf: leaf.pem, clockToleranceSeconds: -1 }, [root]), 'invalid_option');
      let rejected: unknown;
      await verifyChain({ leaf: leaf.pem, trustAnchors: [root.pem], purpose: 'nope' }).catch((error: unknown) => {
        rejected = error;
      });
      expect((rejected as { code?: string } | undefined)?.code).to.equal('invalid_option');
    });

    it('checks validity before purpose', async () => {
      const expiredServer = await issue({
        cn: 'old-server', issuer: intermediate, eku: [SERVER_AUTH], notBefore: NOW - 2 * DAY, notAfter: NOW - HOUR,
      });
      expectFailure(check(expiredServer), 'expired');
    });
  });

  describe('failure reporting across paths', () => {
    it('reports the failure of the path that got furthest, whatever the order tried', async () => {
      // Two twins of the intermediate (same name and key): one is not a CA, one has expired.
      const notCaTwin = await issue({ cn: 'Issuing CA', keys: intermediate.keys, issuer: root, eku: null });
      const staleTwin = await issue({
        cn: 'Issuing CA', keys: intermediate.keys, issuer: root, ca: true, notBefore: NOW - 3 * DAY, notAfter: NOW - DAY,
      });
      for (const intermediates of [[notCaTwin.pem, staleTwin.pem], [staleTwin.pem, notCaTwin.pem]]) {
        expectFailure(verify({ leaf: leaf.pem, intermediates }, [root]), 'expired', 'certificate at depth 1 has expired');
      }
      expectFailure(verify({ leaf: leaf.pem, intermediates: [notCaTwin.pem] }, [root]), 'untrusted',
        'certificate at depth 1 is not a CA');
      expectOk(verify({ leaf: leaf.pem, intermediates: [notCaTwin.pem, staleTwin.pem, intermediate.pem] }, [root]),
        [leaf, intermediate, root]);
    });
  });

  describe('malformed input', () => {
    it('reports unparseable leaf or intermediates as malformed', () => {
      expectFailure(verify({ leaf: Buffer.from('garbage') }, [root]), 'malformed');
      expectFailure(verify({ leaf: '' }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.der.subarray(0, 50) }, [root]), 'malformed');
      expectFailure(verify({ leaf: Buffer.concat([leaf.der, Buffer.from([0])]) }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.pem, intermediates: [Buffer.from([0x30, 0x00])] }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.pem, intermediates: ['not a certificate'] }, [root]), 'malformed');
    });
  });

  describe('bounded path building', () => {
    it('does not loop over two cross-signed intermediates, and still finds the way out', async () => {
      const keysA = await newKeys();
      const keysB = await newKeys();
      const seedB = await issue({ cn: 'Cross B', keys: keysB, ca: true }); // only lends B's name and key
      const aByB = await issue({ cn: 'Cross A', keys: keysA, issuer: seedB, ca: true });
      const bByA = await issue({ cn: 'Cross B', keys: keysB, issuer: aByB, ca: true });
      const under = await issue({ cn: 'erin', issuer: aByB });

      const started = Date.now();
      expectFailure(verify({ leaf: under.pem, intermediates: [aByB.pem, bByA.pem] }, [root]), 'untrusted');
      expect(Date.now() - started).to.be.below(2000);

      const bByRoot = await issue({ cn: 'Cross B', keys: keysB, issuer: root, ca: true });
      expectOk(verify({ leaf: under.pem, intermediates: [bByA.pem, aByB.pem, bByRoot.pem] }, [root]),
        [under, aByB, bByRoot, root]);
    });

    it('gives up within its work limit on a dense mesh of mutually issued intermediates', async () => {
      // Ten certificates with one name and one key: each verifies as the issuer of every other.
      const keys = await newKeys();
      const seed = await issue({ cn: 'Mesh', keys, ca: true });
      const mesh = await Promise.all(Array.from({ length: 10 }, () => issue({ cn: 'Mesh', keys, issuer: seed, ca: true })));
      const under = await issue({ cn: 'frank', issuer: seed });
      const started = Date.now();
      expectFailure(verify({ leaf: under.pem, intermediates: mesh.map((m) => m.pem) }, [root]), 'untrusted',
        'no path to a trust anchor found within the path building limit');
      expect(Date.now() - started).to.be.below(2000);
    });

    it('allows at most 8 certificates above the leaf', async () => {
      const chain: Issued[] = [root];
      for (let i = 1; i <= 8; i++) chain.push(await issue({ cn: `Level ${i}`, issuer: chain[i - 1]!, ca: true }));
      const deep = await issue({ cn: 'deep', issuer: chain[8]! }); // 8 intermediates + root = depth 9
      const shallow = await issue({ cn: 'shallow', issuer: chain[7]! }); // depth 8
      const intermediates = chain.slice(1).map((c) => c.pem);
      expectFailure(verify({ leaf: deep.pem, intermediates }, [root]), 'untrusted');
      expectOk(verify({ leaf: shallow.pem, intermediates }, [root]), [shallow, ...chain.slice(0, 8).reverse()]);
    });
  });

  describe('compileTrustAnchors', () => {
    it('splits bundles, accepts DER and Node objects, and drops duplicates', () => {
      const anchors = compileTrustAnchors(`${root.pem}\n${otherRoot.pem}`);
      expect(anchors.map((a) => a.fingerprint256)).to.deep.equal([root.node.fingerprint256, otherRoot.node.fingerprint256]);
      expect(compileTrustAnchors(root.der)).to.have.length(1);
      expect(compileTrustAnchors([root.pem, root.der, Buffer.from(otherRoot.pem), root.node])).to.have.length(2);
      const withKey = `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${root.pem}`;
      expect(compileTrustAnchors(withKey)).to.have.length(1);
    });

    it('feeds verifyChainSync without re-parsing', () => {
      const anchors = compileTrustAnchors([root.pem]);
      const result = verifyChainSync({ leaf: leaf.node, intermediates: [intermediate.node], trustAnchors: anchors, at: new Date(NOW) });
      expectOk(result, [leaf, intermediate, root]);
      if (result.ok) expect(result.chain[2]).to.equal(anchors[0]);
    });

    it('throws invalid_option with a clear message when nothing usable is given', () => {
      expectThrowsCode(() => compileTrustAnchors(''), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors([]), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors('just text'), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors(Buffer.from('garbage')), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors([root.pem, 'garbage']), 'invalid_option');
      try {
        compileTrustAnchors('');
      } catch (error) {
        expect((error as Error).message).to.match(/no trust anchor certificate found/);
      }
      try {
        compileTrustAnchors([root.pem, 'garbage']);
      } catch (error) {
        expect((error as Error).message).to.include('trust anchor entry 2');
      }
    });
  });
});
