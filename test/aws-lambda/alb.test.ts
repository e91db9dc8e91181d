/**
 * @clientcert/aws-lambda as an ALB Lambda target: the ALB puts the certificate in
 * `x-amzn-mtls-clientcert-leaf` (verify mode, with its description) or `x-amzn-mtls-clientcert`
 * (passthrough, the whole chain), read by the core's `aws-alb` source; headers as the event carries
 * them (any case, single or multi-value). Plus the proxy result helper for every event kind.
 */
import { STATUS_CODES } from 'node:http';
import type { ALBResult, APIGatewayProxyResult, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { expect } from 'chai';
import {
  type AuthResult,
  createEventAuth,
  type LambdaProblemResponse,
  problemResponse,
} from '../../packages/aws-lambda/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { albEvent, albPassthroughHeaders, albVerifyHeaders, clientCertOf, httpApiEvent, restEvent } from './events.js';

const ALICE = 'CN=alice,O=Acme';
const DAY = 86_400_000;
const quiet = { logger: false } as const;

function code(result: AuthResult): string {
  if (result.ok) throw new Error('expected a rejection');
  expect(result.problem.status).to.equal(403);
  return result.problem.code;
}

function subject(result: AuthResult): string {
  if (!result.ok) throw new Error(`expected admission, got ${result.problem.code}: ${result.problem.detail}`);
  return result.certificate!.subject.rfc4514;
}

describe('aws-lambda: ALB Lambda targets', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let alice: TestCertificate;
  let bob: TestCertificate;
  let foreign: TestCertificate;
  let expired: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=Clients Root,O=Acme' });
    intermediate = await root.intermediate({ subject: 'CN=Clients Issuing,O=Acme' });
    alice = await root.issue({ subject: ALICE });
    bob = await intermediate.issue({ subject: 'CN=bob,O=Acme' });
    foreign = await (await createCA({ subject: 'CN=Clients Root,O=Acme' })).issue({ subject: ALICE });
    const now = Date.now();
    expired = await root.issue({
      subject: 'CN=old,O=Acme',
      notBefore: new Date(now - 9 * DAY),
      notAfter: new Date(now - DAY),
    });
  });

  describe("verify mode (proxy: 'aws-alb')", () => {
    it("admits the ALB's verified leaf: on its trust store (proxyVerified) or on `ca`, single or multi-value headers", async () => {
      const onAlb = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const onCa = createEventAuth({ proxy: 'aws-alb', ca: root.cert, ...quiet });
      for (const multiValue of [false, true]) {
        const event = albEvent(albVerifyHeaders(alice), multiValue);
        const viaAlb = await onAlb.authenticate(event);
        expect(subject(viaAlb)).to.equal(ALICE);
        if (viaAlb.ok)
          expect([viaAlb.certificate!.source, viaAlb.certificate!.verifiedBy]).to.deep.equal(['aws-alb', 'proxy']);
        const viaCa = await onCa.authenticate(event);
        expect(subject(viaCa)).to.equal(ALICE);
        if (viaCa.ok) expect(viaCa.certificate!.verifiedBy).to.equal('chain');
      }
    });

    it('reads header names in any case, as a client or the ALB wrote them', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const headers = Object.fromEntries(
        Object.entries(albVerifyHeaders(alice)).map(([name, value]) => [
          name.replace(/(^|-)\w/g, (c) => c.toUpperCase()),
          value,
        ]),
      );
      expect(subject(await auth.authenticate(albEvent(headers)))).to.equal(ALICE);
    });

    it('no certificate: client_certificate_required; an expired one: client_certificate_expired', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      expect(code(await auth.authenticate(albEvent({})))).to.equal('client_certificate_required');
      expect(code(await auth.authenticate(albEvent(albVerifyHeaders(expired))))).to.equal('client_certificate_expired');
    });

    it("the attacker's leaf header without the ALB's description of it: client_certificate_untrusted", async () => {
      // A listener without mutual authentication passes a client-sent header through: the ALB in
      // verify mode always describes the leaf (issuer, serial), a client's bare header does not.
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const forged = { 'x-amzn-mtls-clientcert-leaf': albVerifyHeaders(alice)['x-amzn-mtls-clientcert-leaf']! };
      expect(code(await auth.authenticate(albEvent(forged)))).to.equal('client_certificate_untrusted');
    });

    it("a description that is not the leaf's (Alice's leaf, Mallory's serial): client_certificate_untrusted", async () => {
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const headers = {
        ...albVerifyHeaders(alice),
        'x-amzn-mtls-clientcert-serial-number': foreign.x509.serialNumber.toUpperCase(),
      };
      expect(code(await auth.authenticate(albEvent(headers)))).to.equal('client_certificate_untrusted');
    });

    it('the leaf header twice (multi-value): client_certificate_malformed', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const headers = albVerifyHeaders(alice);
      const twice = {
        ...headers,
        'x-amzn-mtls-clientcert-leaf': [
          headers['x-amzn-mtls-clientcert-leaf']!,
          albVerifyHeaders(bob)['x-amzn-mtls-clientcert-leaf']!,
        ],
      };
      expect(code(await auth.authenticate(albEvent(twice, true)))).to.equal('client_certificate_malformed');
    });
  });

  describe("passthrough mode (proxy: 'aws-alb-passthrough'): the function verifies", () => {
    it('admits a chain that reaches `ca` through the presented intermediate', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb-passthrough', ca: root.cert, ...quiet });
      const result = await auth.authenticate(albEvent(albPassthroughHeaders(bob)));
      expect(subject(result)).to.equal('CN=bob,O=Acme');
      if (result.ok)
        expect(result.certificate!.chain.map((c) => c.subject.rfc4514)).to.deep.equal(['CN=Clients Issuing,O=Acme']);
    });

    it('a foreign certificate: untrusted; an expired one: expired; none: required; garbage: malformed', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb-passthrough', ca: root.cert, ...quiet });
      expect(code(await auth.authenticate(albEvent(albPassthroughHeaders(foreign))))).to.equal(
        'client_certificate_untrusted',
      );
      expect(code(await auth.authenticate(albEvent(albPassthroughHeaders(expired))))).to.equal(
        'client_certificate_expired',
      );
      expect(code(await auth.authenticate(albEvent({})))).to.equal('client_certificate_required');
      const garbage = {
        'x-amzn-mtls-clientcert': '-----BEGIN%20CERTIFICATE-----%0Azzzz%0A-----END%20CERTIFICATE-----',
      };
      expect(code(await auth.authenticate(albEvent(garbage)))).to.equal('client_certificate_malformed');
    });

    it("the other mode's header (a client's -leaf) is not read: client_certificate_required", async () => {
      const auth = createEventAuth({ proxy: 'aws-alb-passthrough', ca: root.cert, ...quiet });
      expect(code(await auth.authenticate(albEvent(albVerifyHeaders(alice))))).to.equal('client_certificate_required');
    });

    it("the listener's mode is said once, by `proxy`: `awsAlb.mode` is refused", () => {
      const options = { proxy: 'aws-alb-passthrough', ca: root.cert, awsAlb: { mode: 'verify' }, ...quiet } as const;
      expect(() => createEventAuth(options as never))
        .to.throw(/awsAlb\.mode/)
        .with.property('code', 'invalid_option');
    });

    it('an API Gateway event under an ALB configuration: a TypeError naming the fix', () => {
      const auth = createEventAuth({ proxy: 'aws-alb-passthrough', ca: root.cert, ...quiet });
      expect(() => auth.authenticate(restEvent(clientCertOf(alice)))).to.throw(TypeError, /proxy: 'api-gateway'/);
    });
  });

  describe('problemResponse: the rejection as the proxy result', () => {
    it('API Gateway (REST, HTTP API) and a plain ALB: statusCode, problem+json headers, the problem as body', async () => {
      const auth = createEventAuth({ ca: root.cert, rejectStatus: 401, ...quiet });
      const event = httpApiEvent(clientCertOf(foreign));
      const result = await auth.authenticate(event);
      if (result.ok) throw new Error('expected a rejection');
      const response: LambdaProblemResponse = problemResponse(result.problem, event);
      expect(response.statusCode).to.equal(401);
      expect(response.headers).to.deep.equal({
        'content-type': 'application/problem+json',
        'cache-control': 'no-store',
      });
      expect(response.isBase64Encoded).to.equal(false);
      expect(response).to.not.have.property('statusDescription');
      const body = JSON.parse(response.body);
      expect(body).to.deep.equal(result.problem);
      expect(body.code).to.equal('client_certificate_untrusted');
      expect(Object.keys(body).sort()).to.deep.equal(['code', 'detail', 'instance', 'status', 'title', 'type']);
      // The types AWS's handlers are declared with accept it as it is.
      const rest: APIGatewayProxyResult = problemResponse(result.problem, restEvent(null));
      const http: APIGatewayProxyStructuredResultV2 = response;
      const alb: ALBResult = problemResponse(result.problem, albEvent({}));
      expect([rest.statusCode, http.statusCode, alb.statusCode, alb.statusDescription]).to.deep.equal([
        401,
        401,
        401,
        `401 ${STATUS_CODES[401]}`,
      ]);
      expect(alb.headers).to.deep.equal(response.headers);
    });

    it('an ALB with multi-value headers on: multiValueHeaders, as its target group requires', async () => {
      const auth = createEventAuth({ proxy: 'aws-alb', proxyVerified: true, ...quiet });
      const event = albEvent({}, true);
      const result = await auth.authenticate(event);
      if (result.ok) throw new Error('expected a rejection');
      const response = problemResponse(result.problem, event);
      expect(response).to.not.have.property('headers');
      expect(response.multiValueHeaders).to.deep.equal({
        'content-type': ['application/problem+json'],
        'cache-control': ['no-store'],
      });
      expect(response.statusDescription).to.equal('403 Forbidden');
      expect(JSON.parse(response.body).code).to.equal('client_certificate_required');
    });
  });
});
