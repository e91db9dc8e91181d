/**
 * The RFC 5280 profile rules path validation enforces on top of §6, each on by default and each
 * relaxed by its own `verifyPolicy` switch, which the failure message names: key identifiers
 * (§4.2.1.1, §4.2.1.2), a critical basicConstraints on CAs (§4.2.1.9), a critical subjectAltName
 * for an empty subject and the preferred name syntax of dNSNames (§4.2.1.6), no leading period in
 * dNSName constraints (§4.2.1.10); and the bound on name-constraint work, which refuses a
 * workload as too complex instead of computing it. Every certificate comes from the test kit.
 */
import { expect } from 'chai';
import {
  type CAOptions,
  createCA,
  envoyXfcc,
  type IssueOptions,
  type RawExtension,
  type TestCA,
  type TestCertificate,
} from '../../../../packages/core/src/testkit/index.js';
import { derTlv as tlv } from '../../../../packages/core/src/testkit/shared.js';
import {
  BUDGET_EXHAUSTED,
  ComparisonBudget,
  checkNameConstraints,
  isPreferredDnsName,
  MAX_CONSTRAINT_COMPARISONS,
} from '../../../../packages/core/src/trust/path/name-constraints.js';
import {
  compileVerifyPolicy,
  trustAnchorProblems,
  UNTRUSTED_MESSAGE,
  type VerifyChainResult,
  type VerifyPolicy,
  verifyChainSync,
} from '../../../../packages/core/src/trust/path/verify.js';
import { certificateFacts } from '../../../../packages/core/src/x509/extensions.js';
import { startServer } from '../../../hardening/servers.js';
import { expectClientCertError } from '../../../helpers/errors.js';
import { request } from '../../../helpers/http-client.js';
import { expectFailure, expectOk } from '../../../helpers/verify.js';

const DAY = 86_400_000;
const NOW = Math.floor(Date.now() / 1000) * 1000;
const valid = { notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + DAY) };

/** The message a profile rule fails with: what is wrong, the section, and the switch that allows it. */
const profile = (depth: number, text: string, section: string, relaxedBy: keyof VerifyPolicy): string =>
  `certificate at depth ${depth} ${text} (RFC 5280 §${section}; allow with verifyPolicy.${relaxedBy})`;

const seq = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);
/** An authorityKeyIdentifier with only authorityCertSerialNumber: the extension, but no keyIdentifier. */
const akiWithoutKeyId: RawExtension = { oid: '2.5.29.35', value: seq(tlv(0x82, Buffer.from([1]))) };

describe('core/rfc5280-profile: profile checks, each relaxable by name', function () {
  this.timeout(60_000);

  let root: TestCA;

  before(async () => {
    root = await createCA({ subject: 'CN=Profile Root', ...valid });
  });

  function verify(
    leaf: TestCertificate,
    intermediates: TestCertificate[],
    anchors: TestCertificate[],
    policy?: VerifyPolicy,
  ): VerifyChainResult {
    return verifyChainSync({
      leaf: leaf.cert,
      intermediates: intermediates.map((c) => c.cert),
      trustAnchors: anchors.map((a) => a.cert),
      at: new Date(NOW),
      ...(policy ? { policy } : {}),
    });
  }

  /** root → CA (with `caOptions`) → leaf (with `leafOptions`). */
  async function chain(
    caOptions: CAOptions = {},
    leafOptions: IssueOptions = {},
  ): Promise<{ ca: TestCA; leaf: TestCertificate }> {
    const ca = await root.intermediate({ subject: 'CN=Profile CA', ...valid, ...caOptions });
    return { ca, leaf: await ca.issue({ subject: 'CN=profile client', ...valid, ...leafOptions }) };
  }

  it('the test kit makes conforming certificates by default', async () => {
    const { ca, leaf } = await chain({}, { san: { dns: ['client.example.com'] } });
    expectOk(verify(leaf, [ca], [root]), [leaf, ca, root]);
    const nameless = await ca.issue({ subject: [], san: { dns: ['nameless.example.com'] }, ...valid });
    expectOk(verify(nameless, [ca], [root]));
  });

  describe('authorityKeyIdentifier (§4.2.1.1)', () => {
    it('is required of the leaf and of intermediates', async () => {
      const noAki = await chain({}, { authorityKeyId: false });
      expectFailure(
        verify(noAki.leaf, [noAki.ca], [root]),
        'malformed',
        profile(0, 'has no authorityKeyIdentifier with a keyIdentifier', '4.2.1.1', 'allowMissingAuthorityKeyId'),
      );
      expectOk(verify(noAki.leaf, [noAki.ca], [root], { allowMissingAuthorityKeyId: true }));

      const caWithout = await chain({ authorityKeyId: false });
      expectFailure(
        verify(caWithout.leaf, [caWithout.ca], [root]),
        'malformed',
        profile(1, 'has no authorityKeyIdentifier with a keyIdentifier', '4.2.1.1', 'allowMissingAuthorityKeyId'),
      );
      expectOk(verify(caWithout.leaf, [caWithout.ca], [root], { allowMissingAuthorityKeyId: true }));
    });

    it('must hold a keyIdentifier, not only the issuer and serial', async () => {
      const { ca, leaf } = await chain({}, { authorityKeyId: false, extensions: [akiWithoutKeyId] });
      expectFailure(
        verify(leaf, [ca], [root]),
        'malformed',
        /^certificate at depth 0 has no authorityKeyIdentifier with a keyIdentifier/,
      );
    });

    it('is not required of self-issued certificates: a self-signed root, a key rollover certificate', async () => {
      expect(certificateFacts(root.x509).authorityKeyId).to.equal(null);
      // Same name, new key, certified by the old one without an AKI: self-issued, so exempt.
      const rollover = await root.intermediate({ subject: 'CN=Profile Root', authorityKeyId: false, ...valid });
      const leaf = await rollover.issue({ subject: 'CN=after rollover', ...valid });
      expectOk(verify(leaf, [rollover], [root]), [leaf, rollover, root]);
    });
  });

  describe('subjectKeyIdentifier of CA certificates (§4.2.1.2)', () => {
    it('is required of an intermediate CA', async () => {
      const { ca, leaf } = await chain({ subjectKeyId: false });
      expectFailure(
        verify(leaf, [ca], [root]),
        'malformed',
        profile(1, 'is a CA certificate without a subjectKeyIdentifier', '4.2.1.2', 'allowMissingSubjectKeyId'),
      );
      expectOk(verify(leaf, [ca], [root], { allowMissingSubjectKeyId: true }));
    });

    it('is not required of a certificate that is not a CA', async () => {
      const { ca, leaf } = await chain();
      expect(certificateFacts(leaf.x509).subjectKeyId).to.equal(null);
      expectOk(verify(leaf, [ca], [root]));
    });

    it('holds for a CA certificate in leaf position, which is otherwise accepted when its key usage allows the purpose', async () => {
      const caLeaf = await root.intermediate({ subject: 'CN=Profile CA Leaf', ...valid });
      expectOk(verify(caLeaf, [], [root]), [caLeaf, root]);
      const caLeafWithoutSki = await root.intermediate({
        subject: 'CN=Profile CA Leaf 2',
        subjectKeyId: false,
        ...valid,
      });
      expectFailure(
        verify(caLeafWithoutSki, [], [root]),
        'malformed',
        profile(0, 'is a CA certificate without a subjectKeyIdentifier', '4.2.1.2', 'allowMissingSubjectKeyId'),
      );
    });
  });

  describe('critical basicConstraints of CA certificates (§4.2.1.9)', () => {
    it('is required of an intermediate CA', async () => {
      const { ca, leaf } = await chain({ basicConstraintsCritical: false });
      expectFailure(
        verify(leaf, [ca], [root]),
        'malformed',
        profile(
          1,
          'is a CA certificate whose basicConstraints is not critical',
          '4.2.1.9',
          'allowNonCriticalBasicConstraints',
        ),
      );
      expectOk(verify(leaf, [ca], [root], { allowNonCriticalBasicConstraints: true }));
    });

    it('is not required of a leaf that is not a CA', async () => {
      const { ca, leaf } = await chain({}, { basicConstraintsCritical: false });
      expect(certificateFacts(leaf.x509).basicConstraints).to.deep.equal({
        ca: false,
        pathLength: null,
        critical: false,
      });
      expectOk(verify(leaf, [ca], [root]));
    });
  });

  describe('the trust anchor', () => {
    it('is held to the CA profile too: subjectKeyIdentifier and critical basicConstraints', async () => {
      const noSki = await createCA({ subject: 'CN=Profile Root Without SKI', subjectKeyId: false, ...valid });
      const underNoSki = await noSki.issue({ subject: 'CN=under', ...valid });
      expectFailure(
        verify(underNoSki, [], [noSki]),
        'malformed',
        profile(1, 'is a CA certificate without a subjectKeyIdentifier', '4.2.1.2', 'allowMissingSubjectKeyId'),
      );
      expectOk(verify(underNoSki, [], [noSki], { allowMissingSubjectKeyId: true }));

      const easyRsa = await createCA({
        subject: 'CN=Profile Root Like easy-rsa',
        basicConstraintsCritical: false,
        ...valid,
      });
      const underEasyRsa = await easyRsa.issue({ subject: 'CN=under', ...valid });
      expectFailure(
        verify(underEasyRsa, [], [easyRsa]),
        'malformed',
        profile(
          1,
          'is a CA certificate whose basicConstraints is not critical',
          '4.2.1.9',
          'allowNonCriticalBasicConstraints',
        ),
      );
      expectOk(verify(underEasyRsa, [], [easyRsa], { allowNonCriticalBasicConstraints: true }));
    });

    it('as a version 1 root (no extensions, so no "CA certificate") is exempt', async () => {
      const legacy = await createCA({ subject: 'CN=Profile v1 Root', version: 1, ...valid });
      expectOk(verify(await legacy.issue({ subject: 'CN=under v1', ...valid }), [], [legacy]));
    });

    it('trustAnchorProblems reports an anchor that breaks a rule before any client is refused', async () => {
      const easyRsa = await createCA({
        subject: 'CN=Profile Start-up Root',
        basicConstraintsCritical: false,
        ...valid,
      });
      expect(trustAnchorProblems([root.x509, easyRsa.x509])).to.deep.equal([
        'trust anchor 2 is a CA certificate whose basicConstraints is not critical ' +
          '(RFC 5280 §4.2.1.9; allow with verifyPolicy.allowNonCriticalBasicConstraints)',
      ]);
      expect(trustAnchorProblems([root.x509, easyRsa.x509], { allowNonCriticalBasicConstraints: true })).to.deep.equal(
        [],
      );
    });
  });

  describe('an empty subject needs a critical subjectAltName (§4.2.1.6)', () => {
    it('refuses a non-critical or missing subjectAltName', async () => {
      const { ca, leaf } = await chain({}, { subject: [], san: { dns: ['nameless.example.com'] }, sanCritical: false });
      expectFailure(
        verify(leaf, [ca], [root]),
        'malformed',
        profile(
          0,
          'has an empty subject and no critical subjectAltName',
          '4.2.1.6',
          'allowEmptySubjectWithoutCriticalSan',
        ),
      );
      expectOk(verify(leaf, [ca], [root], { allowEmptySubjectWithoutCriticalSan: true }));
      const nameless = await ca.issue({ subject: [], ...valid });
      expectFailure(verify(nameless, [ca], [root]), 'malformed', /has an empty subject and no critical subjectAltName/);
      expectOk(verify(nameless, [ca], [root], { allowEmptySubjectWithoutCriticalSan: true }));
    });

    it('does not ask a non-empty subject for one', async () => {
      const { ca, leaf } = await chain({}, { san: { dns: ['named.example.com'] } });
      expect(certificateFacts(leaf.x509).subjectAltNameCritical).to.equal(false);
      expectOk(verify(leaf, [ca], [root]));
    });
  });

  describe('dNSNames in the preferred name syntax (§4.2.1.6)', () => {
    it('isPreferredDnsName: LDH labels, no empty label, no all-digit top label, a leftmost wildcard only', () => {
      const good = [
        'example.com',
        'EXAMPLE.com',
        'localhost',
        'a-b.example',
        '1.example.com',
        '123.example',
        'xn--bcher-kva.example',
        '*.example.com',
        `${'a'.repeat(63)}.example`,
      ];
      const bad = [
        'under_score.example.com',
        '192.0.2.1',
        'host.123',
        'example.com.',
        '.example.com',
        'a..example.com',
        '-a.example.com',
        'a-.example.com',
        'foo.*.example.com',
        'ba*.example.com',
        '*',
        '*.',
        'exa mple.com',
        '',
        ' ',
        `${'a'.repeat(64)}.example`,
        `${'a.'.repeat(127)}ab`,
      ];
      for (const name of good) expect(isPreferredDnsName(name), name).to.equal(true);
      for (const name of bad) expect(isPreferredDnsName(name), name).to.equal(false);
    });

    it('refuses a leaf or a CA with a dNSName outside it, without echoing the name', async () => {
      const { ca } = await chain();
      for (const dns of ['under_score.example.com', '192.0.2.1', 'client.example.com.']) {
        const leaf = await ca.issue({ subject: 'CN=odd name', san: { dns: ['ok.example.com', dns] }, ...valid });
        const result = verify(leaf, [ca], [root]);
        expectFailure(
          result,
          'malformed',
          profile(
            0,
            'has a dNSName subjectAltName outside the preferred name syntax',
            '4.2.1.6',
            'allowNonPreferredDnsNames',
          ),
        );
        expect(!result.ok && result.message).not.to.include(dns);
        expectOk(verify(leaf, [ca], [root], { allowNonPreferredDnsNames: true }));
      }
      const oddCa = await chain({ san: { dns: ['ca_host.example.com'] } });
      expectFailure(
        verify(oddCa.leaf, [oddCa.ca], [root]),
        'malformed',
        /^certificate at depth 1 has a dNSName subjectAltName outside/,
      );
    });
  });

  describe('dNSName name constraints without a leading period (§4.2.1.10)', () => {
    it('refuses a CA with one, permitted or excluded, the anchor included', async () => {
      const leafOptions = { san: { dns: ['a.example.com'] } };
      const permitted = await chain({ nameConstraints: { permitted: { dns: ['.example.com'] } } }, leafOptions);
      const message = profile(
        1,
        'has a dNSName name constraint with a leading period',
        '4.2.1.10',
        'allowLeadingDotDnsConstraints',
      );
      expectFailure(verify(permitted.leaf, [permitted.ca], [root]), 'name_constraints', message);
      expectOk(verify(permitted.leaf, [permitted.ca], [root], { allowLeadingDotDnsConstraints: true }));
      const excluded = await chain({ nameConstraints: { excluded: { dns: ['.bad.example.com'] } } }, leafOptions);
      expectFailure(verify(excluded.leaf, [excluded.ca], [root]), 'name_constraints', message);

      const constrainedRoot = await createCA({
        subject: 'CN=Profile Constrained Root',
        nameConstraints: { permitted: { dns: ['.example.com'] } },
        ...valid,
      });
      expectFailure(
        verify(await constrainedRoot.issue({ ...leafOptions, ...valid }), [], [constrainedRoot]),
        'name_constraints',
        message,
      );
    });

    it('keeps the leading period where RFC 5280 has it: URI and rfc822Name constraints', async () => {
      const { ca, leaf } = await chain(
        { nameConstraints: { permitted: { uri: ['.example.com'], email: ['.example.com'] } } },
        { san: { uri: ['https://api.example.com/x'], email: ['alice@mail.example.com'] } },
      );
      expectOk(verify(leaf, [ca], [root]));
    });
  });

  describe('name-constraint work is bounded: refused as too complex, never computed', () => {
    it('counts every name against every subtree, whatever the forms', async () => {
      // 1,000 iPAddress subtrees against 300 dNSNames: no comparison of a name with a subtree of
      // its own form, but 301 × 1000 pairs, past the bound (pyca/cryptography counts them so).
      const ip = Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
      const dns = Array.from({ length: 300 }, (_, i) => `n${i}.example.com`);
      const { ca, leaf } = await chain({ nameConstraints: { permitted: { ip } } }, { san: { dns } });
      expectFailure(
        verify(leaf, [ca], [root]),
        'name_constraints',
        'certificate at depth 0 has too many names for the name ' +
          `constraints of the certificate at depth 1: too complex to check (more than ${MAX_CONSTRAINT_COMPARISONS} name comparisons)`,
      );
      // No switch relaxes it.
      const all = Object.fromEntries(
        [
          'allowMissingAuthorityKeyId',
          'allowMissingSubjectKeyId',
          'allowNonCriticalBasicConstraints',
          'allowEmptySubjectWithoutCriticalSan',
          'allowLeadingDotDnsConstraints',
          'allowNonPreferredDnsNames',
        ].map((k) => [k, true]),
      );
      expectFailure(verify(leaf, [ca], [root], all), 'name_constraints', /too complex to check/);
      const few = await ca.issue({ subject: 'CN=few names', san: { dns: dns.slice(0, 100) }, ...valid });
      expectOk(verify(few, [ca], [root]));
    });

    it('decides before comparing anything: a violation the comparisons would find is not reached', async () => {
      const excluded = Array.from({ length: 1000 }, (_, i) => `x${i}.example.com`);
      const ca = await root.intermediate({
        subject: 'CN=Profile Wide CA',
        nameConstraints: { excluded: { dns: excluded } },
        ...valid,
      });
      const constraints = certificateFacts(ca.x509).nameConstraints!;
      const names = (count: number): string[] => [
        'x0.example.com',
        ...Array.from({ length: count - 1 }, (_, i) => `n${i}.example.com`),
      ];
      // The first SAN is excluded; within the bound that is the answer...
      const within = await ca.issue({ subject: 'CN=within', san: { dns: names(200) }, ...valid });
      expect(checkNameConstraints(constraints, certificateFacts(within.x509), new ComparisonBudget())).to.equal(
        'a DNS name is in an excluded subtree',
      );
      // ...past it, the refusal comes first: the work was not done.
      const past = await ca.issue({ subject: 'CN=past', san: { dns: names(300) }, ...valid });
      const budget = new ComparisonBudget();
      expect(checkNameConstraints(constraints, certificateFacts(past.x509), budget)).to.equal(BUDGET_EXHAUSTED);
      // And the call's budget stays spent for every later check.
      expect(checkNameConstraints(constraints, certificateFacts(within.x509), budget)).to.equal(BUDGET_EXHAUSTED);
    });

    it('ComparisonBudget takes nothing from a request it cannot grant', () => {
      const budget = new ComparisonBudget();
      expect(budget.spend(MAX_CONSTRAINT_COMPARISONS - 1)).to.equal(true);
      expect(budget.spend(2)).to.equal(false);
      expect(budget.spend(0)).to.equal(false);
      const exact = new ComparisonBudget();
      expect(exact.spend(MAX_CONSTRAINT_COMPARISONS)).to.equal(true);
      expect(exact.spend(0)).to.equal(true);
    });
  });

  describe('the switches', () => {
    it('are validated by compileVerifyPolicy and default to false', () => {
      const compiled = compileVerifyPolicy({});
      for (const name of [
        'allowMissingAuthorityKeyId',
        'allowMissingSubjectKeyId',
        'allowNonCriticalBasicConstraints',
        'allowEmptySubjectWithoutCriticalSan',
        'allowLeadingDotDnsConstraints',
        'allowNonPreferredDnsNames',
      ] as const) {
        expect(compiled[name], name).to.equal(false);
        expect(compileVerifyPolicy({ [name]: true })[name], name).to.equal(true);
        const error = expectClientCertError(() => compileVerifyPolicy({ [name]: 'yes' } as never), 'invalid_option');
        expect(error.message).to.equal(`policy: ${name} must be a boolean`);
      }
      expect(
        expectClientCertError(() => compileVerifyPolicy({ allowMissingKeyIds: true } as never), 'invalid_option')
          .message,
      ).to.equal('policy: unknown option "allowMissingKeyIds"');
    });

    it('relax one rule each: one switch does not excuse another rule', async () => {
      const { ca, leaf } = await chain({ subjectKeyId: false, basicConstraintsCritical: false });
      expectFailure(
        verify(leaf, [ca], [root], { allowMissingSubjectKeyId: true }),
        'malformed',
        /allowNonCriticalBasicConstraints\)$/,
      );
      expectFailure(
        verify(leaf, [ca], [root], { allowNonCriticalBasicConstraints: true }),
        'malformed',
        /allowMissingSubjectKeyId\)$/,
      );
      expectOk(verify(leaf, [ca], [root], { allowMissingSubjectKeyId: true, allowNonCriticalBasicConstraints: true }));
    });
  });

  describe('what a failure tells the client', () => {
    const GUESS = 'CN=Profile Guessed Root,O=Target';
    let configured: TestCA;
    let unrelated: TestCA;
    let forgedRoot: TestCA;

    before(async () => {
      configured = await createCA({ subject: GUESS, ...valid });
      unrelated = await createCA({ subject: 'CN=Profile Unrelated Root', ...valid });
      forgedRoot = await createCA({ subject: GUESS, ...valid });
    });

    /** What the client is told (everything but `reason`), for a chain presented to two configurations. */
    function toldBoth(leaf: TestCertificate, intermediates: TestCertificate[]): [unknown, unknown] {
      const told = (result: VerifyChainResult): unknown =>
        result.ok ? { ok: true } : { ok: false, code: result.code, message: result.message };
      return [told(verify(leaf, intermediates, [configured])), told(verify(leaf, intermediates, [unrelated]))];
    }

    const defects: Array<[string, CAOptions, IssueOptions]> = [
      ['without a subjectKeyIdentifier', { subjectKeyId: false }, {}],
      ['with a non-critical basicConstraints', { basicConstraintsCritical: false }, {}],
      ['without an authorityKeyIdentifier', { authorityKeyId: false }, {}],
      [
        'with a leading-period dNSName constraint',
        { nameConstraints: { permitted: { dns: ['.example.com'] } } },
        { san: { dns: ['a.example.com'] } },
      ],
      [
        'with constraints too many to check against the leaf',
        {
          nameConstraints: {
            permitted: { ip: Array.from({ length: 1000 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`) },
          },
        },
        { san: { dns: Array.from({ length: 300 }, (_, i) => `n${i}.example.com`) } },
      ],
    ];
    for (const [defect, caOptions, leafOptions] of defects) {
      it(`an attacker's CA ${defect}, "issued by" a guessed anchor DN, is told the fixed untrusted message either way`, async () => {
        const forgedCa = await forgedRoot.intermediate({ subject: 'CN=Profile Mallory CA', ...caOptions, ...valid });
        const leaf = await forgedCa.issue({ subject: 'CN=mallory', ...leafOptions, ...valid });
        const [guessed, unknown] = toldBoth(leaf, [forgedCa]);
        expect(guessed).to.deep.equal({ ok: false, code: 'untrusted', message: UNTRUSTED_MESSAGE });
        expect(guessed).to.deep.equal(unknown);
        // Under the real anchor, the same defect is told with its rule and switch.
        const realCa = await configured.intermediate({ subject: 'CN=Profile Real CA', ...caOptions, ...valid });
        const real = verify(
          await realCa.issue({ subject: 'CN=alice', ...leafOptions, ...valid }),
          [realCa],
          [configured],
        );
        expect(!real.ok && real.message).to.match(
          /^certificate at depth [01] .*(verifyPolicy\.\w+\)|name comparisons\))$/,
        );
      });
    }

    it('over a real server: 403 naming the switch, 200 once the configuration sets it', async () => {
      const { ca, leaf } = await chain({ subject: 'CN=Profile Server CA', subjectKeyId: false });
      const header = { 'x-forwarded-client-cert': envoyXfcc(leaf) };
      const strict = await startServer('express', { options: { source: 'xfcc', ca: root.cert } });
      try {
        const response = await request({ url: strict.url(), path: '/whoami', headers: header });
        expect(response.status).to.equal(403);
        expect(JSON.parse(response.text)).to.deep.include({
          code: 'client_certificate_malformed',
          detail: profile(
            1,
            'is a CA certificate without a subjectKeyIdentifier',
            '4.2.1.2',
            'allowMissingSubjectKeyId',
          ),
        });
      } finally {
        await strict.close();
      }
      const relaxed = await startServer('express', {
        options: { source: 'xfcc', ca: root.cert, verifyPolicy: { allowMissingSubjectKeyId: true } },
      });
      try {
        const response = await request({ url: relaxed.url(), path: '/whoami', headers: header });
        expect(response.status).to.equal(200);
        expect(JSON.parse(response.text)).to.deep.include({ sha256: leaf.sha256 });
        expect(ca.x509.checkIssued(root.x509)).to.equal(true);
      } finally {
        await relaxed.close();
      }
    });
  });
});
