/**
 * The 'client-cert' Passport strategy on a real express app over HTTPS: the core decides the
 * certificate exactly as the express adapter does (same codes for the same callers), and verify
 * turns an admitted certificate into `req.user`.
 */
import { expect } from 'chai';
import express from 'express';
import type { ClientCertificate, ClientCertOptions, ProblemDetails } from '../../packages/core/src/index.js';
import { createCA } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import {
  ClientCertStrategy,
  clientCertProblem,
  clientCertProblems,
  sendProblem,
  type VerifyFunction,
} from '../../packages/passport/src/index.js';
import { request } from '../helpers/http-client.js';
import { errorsAsJson, makePki, newPassport, type Pki, type Running, serve } from './app.js';

let pki: Pki;

before(async function () {
  this.timeout(30_000);
  pki = await makePki(createCA);
});

const running: Running[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** The strategy under test, trusting our CA. */
function strategy(verify: VerifyFunction, options: ClientCertOptions = {}): ClientCertStrategy {
  return new ClientCertStrategy({ ca: pki.root.cert, logger: false, ...options }, verify);
}

/** An HTTPS app with `GET /me` behind the strategy; the route answers req.user and the certificate's subject. */
async function tlsApp(
  using: ClientCertStrategy,
  authenticate: { failWithError?: boolean } = { failWithError: true },
): Promise<string> {
  const passport = newPassport(using);
  const app = express();
  app.get('/me', passport.authenticate('client-cert', { session: false, ...authenticate }), (req, res) => {
    res.json({ user: req.user ?? null, subject: req.clientCert?.subject.rfc4514 ?? null });
  });
  app.use(clientCertProblems());
  app.use(errorsAsJson);
  const served = await serve(app, pki);
  running.push(served);
  return served.url;
}

const asUser = (cert: ClientCertificate) => ({ name: cert.subject.get('CN') });

function get(url: string, who?: { cert: string; key: string }, headers: Record<string, string> = {}) {
  return request({ url, path: '/me', ca: pki.root.cert, ...(who ? { cert: who.cert, key: who.key } : {}), headers });
}

function problemOf(response: { status: number; headers: Record<string, unknown>; text: string }): ProblemDetails {
  expect(response.headers['content-type']).to.equal('application/problem+json');
  expect(response.headers['cache-control']).to.equal('no-store');
  return JSON.parse(response.text) as ProblemDetails;
}

describe('passport: ClientCertStrategy over TLS', () => {
  it("is named 'client-cert' and admits a valid certificate with req.user from verify", async () => {
    const seen: ClientCertificate[] = [];
    const url = await tlsApp(
      strategy((cert, done) => {
        seen.push(cert);
        done(null, asUser(cert));
      }),
    );
    const response = await get(url, pki.alice);
    expect(response.status).to.equal(200);
    expect(JSON.parse(response.text)).to.deep.equal({ user: { name: 'alice' }, subject: 'CN=alice,O=Acme' });
    expect(seen).to.have.length(1);
    expect(seen[0]!.fingerprints.sha256).to.equal(pki.alice.sha256);
    expect(seen[0]!.source).to.equal('tls');
    expect(strategy(asUser).name).to.equal('client-cert');
  });

  const refusals: Array<[string, () => { cert: string; key: string } | undefined, string]> = [
    ['no certificate', () => undefined, 'client_certificate_required'],
    ["a foreign CA's certificate with the same subject", () => pki.foreign, 'client_certificate_untrusted'],
    ['an expired certificate', () => pki.expired, 'client_certificate_expired'],
  ];

  for (const [caller, who, code] of refusals) {
    it(`refuses ${caller} with ${code}, as the express adapter does, and never calls verify`, async () => {
      let verified = 0;
      const url = await tlsApp(
        strategy((cert) => {
          verified++;
          return asUser(cert);
        }),
      );
      const expressApp = express();
      expressApp.get('/me', clientCert({ ca: pki.root.cert, logger: false }), (_req, res) => void res.json({}));
      const reference = await serve(expressApp, pki);
      running.push(reference);

      const [viaPassport, viaExpress] = [await get(url, who()), await get(reference.url, who())];
      expect(viaPassport.status).to.equal(403);
      expect(viaExpress.status).to.equal(403);
      const problem = problemOf(viaPassport);
      expect(problem.code).to.equal(code);
      expect(problem.code).to.equal(problemOf(viaExpress).code);
      expect(problem.detail).to.equal(problemOf(viaExpress).detail);
      expect(problem).to.include({ status: 403, type: `urn:clientcert:problem:${code}` });
      expect(verified).to.equal(0);
    });
  }

  it("without failWithError, Passport's own answer: the problem's status (403), text/plain, no challenge", async () => {
    const url = await tlsApp(strategy(asUser), {});
    const response = await get(url);
    expect(response.status).to.equal(403);
    expect(response.text).to.equal('Forbidden');
    expect(response.headers['www-authenticate']).to.equal(undefined);
  });

  it('uses rejectStatus and problemTypeBase for the status Passport answers and the problem', async () => {
    const url = await tlsApp(strategy(asUser, { rejectStatus: 401, problemTypeBase: 'https://errors.example/' }));
    const problem = problemOf(await get(url, pki.foreign));
    expect(problem).to.include({ status: 401, code: 'client_certificate_untrusted' });
    expect(problem.type).to.equal('https://errors.example/client_certificate_untrusted');
  });
});

describe('passport: the verify callback', () => {
  const forms: Array<[string, VerifyFunction]> = [
    ['done(null, user)', (cert, done) => done(null, asUser(cert))],
    ['a returned user', (cert) => asUser(cert)],
    ['an async function', async (cert) => asUser(cert)],
    ['an async function that calls done', async (cert, done) => done(null, asUser(await Promise.resolve(cert)))],
    ['done called later', (cert, done) => void setImmediate(() => done(null, asUser(cert)))],
  ];
  for (const [form, verify] of forms) {
    it(`gives req.user from ${form}`, async () => {
      const response = await get(await tlsApp(strategy(verify)), pki.alice);
      expect(response.status).to.equal(200);
      expect(JSON.parse(response.text).user).to.deep.equal({ name: 'alice' });
    });
  }

  const noUser: Array<[string, VerifyFunction]> = [
    ['done(null, false)', (_cert, done) => done(null, false)],
    ['a returned null', () => null],
    ['a promise of false', async () => false],
    ['an async function without done returning nothing', async () => undefined],
  ];
  for (const [form, verify] of noUser) {
    it(`refuses with 403 client_certificate_rejected on ${form}`, async () => {
      const response = await get(await tlsApp(strategy(verify)), pki.alice);
      expect(response.status).to.equal(403);
      const problem = problemOf(response);
      expect(problem).to.include({
        status: 403,
        code: 'client_certificate_rejected',
        title: 'Client certificate rejected',
      });
      expect(problem.detail).to.equal('The client certificate is not mapped to a user of this application.');
      expect(problem.instance).to.match(/^urn:uuid:[0-9a-f-]{36}$/);
    });
  }

  const failures: Array<[string, VerifyFunction]> = [
    ['done(err)', (_cert, done) => done(new Error('directory down'))],
    [
      'a throw',
      () => {
        throw new Error('directory down');
      },
    ],
    [
      'a rejected promise',
      async () => {
        throw new Error('directory down');
      },
    ],
  ];
  for (const [form, verify] of failures) {
    it(`passes ${form} to next(err), not as a refusal`, async () => {
      const response = await get(await tlsApp(strategy(verify)), pki.alice);
      expect(response.status).to.equal(500);
      expect(JSON.parse(response.text)).to.deep.equal({ error: 'directory down' });
    });
  }

  it('with passReqToCallback, verify(req, certificate, done) gets the request', async () => {
    const url = await tlsApp(
      new ClientCertStrategy(
        { ca: pki.root.cert, logger: false, passReqToCallback: true },
        // Typed as express's request: the verify type takes the framework's own request.
        (req: express.Request, cert, done) => done(null, { name: cert.subject.get('CN'), tenant: req.get('x-tenant') }),
      ),
    );
    const response = await get(url, pki.alice, { 'x-tenant': 'blue' });
    expect(response.status).to.equal(200);
    expect(JSON.parse(response.text).user).to.deep.equal({ name: 'alice', tenant: 'blue' });
  });

  it('a custom callback gets the problem as info and its status', async () => {
    const strategy = new ClientCertStrategy({ ca: pki.root.cert, logger: false }, asUser);
    const passport = newPassport(strategy);
    const app = express();
    app.get('/me', (req, res, next) =>
      passport.authenticate('client-cert', { session: false }, (error, user, info, status) => {
        if (error) return next(error);
        if (!user) {
          // The info Passport hands over is the problem the strategy recorded for this request.
          expect(info).to.equal(clientCertProblem(req));
          expect(status).to.equal(403);
          return sendProblem(res, info as ProblemDetails);
        }
        res.json({ user });
      })(req, res, next),
    );
    const served = await serve(app, pki);
    running.push(served);
    expect(problemOf(await get(served.url, pki.expired)).code).to.equal('client_certificate_expired');
    const admitted = await get(served.url, pki.alice);
    expect(JSON.parse(admitted.text)).to.deep.equal({ user: { name: 'alice' } });
  });
});
