/**
 * @clientcert/aws-lambda behind API Gateway: REST and HTTP API events (payload 1.0 and 2.0) with
 * mutual TLS → the same ClientCertificate and problem codes as the other adapters. The event's
 * headers are never read: a certificate a client writes into a header, on an API without mutual
 * TLS, is not a certificate.
 */
import { expect } from 'chai';
import {
  type AuthResult,
  authenticateEvent,
  createEventAuth,
  type LambdaClientCertOptions,
} from '../../packages/aws-lambda/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { albVerifyHeaders, clientCertOf, httpApiEvent, httpApiV1Event, restEvent } from './events.js';

const ALICE = 'CN=alice,O=Acme';
const DAY = 86_400_000;

function rejected(result: AuthResult): string {
  expect(result.ok, 'rejected').to.equal(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.problem.status).to.equal(403);
  expect(result.problem.code).to.equal(result.error.code);
  return result.problem.code;
}

function admitted(result: AuthResult): NonNullable<Extract<AuthResult, { ok: true }>['certificate']> {
  if (!result.ok) throw new Error(`expected admission, got ${result.problem.code}: ${result.problem.detail}`);
  expect(result.certificate).to.not.equal(null);
  return result.certificate!;
}

describe('aws-lambda: API Gateway mutual TLS events', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let alice: TestCertificate;
  let bob: TestCertificate;
  let foreign: TestCertificate;
  let expired: TestCertificate;
  const quiet = { logger: false } as const;

  before(async () => {
    root = await createCA({ subject: 'CN=Clients Root,O=Acme' });
    intermediate = await root.intermediate({ subject: 'CN=Clients Issuing,O=Acme' });
    alice = await root.issue({ subject: ALICE, san: { uri: ['spiffe://acme.test/alice'] } });
    bob = await intermediate.issue({ subject: 'CN=bob,O=Acme' });
    foreign = await (await createCA({ subject: 'CN=Clients Root,O=Acme' })).issue({ subject: ALICE });
    const now = Date.now();
    expired = await root.issue({
      subject: 'CN=old,O=Acme',
      notBefore: new Date(now - 30 * DAY),
      notAfter: new Date(now - DAY),
    });
  });

  const kinds = [
    { name: 'REST API (requestContext.identity.clientCert)', event: restEvent },
    { name: 'HTTP API payload 2.0 (requestContext.authentication.clientCert)', event: httpApiEvent },
    { name: 'HTTP API payload 1.0 (requestContext.identity.clientCert)', event: httpApiV1Event },
  ];

  for (const kind of kinds) {
    describe(kind.name, () => {
      it('admits a certificate that chains to `ca`: the same ClientCertificate as the other adapters', async () => {
        const auth = createEventAuth({ ca: root.cert, ...quiet });
        const cert = admitted(await auth.authenticate(kind.event(clientCertOf(alice))));
        expect(cert.subject.rfc4514).to.equal(ALICE);
        expect(cert.issuer.rfc4514).to.equal('CN=Clients Root,O=Acme');
        expect(cert.fingerprints.sha256).to.equal(alice.sha256);
        expect(cert.spiffeId).to.equal('spiffe://acme.test/alice');
        expect(cert.serialNumber).to.equal(alice.x509.serialNumber);
        expect(cert.verifiedBy).to.equal('chain');
        expect(cert.source).to.equal('custom');
        expect(cert.pem).to.equal(alice.cert);
      });

      it("admits on API Gateway's truststore with `proxyVerified: true` (verifiedBy 'proxy')", async () => {
        const auth = createEventAuth({ proxyVerified: true, ...quiet });
        const cert = admitted(await auth.authenticate(kind.event(clientCertOf(alice))));
        expect(cert.subject.rfc4514).to.equal(ALICE);
        expect(cert.verifiedBy).to.equal('proxy');
      });

      it('no certificate (no mutual TLS on the domain): 403 client_certificate_required; accept: null', async () => {
        const required = createEventAuth({ ca: root.cert, ...quiet });
        expect(rejected(await required.authenticate(kind.event(null)))).to.equal('client_certificate_required');
        const accept = createEventAuth({ ca: root.cert, mode: 'accept', ...quiet, warnings: false });
        expect(await accept.authenticate(kind.event(null))).to.deep.equal({ ok: true, certificate: null });
      });

      it('a foreign certificate (same subject, another CA): client_certificate_untrusted', async () => {
        const auth = createEventAuth({ ca: root.cert, ...quiet });
        expect(rejected(await auth.authenticate(kind.event(clientCertOf(foreign))))).to.equal(
          'client_certificate_untrusted',
        );
      });

      it('an expired certificate: client_certificate_expired, with `ca` and with `proxyVerified`', async () => {
        for (const options of [{ ca: root.cert }, { proxyVerified: true }]) {
          const auth = createEventAuth({ ...options, ...quiet });
          expect(rejected(await auth.authenticate(kind.event(clientCertOf(expired))))).to.equal(
            'client_certificate_expired',
          );
        }
      });
    });
  }

  it('a leaf from an intermediate: API Gateway passes the leaf only, so `intermediates` completes the path', async () => {
    const without = createEventAuth({ ca: root.cert, ...quiet });
    expect(rejected(await without.authenticate(restEvent(clientCertOf(bob))))).to.equal('client_certificate_untrusted');
    const withPool = createEventAuth({ ca: root.cert, intermediates: intermediate.cert, ...quiet });
    expect(admitted(await withPool.authenticate(restEvent(clientCertOf(bob)))).subject.rfc4514).to.equal(
      'CN=bob,O=Acme',
    );
  });

  describe('a malformed clientCert: client_certificate_malformed, never a crash', () => {
    const bad: Array<[string, unknown]> = [
      ['not PEM at all', 'certificate please'],
      ['a PEM block with broken base64', '-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n'],
      ['a truncated certificate', ''],
      ['two certificates', ''],
      ['a number', 42],
      ['missing', undefined],
    ];
    for (const [name, pem] of bad) {
      it(name, async () => {
        let value = pem;
        if (name === 'a truncated certificate') {
          const body = alice.cert.split('\n').slice(1, -2);
          value = `-----BEGIN CERTIFICATE-----\n${body.slice(0, Math.ceil(body.length / 2)).join('\n')}\n-----END CERTIFICATE-----\n`;
        }
        if (name === 'two certificates') value = alice.cert + bob.cert;
        const auth = createEventAuth({ ca: root.cert, ...quiet });
        const clientCert = { ...clientCertOf(alice), clientCertPem: value };
        for (const event of [restEvent(clientCert), httpApiEvent(clientCert)]) {
          const result = await auth.authenticate(event);
          expect(rejected(result)).to.equal('client_certificate_malformed');
          if (!result.ok) expect(result.problem.detail).to.not.include('certificate please');
        }
      });
    }
  });

  describe("the attacker's attempts: a certificate only in a header a client can send", () => {
    // API Gateway passes request headers through: on an API without mutual TLS, or called on its
    // default endpoint, a client writes whatever it likes into them.
    const forgedHeaders = (cert: TestCertificate): Record<string, string> => ({
      ...albVerifyHeaders(cert),
      'x-amzn-mtls-clientcert': encodeURIComponent(cert.cert),
      'x-forwarded-client-cert': envoyXfcc(cert),
      'x-amzn-request-context': JSON.stringify({ authentication: { clientCert: clientCertOf(cert) } }),
      'x-clientcert-api-gateway-pem': encodeURIComponent(cert.cert),
      'x-clientcert-api-gateway-verified': 'verified',
    });

    for (const trust of ['ca', 'proxyVerified'] as const) {
      it(`no clientCert, Alice's certificate in every header: 403 client_certificate_required (${trust})`, async () => {
        const auth = createEventAuth(trust === 'ca' ? { ca: root.cert, ...quiet } : { proxyVerified: true, ...quiet });
        for (const event of [restEvent(null, forgedHeaders(alice)), httpApiEvent(null, forgedHeaders(alice))]) {
          expect(rejected(await auth.authenticate(event))).to.equal('client_certificate_required');
        }
      });
    }

    it("Mallory's own certificate in clientCert, Alice's in the headers: Mallory's is judged (untrusted)", async () => {
      const auth = createEventAuth({ ca: root.cert, ...quiet });
      const result = await auth.authenticate(restEvent(clientCertOf(foreign), forgedHeaders(alice)));
      expect(rejected(result)).to.equal('client_certificate_untrusted');
    });

    it("a rule on the subject refuses another of the CA's clients: client_certificate_rejected", async () => {
      const auth = createEventAuth({
        ca: root.cert,
        intermediates: intermediate.cert,
        rules: { subject: ALICE },
        ...quiet,
      });
      admitted(await auth.authenticate(httpApiEvent(clientCertOf(alice))));
      expect(rejected(await auth.authenticate(httpApiEvent(clientCertOf(bob))))).to.equal(
        'client_certificate_rejected',
      );
    });
  });

  describe('configuration', () => {
    it('refuses a configuration that says nothing about trust, naming the fixes', () => {
      expect(() => createEventAuth({ ...quiet }))
        .to.throw(/option "ca" is needed.*`pins`.*proxyVerified: true/s)
        .with.property('code', 'invalid_option');
      expect(() => createEventAuth({ proxy: 'aws-alb-passthrough', ...quiet })).to.throw(
        /passthrough mode verifies nothing/,
      );
      // ignore reads nothing, so needs nothing
      expect(createEventAuth({ mode: 'ignore', ...quiet }).authenticate(restEvent(null))).to.deep.equal({
        ok: true,
        certificate: null,
      });
    });

    it('refuses the options that have no meaning for an event, saying why', () => {
      const cases: Array<[string, RegExp]> = [
        ['trustProxy', /no peer address/],
        ['source', /follows from `proxy`/],
        ['xfcc', /X-Forwarded-Client-Cert/],
        ['dangerouslyTrustAnyForwardedCertificate', /not offered/],
      ];
      for (const [key, message] of cases) {
        const options = { ca: root.cert, ...quiet, [key]: true } as unknown as LambdaClientCertOptions;
        expect(() => createEventAuth(options), key)
          .to.throw(message)
          .with.property('code', 'invalid_option');
      }
      expect(() => createEventAuth({ ca: root.cert, awsAlb: {}, ...quiet })).to.throw(/ALB events only/);
      expect(() => createEventAuth({ ca: root.cert, proxy: 'nginx' as never, ...quiet })).to.throw(/"proxy"/);
      expect(() => createEventAuth({ proxy: 'aws-alb-passthrough', proxyVerified: true, ...quiet }))
        .to.throw(/proxyVerified/)
        .with.property('code', 'invalid_option');
    });

    it('an event from another service or trigger is a wiring mistake: a TypeError naming the fix', () => {
      const auth = createEventAuth({ ca: root.cert, ...quiet });
      const sqs = { Records: [{ eventSource: 'aws:sqs', body: '{}' }] };
      for (const event of [sqs, null, undefined, 'event', { requestContext: {} }]) {
        expect(() => auth.authenticate(event)).to.throw(TypeError, /API Gateway .* Application Load Balancer/);
      }
      const alb = { requestContext: { elb: { targetGroupArn: 'arn' } }, headers: albVerifyHeaders(alice) };
      expect(() => auth.authenticate(alb)).to.throw(TypeError, /set proxy to 'aws-alb'/);
    });

    it("logs its own start-up line (the core's speaks of peers, not events), once per options object", async () => {
      const lines: string[] = [];
      const logger = { info: (line: string) => lines.push(line), warn: (line: string) => lines.push(`WARN ${line}`) };
      const options: LambdaClientCertOptions = { ca: root.cert, logger };
      for (let i = 0; i < 3; i++) admitted(await authenticateEvent(restEvent(clientCertOf(alice)), options));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.equal(
        "clientcert: mode require; certificate from API Gateway's mutual TLS (requestContext.identity.clientCert or " +
          "requestContext.authentication.clientCert; the event's headers are never read); trust: 1 trust anchor(s); " +
          "who can mint an identity: a TLS client holding the private key of a certificate API Gateway's truststore " +
          'accepts and that chains to the trust anchors',
      );
      const auth = createEventAuth({ proxyVerified: true, logger: false });
      expect(auth.describe()).to.include("trust: API Gateway's truststore (proxyVerified)");
      expect(admitted(await authenticateEvent(restEvent(clientCertOf(alice)), auth)).verifiedBy).to.equal('proxy');
    });
  });
});
