/**
 * The problem `detail` is the verification result's `message`, and an attacker can send any chain
 * they like: if the message depended on whether a DN they guessed is a configured trust anchor,
 * they could map the configuration one guess at a time. The path search looks at a presented
 * certificate only when its issuer's name leads to an anchor, so every failure it finds about a
 * certificate that is not proven (by signatures) to be under an anchor — the attacker's own CA
 * "issued by" the guessed DN, a decoy that does not sign, the search limit — is `untrusted` with
 * one fixed message. The detailed `reason` stays available for logs.
 *
 * Each case presents the same chain to two configurations: one whose anchor has the guessed DN
 * (and another key), one whose anchor has a different DN. The results must not differ.
 */
import { expect } from 'chai';
import {
  type CAOptions,
  createCA,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
} from '../../../../packages/core/src/testkit/index.js';
import { type VerifyChainResult, verifyChainSync } from '../../../../packages/core/src/trust/path/verify.js';
import { startServer } from '../../../hardening/servers.js';
import { request } from '../../../helpers/http-client.js';
import { expectFailure } from '../../../helpers/verify.js';

const GUESS = 'CN=Guessed Root,O=Target';
const DAY = 86_400_000;
const expired = { notBefore: new Date(Date.now() - 3 * DAY), notAfter: new Date(Date.now() - DAY) };

/** What the client is told: everything but `reason`. */
function told(result: VerifyChainResult): unknown {
  return result.ok ? { ok: true } : { ok: false, code: result.code, message: result.message };
}

describe('core/verify: the failure message does not tell which anchors are configured', function () {
  this.timeout(60_000);

  let configured: TestCA; // the real anchor, whose DN the attacker guesses
  let unrelated: TestCA; // an anchor with another DN
  let forgedRoot: TestCA; // the attacker's own CA, named as the guess

  before(async () => {
    configured = await createCA({ subject: GUESS });
    unrelated = await createCA({ subject: 'CN=Unrelated Root' });
    forgedRoot = await createCA({ subject: GUESS });
  });

  function both(leaf: TestCertificate, intermediates: TestCertificate[] = []): [VerifyChainResult, VerifyChainResult] {
    const input = { leaf: leaf.cert, intermediates: intermediates.map((c) => c.cert) };
    return [
      verifyChainSync({ ...input, trustAnchors: [configured.cert] }),
      verifyChainSync({ ...input, trustAnchors: [unrelated.cert] }),
    ];
  }

  it('a leaf "issued by" the anchor\'s DN under another key is told the same as one issued by an unknown DN', async () => {
    const [guessed, unknown] = both(await forgedRoot.issue({ subject: 'CN=mallory', keyIdentifiers: false }));
    expectFailure(guessed, 'untrusted', 'no path to a trust anchor');
    expect(told(guessed)).to.deep.equal(told(unknown));
    // The logs can still tell them apart.
    expect(!guessed.ok && guessed.reason).to.equal(
      'no path to a trust anchor: 1 certificate(s) named as an issuer did not sign',
    );
    expect(!unknown.ok && unknown.reason).to.match(/no trust anchor or intermediate leads by name/);
  });

  // The attacker's own CA, "issued by" the guessed DN, with one defect each: before, the defect
  // was reported (with its own code: `expired` even became client_certificate_expired) only when
  // the guess was right.
  const defects: Array<[string, CAOptions]> = [
    ['that is not a CA', { ca: false, keyUsage: null }],
    ['that has expired', expired],
    ['with an extended key usage without clientAuth', { eku: ['serverAuth'] }],
    ['with a key usage without keyCertSign', { keyUsage: ['digitalSignature'] }],
    ['with an RSA key shorter than minRsaBits', { keyType: 'rsa', rsaBits: 1024 }],
    ['signed with SHA-1', { signatureHash: 'SHA-1' }],
    ['with name constraints the leaf violates', { nameConstraints: { permitted: { dns: ['example.org'] } } }],
    ['with a path length the chain exceeds', { pathLength: 0 }],
  ];
  for (const [defect, options] of defects) {
    it(`an intermediate ${defect}, "issued by" the guessed DN, is told the same either way`, async () => {
      const forgedCa = await forgedRoot.intermediate({ subject: 'CN=Mallory CA', keyIdentifiers: false, ...options });
      let issuer = forgedCa;
      const presented = [forgedCa];
      if (options.pathLength === 0)
        presented.unshift((issuer = await forgedCa.intermediate({ subject: 'CN=Mallory Sub CA' })));
      const leaf = await issuer.issue({ subject: 'CN=mallory', san: { dns: ['mallory.example.com'] } });
      const [guessed, unknown] = both(leaf, presented);
      expectFailure(guessed, 'untrusted', 'no path to a trust anchor');
      expect(told(guessed)).to.deep.equal(told(unknown));
    });
  }

  it('the search limit is told the same: many decoys named as the guessed DN', async () => {
    const forgedCa = await forgedRoot.intermediate({ subject: 'CN=Mallory CA', keyIdentifiers: false });
    const decoys = await Promise.all(Array.from({ length: 110 }, () => createCA({ subject: GUESS })));
    const decoyCas = await Promise.all(
      decoys.map((d) => d.intermediate({ subject: 'CN=Mallory CA', keyIdentifiers: false })),
    );
    const leaf = await forgedCa.issue({ subject: 'CN=mallory', keyIdentifiers: false });
    const [guessed, unknown] = both(leaf, decoyCas);
    expectFailure(guessed, 'untrusted', 'no path to a trust anchor');
    expect(told(guessed)).to.deep.equal(told(unknown));
    expect(!guessed.ok && guessed.reason).to.match(/^no path to a trust anchor found within the path building limit/);
  });

  it('a real chain under the anchor still gets its exact failure', async () => {
    const realCa = await configured.intermediate({ subject: 'CN=Real CA', ...expired });
    const [real] = both(await realCa.issue({ subject: 'CN=alice' }), [realCa]);
    expectFailure(real, 'expired', 'certificate at depth 1 has expired');
    const notCa = await configured.intermediate({ subject: 'CN=Real Not CA', ca: false, keyUsage: null });
    expectFailure(
      both(await notCa.issue({ subject: 'CN=bob' }), [notCa])[0],
      'invalid_ca',
      'certificate at depth 1 is not a CA',
    );
  });

  it('over a real server: the problem detail and code do not tell a right guess from a wrong one', async () => {
    const server = await startServer('express', { options: { source: 'xfcc', ca: configured.cert } });
    try {
      const otherRoot = await createCA({ subject: 'CN=Wrong Guess' });
      const bodies: unknown[] = [];
      for (const root of [forgedRoot, otherRoot]) {
        const forgedCa = await root.intermediate({ subject: 'CN=Mallory CA', keyIdentifiers: false, ...expired });
        const leaf = await forgedCa.issue({ subject: 'CN=mallory' });
        const response = await request({
          url: server.url(),
          path: '/whoami',
          headers: { 'x-forwarded-client-cert': envoyXfcc(leaf) },
        });
        expect(response.status).to.equal(403);
        const { instance: _instance, ...body } = JSON.parse(response.text) as Record<string, unknown>;
        bodies.push(body);
      }
      expect(bodies[0]).to.deep.include({ code: 'client_certificate_untrusted', detail: 'no path to a trust anchor' });
      expect(bodies[0]).to.deep.equal(bodies[1]);
    } finally {
      await server.close();
    }
  });
});
