/**
 * The strategy behind a TLS-terminating proxy (XFCC from a trusted peer; the same header from
 * anyone else ignored), in Passport's strategy chains, in `accept` mode, and its construction
 * errors. Plain-HTTP servers on 127.0.0.1: the trusted proxy connects from 127.0.0.1, the
 * stranger from 127.0.0.2.
 */
import { expect } from 'chai';
import express from 'express';
import type { ClientCertificate, ProblemDetails } from '../../packages/core/src/index.js';
import { createCA, envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { ClientCertStrategy, clientCertProblems, type VerifyFunction } from '../../packages/passport/src/index.js';
import { request } from '../helpers/http-client.js';
import { errorsAsJson, makePki, newPassport, type Pki, type Running, serve } from './app.js';

const PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';

let pki: Pki;

before(async function () {
  this.timeout(30_000);
  pki = await makePki(createCA);
});

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

const asUser: VerifyFunction = (cert: ClientCertificate) => ({ name: cert.subject.get('CN') });

/** A strategy for the app behind Envoy: XFCC from 127.0.0.1 only, chains checked against our CA. */
function behindProxy(verify: VerifyFunction = asUser, mode: 'require' | 'accept' = 'require'): ClientCertStrategy {
  return new ClientCertStrategy({ mode, proxy: 'envoy', trustProxy: PROXY, ca: pki.root.cert, logger: false }, verify);
}

/** `GET /me` behind `passport.authenticate(names)`, over plain HTTP (the proxy terminated TLS). */
async function proxiedApp(names: string | string[], ...strategies: unknown[]): Promise<string> {
  const passport = newPassport(...strategies);
  const app = express();
  app.get('/me', passport.authenticate(names, { session: false, failWithError: true }), (req, res) => {
    res.json({ user: req.user ?? null, source: req.clientCert?.source ?? null });
  });
  app.use(clientCertProblems());
  app.use(errorsAsJson);
  const served = await serve(app);
  running.push(served);
  return served.url;
}

function get(url: string, from: string, headers: Record<string, string> = {}) {
  return request({ url, path: '/me', localAddress: from, headers });
}

function codeOf(response: { headers: Record<string, unknown>; text: string }): string {
  expect(response.headers['content-type']).to.equal('application/problem+json');
  return (JSON.parse(response.text) as ProblemDetails).code;
}

/**
 * A stand-in for a second strategy of a chain (an API key): succeeds with `x-api-key: good`, fails
 * with 401 and a challenge otherwise.
 */
class ApiKeyStrategy {
  readonly name = 'api-key';
  authenticate(this: { success(u: unknown): void; fail(c: string, s: number): void }, req: express.Request): void {
    if (req.get('x-api-key') === 'good') this.success({ name: 'api-key user' });
    else this.fail('ApiKey', 401);
  }
}

describe('passport: ClientCertStrategy behind a proxy (XFCC)', () => {
  it("admits the certificate in a trusted proxy's XFCC, with req.user from verify", async () => {
    const url = await proxiedApp('client-cert', behindProxy());
    const response = await get(url, PROXY, { 'x-forwarded-client-cert': envoyXfcc(pki.alice) });
    expect(response.status).to.equal(200);
    expect(JSON.parse(response.text)).to.deep.equal({ user: { name: 'alice' }, source: 'xfcc' });
  });

  it('ignores the same XFCC from an untrusted peer: 403 client_certificate_required, verify never called', async () => {
    let verified = 0;
    const url = await proxiedApp(
      'client-cert',
      behindProxy(() => {
        verified++;
        return { name: 'forged' };
      }),
    );
    const response = await get(url, STRANGER, { 'x-forwarded-client-cert': envoyXfcc(pki.alice) });
    expect(response.status).to.equal(403);
    expect(codeOf(response)).to.equal('client_certificate_required');
    expect(verified).to.equal(0);
  });

  it("refuses a foreign CA's certificate forwarded by the trusted proxy: client_certificate_untrusted", async () => {
    const url = await proxiedApp('client-cert', behindProxy());
    const response = await get(url, PROXY, { 'x-forwarded-client-cert': envoyXfcc(pki.foreign) });
    expect(response.status).to.equal(403);
    expect(codeOf(response)).to.equal('client_certificate_untrusted');
  });

  it('refuses an XFCC whose Hash is not its Cert (a tampered header): client_certificate_malformed', async () => {
    const url = await proxiedApp('client-cert', behindProxy());
    const forged = envoyXfcc(pki.alice).replace(pki.alice.sha256, pki.expired.sha256);
    const response = await get(url, PROXY, { 'x-forwarded-client-cert': forged });
    expect(response.status).to.equal(403);
    expect(codeOf(response)).to.equal('client_certificate_malformed');
  });
});

describe('passport: ClientCertStrategy in a chain and in accept mode', () => {
  it('a refused certificate lets the next strategy of the chain decide', async () => {
    const url = await proxiedApp(['client-cert', 'api-key'], behindProxy(), new ApiKeyStrategy());
    const byKey = await get(url, STRANGER, { 'x-api-key': 'good' });
    expect(JSON.parse(byKey.text)).to.deep.equal({ user: { name: 'api-key user' }, source: null });
    const byCert = await get(url, PROXY, { 'x-forwarded-client-cert': envoyXfcc(pki.alice) });
    expect(JSON.parse(byCert.text)).to.deep.equal({ user: { name: 'alice' }, source: 'xfcc' });
  });

  it('when every strategy fails, the problem answers only if its status is the one Passport chose', async () => {
    // Passport answers with the first failure's status: 403 from client-cert first, 401 from api-key first.
    const certFirst = await proxiedApp(['client-cert', 'api-key'], behindProxy(), new ApiKeyStrategy());
    const refused = await get(certFirst, STRANGER);
    expect(refused.status).to.equal(403);
    expect(codeOf(refused)).to.equal('client_certificate_required');

    const keyFirst = await proxiedApp(['api-key', 'client-cert'], behindProxy(), new ApiKeyStrategy());
    const challenged = await get(keyFirst, STRANGER);
    expect(challenged.status).to.equal(500); // errorsAsJson: the AuthenticationError went on to next
    expect(JSON.parse(challenged.text)).to.deep.equal({ error: 'Unauthorized' });
  });

  it("mode 'accept': no certificate passes unauthenticated, a presented one must still pass", async () => {
    const url = await proxiedApp('client-cert', behindProxy(asUser, 'accept'));
    const anonymous = await get(url, PROXY);
    expect(anonymous.status).to.equal(200);
    expect(JSON.parse(anonymous.text)).to.deep.equal({ user: null, source: null });
    const admitted = await get(url, PROXY, { 'x-forwarded-client-cert': envoyXfcc(pki.alice) });
    expect(JSON.parse(admitted.text)).to.deep.equal({ user: { name: 'alice' }, source: 'xfcc' });
    const foreign = await get(url, PROXY, { 'x-forwarded-client-cert': envoyXfcc(pki.foreign) });
    expect(codeOf(foreign)).to.equal('client_certificate_untrusted');
  });
});

describe('passport: constructing ClientCertStrategy', () => {
  const invalid: Array<[string, () => unknown, string]> = [
    [
      'no verify',
      () => new ClientCertStrategy({ logger: false }, undefined as never),
      'option "verify" must be a function',
    ],
    [
      'an unknown option',
      () => new ClientCertStrategy({ colour: 'blue' } as never, asUser),
      'option "colour" is not a known option',
    ],
    [
      'a passReqToCallback that is not a boolean',
      () => new ClientCertStrategy({ passReqToCallback: 'yes' } as never, asUser),
      'option "passReqToCallback" must be true or false',
    ],
    [
      'options that are not an object',
      () => new ClientCertStrategy(null as never, asUser),
      'option "options" must be an object',
    ],
  ];
  for (const [what, construct, message] of invalid) {
    it(`refuses ${what} with invalid_option naming it`, () => {
      expect(construct).to.throw(message).with.property('code', 'invalid_option');
    });
  }

  it("takes verify alone, as passport-client-cert's constructor does (the core's defaults, said at start-up)", () => {
    const said: string[] = [];
    const info = console.info;
    console.info = (line: string) => void said.push(line);
    try {
      expect(new ClientCertStrategy(asUser).name).to.equal('client-cert');
    } finally {
      console.info = info;
    }
    expect(said).to.have.length(1);
    expect(said[0]).to.match(/^clientcert: mode require; certificate from the TLS connection/);
  });
});
