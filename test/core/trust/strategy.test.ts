import { expect } from 'chai';
import { compileTrustAnchors, compileVerifyPolicy, parseCertificate } from '../../../packages/core/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { compilePins } from '../../../packages/core/src/trust/pins.js';
import { compileTrustStrategy, establishTrust, type TrustSettings } from '../../../packages/core/src/trust/strategy.js';
import { recordOf, sealCertificate } from '../../../packages/core/src/x509/certificate.js';

function settings(overrides: Partial<TrustSettings> = {}): TrustSettings {
  return {
    anchors: null,
    intermediatePool: [],
    verifyPolicy: compileVerifyPolicy(undefined),
    pins: null,
    proxyVerified: false,
    proxyReportsVerdict: false,
    unverifiedForwarded: false,
    purpose: 'clientAuth',
    clockToleranceMs: 0,
    proxyVerdictText: ' (proxyVerified)',
    ...overrides,
  };
}

const NOW = () => new Date();
const AUTHORIZED = { authorized: true, authorizationError: null };

describe('trust/strategy', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let stranger: TestCertificate;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice' });
    stranger = await (await createCA()).issue({ subject: 'CN=stranger' });
  });

  describe('compileTrustStrategy: the route is chosen once', () => {
    it('anchors decide both routes alike, and say how many there are (and the pins narrowing them)', () => {
      const pins = compilePins([`sha256:${parseCertificate(alice.cert).fingerprints.sha256}`]);
      const strategy = compileTrustStrategy(settings({ anchors: compileTrustAnchors(root.cert), pins }));
      expect(strategy.tls).to.equal(strategy.forwarded);
      expect(strategy.tls.kind).to.equal('chain');
      expect(strategy.tls.description).to.equal('1 trust anchor(s), narrowed by 1 pin(s)');
    });

    it('without anchors or pins: the TLS stack for the connection, and for forwarded ones the proxy, nobody, or refusal', () => {
      expect(compileTrustStrategy(settings()).tls.kind).to.equal('tls');
      expect(compileTrustStrategy(settings()).forwarded.kind).to.equal('refuse');
      expect(compileTrustStrategy(settings({ proxyVerified: true })).forwarded.description).to.equal(
        "the proxy's verification (proxyVerified)",
      );
      expect(compileTrustStrategy(settings({ unverifiedForwarded: true })).forwarded.kind).to.equal('unverified');
    });
  });

  describe('establishTrust', () => {
    it('a chain to an anchor is trusted with its path; a stranger is refused for a minute, naming the chain check', () => {
      const strategy = compileTrustStrategy(settings({ anchors: compileTrustAnchors(root.cert) }));
      const trusted = establishTrust(strategy, parseCertificate(alice.cert), null, undefined, NOW());
      expect(trusted.ok && [trusted.by, trusted.path.length, trusted.pin]).to.deep.equal(['chain', 2, null]);
      const refused = establishTrust(strategy, parseCertificate(stranger.cert), null, undefined, NOW());
      expect(
        refused.ok === false && refused.kind === 'check' && [refused.code, refused.check, refused.transient],
      ).to.deep.equal(['untrusted', 'chain.untrusted', true]);
    });

    it('a chain is verified on the DER: neither the leaf nor a presented intermediate becomes an X509Certificate', async () => {
      const issuing = await root.intermediate({ subject: 'CN=Strategy Issuing CA' });
      const bob = await issuing.issue({ subject: 'CN=bob' });
      const strategy = compileTrustStrategy(settings({ anchors: compileTrustAnchors(root.cert) }));
      const presented = sealCertificate(parseCertificate(bob.der), { chain: [parseCertificate(issuing.der)] });
      const trusted = establishTrust(strategy, presented, null, undefined, NOW());
      // The anchor was compiled from PEM into Node's object at start-up; nothing else was made.
      expect(trusted.ok && trusted.path.map((record) => record.hasX509)).to.deep.equal([false, false, true]);
      expect(trusted.ok && trusted.path[0]).to.equal(recordOf(presented));
      // An issuer pin compares the intermediate by its key without making its object either.
      const pinned = compileTrustStrategy(
        settings({ anchors: compileTrustAnchors(root.cert), pins: compilePins([{ issuer: issuing.cert }]) }),
      );
      const narrowed = establishTrust(pinned, presented, null, undefined, NOW());
      expect(narrowed.ok && [narrowed.pin, ...narrowed.path.map((record) => record.hasX509)]).to.deep.equal([
        'pins[0]',
        false,
        false,
        true,
      ]);
      const other = establishTrust(pinned, parseCertificate(alice.cert), null, undefined, NOW());
      expect(other.ok === false && other.kind === 'check' && other.check).to.equal('pins');
    });

    it('a forwarded certificate with nothing to trust it by is refused, even one the TLS stack would accept', () => {
      const strategy = compileTrustStrategy(settings());
      const forwarded = establishTrust(strategy, parseCertificate(stranger.cert), null, undefined, NOW());
      expect(forwarded.ok === false && forwarded.kind === 'check' && forwarded.check).to.equal('trust');
      const fromTls = establishTrust(strategy, parseCertificate(stranger.cert), AUTHORIZED, undefined, NOW());
      expect(fromTls.ok && fromTls.by).to.equal('tls');
      const unauthorized = { authorized: false, authorizationError: 'CERT_HAS_EXPIRED' };
      const refused = establishTrust(strategy, parseCertificate(stranger.cert), unauthorized, undefined, NOW());
      expect(refused).to.deep.equal({ ok: false, kind: 'tls', reason: 'CERT_HAS_EXPIRED' });
    });

    it('a verifying proxy is believed only on its word: a failed verdict, or none where it always reports one, is refused', () => {
      const trusting = compileTrustStrategy(settings({ proxyVerified: true }));
      const cert = parseCertificate(stranger.cert);
      expect((establishTrust(trusting, cert, null, 'verified', NOW()) as { by?: string }).by).to.equal('proxy');
      expect((establishTrust(trusting, cert, null, undefined, NOW()) as { by?: string }).by).to.equal('proxy');
      const failed = establishTrust(trusting, cert, null, 'failed', NOW());
      expect(failed.ok === false && failed.kind === 'check' && [failed.check, failed.message]).to.deep.equal([
        'proxy',
        'The proxy reported that the client certificate failed verification.',
      ]);
      const reporting = compileTrustStrategy(settings({ proxyVerified: true, proxyReportsVerdict: true }));
      const silent = establishTrust(reporting, cert, null, undefined, NOW());
      expect(silent.ok === false && silent.kind === 'check' && silent.check).to.equal('proxy');
    });

    it('without anchors a leaf pin is the trust; another certificate is refused by the pins', () => {
      const pins = compilePins([`sha256:${parseCertificate(alice.cert).fingerprints.sha256}`]);
      const strategy = compileTrustStrategy(settings({ pins }));
      const pinned = establishTrust(strategy, parseCertificate(alice.cert), null, undefined, NOW());
      expect(pinned.ok && [pinned.by, pinned.pin]).to.deep.equal(['pin', 'pins[0]']);
      const other = establishTrust(strategy, parseCertificate(stranger.cert), null, undefined, NOW());
      expect(other.ok === false && other.kind === 'check' && other.check).to.equal('pins');
    });
  });
});
