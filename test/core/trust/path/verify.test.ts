import { expect } from 'chai';
import {
  createCA,
  createSelfSigned,
  generateKeyPair,
  type TestCA,
  type TestCertificate,
} from '../../../../packages/core/src/testkit/index.js';
import {
  checkCertificate,
  checkKeyPolicy,
  compileTrustAnchors,
  resolvePurpose,
  type VerifyChainInput,
  type VerifyChainResult,
  verifyChain,
  verifyChainSync,
} from '../../../../packages/core/src/trust/path/verify.js';
import { expectClientCertError as expectThrowsCode } from '../../../helpers/errors.js';
import { expectFailure, expectOk } from '../../../helpers/verify.js';

const SECOND = 1000;
const HOUR = 3600 * SECOND;
const DAY = 24 * HOUR;
/** The reference time of every check; whole seconds, as certificates store them. */
const NOW = Math.floor(Date.now() / SECOND) * SECOND;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * Validity for a test certificate, by default a day either side of NOW. Every certificate states
 * it: the kit's default starts a minute before the certificate is made, which can be later than
 * NOW (fixed when this file loads) on a slow run.
 */
function validity(notBefore = NOW - DAY, notAfter = NOW + DAY): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter) };
}

function verify(
  input: Partial<VerifyChainInput> & Pick<VerifyChainInput, 'leaf'>,
  anchors: TestCertificate[],
): VerifyChainResult {
  return verifyChainSync({ at: new Date(NOW), trustAnchors: anchors.map((a) => a.cert), ...input });
}

// ---------------------------------------------------------------------------------------------

describe('core/verify', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let leaf: TestCertificate;
  let rsaLeaf: TestCertificate;
  let otherRoot: TestCA;

  before(async () => {
    root = await createCA({ subject: 'CN=Root CA', ...validity() });
    intermediate = await root.intermediate({ subject: 'CN=Issuing CA', ...validity() });
    leaf = await intermediate.issue({ subject: 'CN=alice', ...validity() });
    rsaLeaf = await intermediate.issue({ subject: 'CN=rsa-client', keyType: 'rsa', ...validity() });
    otherRoot = await createCA({ subject: 'CN=Other Root', ...validity() });
  });

  describe('successful paths', () => {
    it('verifies leaf → intermediate → root and returns the chain in that order', () => {
      expectOk(verify({ leaf: leaf.cert, intermediates: [intermediate.cert] }, [root]), [leaf, intermediate, root]);
    });

    it('verifies an RSA leaf, DER and X509Certificate inputs', () => {
      expectOk(verify({ leaf: rsaLeaf.der, intermediates: [intermediate.x509] }, [root]), [
        rsaLeaf,
        intermediate,
        root,
      ]);
      expectOk(
        verifyChainSync({
          leaf: leaf.x509,
          intermediates: [intermediate.der],
          trustAnchors: [root.x509],
          at: new Date(NOW),
        }),
        [leaf, intermediate, root],
      );
    });

    it('stops at an intermediate that is itself a trust anchor', () => {
      expectOk(verify({ leaf: leaf.cert, intermediates: [intermediate.cert] }, [intermediate, root]), [
        leaf,
        intermediate,
      ]);
      expectOk(verify({ leaf: leaf.cert }, [intermediate]), [leaf, intermediate]);
    });

    it('accepts intermediates in any order, duplicated, and as one PEM bundle', () => {
      // Without its final newline, so that in the bundle below the next block starts on the same line.
      const unrelated = otherRoot.cert.trimEnd();
      expectOk(verify({ leaf: leaf.cert, intermediates: [unrelated, intermediate.cert, intermediate.cert] }, [root]), [
        leaf,
        intermediate,
        root,
      ]);
      expectOk(verify({ leaf: leaf.cert, intermediates: `${unrelated}${intermediate.cert}` }, [root]), [
        leaf,
        intermediate,
        root,
      ]);
    });

    it('verifies through the async contract', async () => {
      const result = await verifyChain({
        leaf: leaf.cert,
        intermediates: [intermediate.cert],
        trustAnchors: [root.cert],
      });
      expectOk(result, [leaf, intermediate, root]);
    });

    it('accepts a leaf pinned as a trust anchor, and only then', async () => {
      const selfSigned = await createSelfSigned({ subject: 'CN=pinned', ...validity() });
      expectOk(verify({ leaf: selfSigned.cert }, [selfSigned]), [selfSigned]);
      expectFailure(verify({ leaf: selfSigned.cert }, [root]), 'untrusted', 'no path to a trust anchor');
    });

    it('defaults `at` to now', () => {
      expectOk(verifyChainSync({ leaf: leaf.cert, intermediates: [intermediate.cert], trustAnchors: [root.cert] }), [
        leaf,
        intermediate,
        root,
      ]);
    });
  });

  describe('trust failures', () => {
    it('rejects a leaf issued by an unrelated CA as untrusted', async () => {
      const stranger = await otherRoot.issue({ subject: 'CN=alice', ...validity() });
      expectFailure(verify({ leaf: stranger.cert }, [root]), 'untrusted', 'no path to a trust anchor');
    });

    it('rejects a missing intermediate as untrusted', () => {
      expectFailure(verify({ leaf: leaf.cert }, [root]), 'untrusted');
    });

    it('does not accept a look-alike issuer whose signature does not verify', async () => {
      // Same name as the real intermediate, different key: names match, signatures do not. Without
      // key identifiers nothing but the signature tells the impostor from the real intermediate.
      const impostor = await root.intermediate({ subject: 'CN=Issuing CA', keyIdentifiers: false, ...validity() });
      expect(leaf.x509.checkIssued(impostor.x509)).to.equal(true); // names alone match
      expectFailure(verify({ leaf: leaf.cert, intermediates: [impostor.cert] }, [root]), 'untrusted');
      const forged = await impostor.issue({ subject: 'CN=mallory', keyIdentifiers: false, ...validity() });
      expect(forged.x509.checkIssued(intermediate.x509)).to.equal(true);
      expectFailure(verify({ leaf: forged.cert, intermediates: [intermediate.cert] }, [root]), 'untrusted');
    });

    it('rejects a non-CA certificate used as an issuer', async () => {
      // A non-CA issuer: basicConstraints cA=false and no key usage, so only the CA check stops it.
      const notCa = await root.intermediate({
        subject: 'CN=Not A CA',
        ca: false,
        keyUsage: null,
        eku: null,
        ...validity(),
      });
      const under = await notCa.issue({ subject: 'CN=bob', ...validity() });
      expect(under.x509.checkIssued(notCa.x509)).to.equal(true); // only the CA flag stops it
      expectFailure(
        verify({ leaf: under.cert, intermediates: [notCa.cert] }, [root]),
        'invalid_ca',
        'certificate at depth 1 is not a CA',
      );
      expectFailure(verify({ leaf: under.cert }, [notCa]), 'invalid_ca', 'certificate at depth 1 is not a CA');
    });

    it('keeps certificate contents out of messages', async () => {
      const stranger = await otherRoot.issue({ subject: 'CN=secret-name', ...validity() });
      const result = verify({ leaf: stranger.cert }, [root]);
      expect(!result.ok && result.message).to.not.include('secret');
    });
  });

  describe('validity', () => {
    let expired: TestCertificate;
    let notYetValid: TestCertificate;

    before(async () => {
      expired = await intermediate.issue({ subject: 'CN=expired', ...validity(NOW - 2 * DAY, NOW - HOUR) });
      notYetValid = await intermediate.issue({ subject: 'CN=future', ...validity(NOW + HOUR, NOW + DAY) });
    });

    it('rejects an expired leaf', () => {
      expectFailure(
        verify({ leaf: expired.cert, intermediates: [intermediate.cert] }, [root]),
        'expired',
        'certificate at depth 0 has expired',
      );
    });

    it('rejects a not-yet-valid leaf', () => {
      expectFailure(
        verify({ leaf: notYetValid.cert, intermediates: [intermediate.cert] }, [root]),
        'not_yet_valid',
        'certificate at depth 0 is not yet valid',
      );
    });

    it('checks whole seconds, inclusive at both ends, with tolerance', () => {
      const input = { leaf: leaf.cert, intermediates: [intermediate.cert] };
      const notAfter = leaf.notAfter.getTime();
      const notBefore = leaf.notBefore.getTime();
      expectOk(verify({ ...input, at: new Date(notAfter) }, [root]), [leaf, intermediate, root]);
      expectOk(verify({ ...input, at: new Date(notAfter + 999) }, [root]), [leaf, intermediate, root]);
      expectFailure(verify({ ...input, at: new Date(notAfter + SECOND) }, [root]), 'expired');
      expectOk(verify({ ...input, at: new Date(notBefore) }, [root]), [leaf, intermediate, root]);
      expectFailure(verify({ ...input, at: new Date(notBefore - 1) }, [root]), 'not_yet_valid');
      expectOk(verify({ ...input, at: new Date(notAfter + 5 * SECOND), clockToleranceSeconds: 5 }, [root]), [
        leaf,
        intermediate,
        root,
      ]);
      expectFailure(
        verify({ ...input, at: new Date(notAfter + 6 * SECOND), clockToleranceSeconds: 5 }, [root]),
        'expired',
      );
      expectOk(verify({ ...input, at: new Date(notBefore - 5 * SECOND), clockToleranceSeconds: 5 }, [root]), [
        leaf,
        intermediate,
        root,
      ]);
      expectOk(
        verify({ leaf: expired.cert, intermediates: [intermediate.cert], clockToleranceSeconds: 2 * 3600 }, [root]),
        [expired, intermediate, root],
      );
    });

    it('rejects an expired intermediate, and an anchor outside its validity', async () => {
      const oldIntermediate = await root.intermediate({ subject: 'CN=Old CA', ...validity(NOW - 3 * DAY, NOW - DAY) });
      const under = await oldIntermediate.issue({ subject: 'CN=carol', ...validity(NOW - 2 * DAY) });
      expectFailure(
        verify({ leaf: under.cert, intermediates: [oldIntermediate.cert] }, [root]),
        'expired',
        'certificate at depth 1 has expired',
      );
      const futureRoot = await createCA({ subject: 'CN=Future Root', ...validity(NOW + HOUR) });
      const underFuture = await futureRoot.issue({ subject: 'CN=dave', ...validity() });
      expectFailure(
        verify({ leaf: underFuture.cert }, [futureRoot]),
        'not_yet_valid',
        'certificate at depth 1 is not yet valid',
      );
    });

    it('tries an alternative when the first issuer candidate is expired', async () => {
      // The same intermediate (name and key) issued twice: once long expired, once current.
      const stale = await root.intermediate({
        subject: 'CN=Issuing CA',
        keyPair: intermediate.keys,
        ...validity(NOW - 3 * DAY, NOW - DAY),
      });
      expectOk(verify({ leaf: leaf.cert, intermediates: [stale.cert, intermediate.cert] }, [root]), [
        leaf,
        intermediate,
        root,
      ]);
      expectFailure(
        verify({ leaf: leaf.cert, intermediates: [stale.cert] }, [root]),
        'expired',
        'certificate at depth 1 has expired',
      );
    });
  });

  describe('purpose', () => {
    let serverOnly: TestCertificate;
    let noEku: TestCertificate;
    let anyEku: TestCertificate;

    before(async () => {
      serverOnly = await intermediate.issue({ subject: 'CN=server', eku: [SERVER_AUTH], ...validity() });
      noEku = await intermediate.issue({ subject: 'CN=no-eku', eku: null, ...validity() });
      anyEku = await intermediate.issue({ subject: 'CN=any-eku', eku: ['2.5.29.37.0'], ...validity() });
    });

    const check = (who: TestCertificate, purpose?: string): VerifyChainResult =>
      verify({ leaf: who.cert, intermediates: [intermediate.cert], ...(purpose === undefined ? {} : { purpose }) }, [
        root,
      ]);

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
      expectThrowsCode(() => verify({ leaf: leaf.cert, at: new Date(NaN) }, [root]), 'invalid_option');
      expectThrowsCode(() => verify({ leaf: leaf.cert, clockToleranceSeconds: -1 }, [root]), 'invalid_option');
      let rejected: unknown;
      await verifyChain({ leaf: leaf.cert, trustAnchors: [root.cert], purpose: 'nope' }).catch((error: unknown) => {
        rejected = error;
      });
      expect((rejected as { code?: string } | undefined)?.code).to.equal('invalid_option');
    });

    it('checks validity before purpose', async () => {
      const expiredServer = await intermediate.issue({
        subject: 'CN=old-server',
        eku: [SERVER_AUTH],
        ...validity(NOW - 2 * DAY, NOW - HOUR),
      });
      expectFailure(check(expiredServer), 'expired');
    });
  });

  describe('failure reporting across paths', () => {
    it('reports the failure of the path that got furthest, whatever the order tried', async () => {
      // Two twins of the intermediate (same name and key): one is not a CA (and has no key usage,
      // so that only the CA check stops it), one has expired.
      const notCaTwin = await root.issue({
        subject: 'CN=Issuing CA',
        keyPair: intermediate.keys,
        eku: null,
        keyUsage: null,
        ...validity(),
      });
      const staleTwin = await root.intermediate({
        subject: 'CN=Issuing CA',
        keyPair: intermediate.keys,
        ...validity(NOW - 3 * DAY, NOW - DAY),
      });
      for (const intermediates of [
        [notCaTwin.cert, staleTwin.cert],
        [staleTwin.cert, notCaTwin.cert],
      ]) {
        expectFailure(
          verify({ leaf: leaf.cert, intermediates }, [root]),
          'expired',
          'certificate at depth 1 has expired',
        );
      }
      expectFailure(
        verify({ leaf: leaf.cert, intermediates: [notCaTwin.cert] }, [root]),
        'invalid_ca',
        'certificate at depth 1 is not a CA',
      );
      expectOk(
        verify({ leaf: leaf.cert, intermediates: [notCaTwin.cert, staleTwin.cert, intermediate.cert] }, [root]),
        [leaf, intermediate, root],
      );
    });
  });

  describe('malformed input', () => {
    it('reports unparseable leaf or intermediates as malformed', () => {
      expectFailure(verify({ leaf: Buffer.from('garbage') }, [root]), 'malformed');
      expectFailure(verify({ leaf: '' }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.der.subarray(0, 50) }, [root]), 'malformed');
      expectFailure(verify({ leaf: Buffer.concat([leaf.der, Buffer.from([0])]) }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.cert, intermediates: [Buffer.from([0x30, 0x00])] }, [root]), 'malformed');
      expectFailure(verify({ leaf: leaf.cert, intermediates: ['not a certificate'] }, [root]), 'malformed');
    });

    it('checkCertificate and checkKeyPolicy answer malformed, not a throw, for names Node parses and RFC 5280 forbids', async () => {
      // An empty RDN: OpenSSL reads the certificate, the path validator's name reader refuses it.
      const emptyRdn = await intermediate.issue({ subject: [{}, { CN: ['x'] }] as never, ...validity() });
      const expected = {
        ok: false,
        code: 'malformed',
        message: 'malformed certificate: empty relative distinguished name',
      };
      expect(checkCertificate(emptyRdn.x509, { at: new Date(NOW) })).to.deep.equal(expected);
      expect(checkKeyPolicy([leaf.x509, emptyRdn.x509])).to.deep.equal(expected);
      expectFailure(
        verify({ leaf: emptyRdn.cert, intermediates: [intermediate.cert] }, [root]),
        'malformed',
        expected.message,
      );
    });
  });

  describe('bounded path building', () => {
    it('does not loop over two cross-signed intermediates, and still finds the way out', async () => {
      const keysA = await generateKeyPair();
      const keysB = await generateKeyPair();
      const seedB = await createCA({ subject: 'CN=Cross B', keyPair: keysB, ...validity() }); // only lends B's name and key
      const aByB = await seedB.intermediate({ subject: 'CN=Cross A', keyPair: keysA, ...validity() });
      const bByA = await aByB.intermediate({ subject: 'CN=Cross B', keyPair: keysB, ...validity() });
      const under = await aByB.issue({ subject: 'CN=erin', ...validity() });

      const started = Date.now();
      expectFailure(verify({ leaf: under.cert, intermediates: [aByB.cert, bByA.cert] }, [root]), 'untrusted');
      expect(Date.now() - started).to.be.below(2000);

      const bByRoot = await root.intermediate({ subject: 'CN=Cross B', keyPair: keysB, ...validity() });
      expectOk(verify({ leaf: under.cert, intermediates: [bByA.cert, aByB.cert, bByRoot.cert] }, [root]), [
        under,
        aByB,
        bByRoot,
        root,
      ]);
    });

    it('ends at once on a dense mesh of mutually issued intermediates of one subject and key', async () => {
      // Ten certificates with one name and one key: each verifies as the issuer of every other,
      // but a subject and key may appear only once in a path (RFC 4158 loop detection).
      const keyPair = await generateKeyPair();
      const seed = await createCA({ subject: 'CN=Mesh', keyPair, ...validity() });
      const mesh = await Promise.all(
        Array.from({ length: 10 }, () => seed.intermediate({ subject: 'CN=Mesh', keyPair, ...validity() })),
      );
      const under = await seed.issue({ subject: 'CN=frank', ...validity() });
      const started = Date.now();
      expectFailure(
        verify({ leaf: under.cert, intermediates: mesh.map((m) => m.cert) }, [root]),
        'untrusted',
        'no path to a trust anchor',
      );
      expect(Date.now() - started).to.be.below(2000);
    });

    it('allows at most 8 certificates above the leaf', async () => {
      const chain: TestCA[] = [root];
      for (let i = 1; i <= 8; i++)
        chain.push(await chain[i - 1]!.intermediate({ subject: `CN=Level ${i}`, ...validity() }));
      const deep = await chain[8]!.issue({ subject: 'CN=deep', ...validity() }); // 8 intermediates + root = depth 9
      const shallow = await chain[7]!.issue({ subject: 'CN=shallow', ...validity() }); // depth 8
      const intermediates = chain.slice(1).map((c) => c.cert);
      expectFailure(verify({ leaf: deep.cert, intermediates }, [root]), 'untrusted');
      expectOk(verify({ leaf: shallow.cert, intermediates }, [root]), [shallow, ...chain.slice(0, 8).reverse()]);
    });
  });

  describe('compileTrustAnchors', () => {
    it('splits bundles, accepts DER and Node objects, and drops duplicates', () => {
      const anchors = compileTrustAnchors(`${root.cert}\n${otherRoot.cert}`);
      expect(anchors.map((a) => a.fingerprint256)).to.deep.equal([
        root.x509.fingerprint256,
        otherRoot.x509.fingerprint256,
      ]);
      expect(compileTrustAnchors(root.der)).to.have.length(1);
      expect(compileTrustAnchors([root.cert, root.der, Buffer.from(otherRoot.cert), root.x509])).to.have.length(2);
      const withKey = `-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n${root.cert}`;
      expect(compileTrustAnchors(withKey)).to.have.length(1);
    });

    it('feeds verifyChainSync without re-parsing', () => {
      const anchors = compileTrustAnchors([root.cert]);
      const result = verifyChainSync({
        leaf: leaf.x509,
        intermediates: [intermediate.x509],
        trustAnchors: anchors,
        at: new Date(NOW),
      });
      expectOk(result, [leaf, intermediate, root]);
      if (result.ok) expect(result.chain[2]).to.equal(anchors[0]);
    });

    it('throws invalid_option with a clear message when nothing usable is given', () => {
      expectThrowsCode(() => compileTrustAnchors(''), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors([]), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors('just text'), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors(Buffer.from('garbage')), 'invalid_option');
      expectThrowsCode(() => compileTrustAnchors([root.cert, 'garbage']), 'invalid_option');
      try {
        compileTrustAnchors('');
      } catch (error) {
        expect((error as Error).message).to.match(/no trust anchor certificate found/);
      }
      try {
        compileTrustAnchors([root.cert, 'garbage']);
      } catch (error) {
        expect((error as Error).message).to.include('trust anchor entry 2');
      }
    });
  });
});
