/**
 * `principal` and `principalProperty` in the core: misuse refused at start-up naming the option,
 * and the step itself (what it maps, what it refuses, what it passes through) over real TLS,
 * where the decision is cached per connection and a cached user lives with it.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { createClientCertAuth, type DecisionEvent, type PrincipalOption } from '../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import { createRequestAuth } from '../../packages/fetch/src/index.js';
import { ClientCertStrategy } from '../../packages/passport/src/index.js';
import { castOf } from '../helpers/cast.js';
import { optionError } from '../helpers/errors.js';
import { request } from '../helpers/http-client.js';

describe('principal options', () => {
  const create = (options: object) => () => createClientCertAuth({ logger: false, ...options });
  const map = () => ({ id: 1 });

  it('absent: no step, nothing on the compiled options', () => {
    expect(createClientCertAuth({ logger: false }).options.principal).to.equal(null);
  });

  it('a function, or { map, cache }: the step, placing on `user` unless told otherwise', () => {
    const plain = createClientCertAuth({ logger: false, principal: map }).options.principal!;
    expect([plain.property, plain.cached]).to.deep.equal(['user', false]);
    const cached = createClientCertAuth({
      logger: false,
      principal: { map, cache: true },
      principalProperty: 'account',
    }).options.principal!;
    expect([cached.property, cached.cached]).to.deep.equal(['account', true]);
  });

  it('refuses what is not a mapping, naming the option and the fix', () => {
    expect(optionError(create({ principal: 'admin' }))).to.include('principal');
    expect(optionError(create({ principal: null }))).to.include('principal');
    expect(optionError(create({ principal: { map: 'admin' } }))).to.include('principal.map');
    expect(optionError(create({ principal: { map, cache: 'yes' } }))).to.include('principal.cache');
    expect(optionError(create({ principal: { map, ttl: 60 } }))).to.include('ttl');
  });

  it('refuses principalProperty without principal, empty, or the certificate’s own place', () => {
    expect(optionError(create({ principalProperty: 'user' }))).to.include('needs `principal`');
    expect(optionError(create({ principal: map, principalProperty: '' }))).to.include('principalProperty');
    expect(optionError(create({ principal: map, principalProperty: 'clientCert' }))).to.include('clientCert');
    expect(optionError(create({ principal: map, principalProperty: '__proto__' }))).to.include('principalProperty');
  });

  it('passes an anonymous result through untouched, without calling the mapping', () => {
    let calls = 0;
    const step = createClientCertAuth({ logger: false, mode: 'accept', principal: () => ({ call: ++calls }) }).options
      .principal!;
    const anonymous = { ok: true, certificate: null } as const;
    expect(step.resolve(anonymous, {})).to.equal(anonymous);
    expect(calls).to.equal(0);
  });

  it('answers a refusal with the configured status and problem type', async () => {
    const step = createClientCertAuth({
      logger: false,
      rejectStatus: 401,
      problemTypeBase: 'https://errors.example/',
      principal: () => null,
    }).options.principal!;
    const certificate = {} as never;
    const refused = await step.resolve({ ok: true, certificate }, {});
    expect(refused.ok).to.equal(false);
    if (refused.ok) return;
    expect([refused.problem.status, refused.problem.type, refused.problem.code]).to.deep.equal([
      401,
      'https://errors.example/client_certificate_rejected',
      'client_certificate_rejected',
    ]);
  });
});

describe('principal over TLS (express)', () => {
  let serverRoot: TestCA;
  let root: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const servers: https.Server[] = [];

  before(async () => {
    ({ serverRoot, root, serverCert, alice, mallory } = await castOf({ clientsCA: 'CN=Clients', alice: 'CN=alice' }));
  });
  after(() => {
    for (const server of servers) server.close();
  });

  async function serveTls(principal: Parameters<typeof clientCert>[0]): Promise<string> {
    const app = express();
    app.use(clientCert({ logger: false, ca: root.cert, ...principal }));
    app.get('/', (req, res) => {
      res.json({ user: req.user ?? null });
    });
    const tls = { key: serverCert.key, cert: serverCert.cert, requestCert: true, rejectUnauthorized: false };
    const server = https.createServer(tls, app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const get = (url: string, client: TestCertificate) =>
    request({ url, ca: serverRoot.cert, cert: client.cert, key: client.key });

  it('maps the TLS peer’s certificate to the user; a foreign one is refused before any mapping', async () => {
    let calls = 0;
    const url = await serveTls({ principal: (certificate) => ({ cn: certificate.subject.get('CN'), call: ++calls }) });
    const admitted = await get(url, alice);
    expect([admitted.status, JSON.parse(admitted.text)]).to.deep.equal([200, { user: { cn: 'alice', call: 1 } }]);
    const foreign = await get(url, mallory);
    expect([foreign.status, JSON.parse(foreign.text).code]).to.deep.equal([403, 'client_certificate_untrusted']);
    expect(calls).to.equal(1);
  });

  it('cache: true maps a certificate once while its decision is cached; without it, once per request', async () => {
    const counts = { plain: 0, cached: 0 };
    const plain = await serveTls({ principal: () => ({ n: ++counts.plain }) });
    const cached = await serveTls({ principal: { map: () => ({ n: ++counts.cached }), cache: true } });
    for (let i = 0; i < 3; i++) {
      expect((await get(plain, alice)).status).to.equal(200);
      expect(JSON.parse((await get(cached, alice)).text)).to.deep.equal({ user: { n: 1 } });
    }
    expect(counts).to.deep.equal({ plain: 3, cached: 1 });
  });
});

describe('principal on every caller of the core (fetch, no adapter placing it)', () => {
  let root: TestCA;
  let alice: TestCertificate;
  before(async () => {
    root = await createCA({ subject: 'CN=Clients' });
    alice = await root.issue({ subject: 'CN=alice' });
  });

  const decide = (principal: PrincipalOption) => {
    const auth = createRequestAuth({ logger: false, ca: root.cert, trustProxy: '127.0.0.1', principal });
    const request = new Request('http://app.test/', { headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
    return auth.authenticate(request, { remoteAddress: '127.0.0.1' });
  };

  it('runs the mapping inside authenticate: a user on the result, or the refusal (never a silent pass)', async () => {
    const user = await decide(async (certificate) => ({ cn: certificate.subject.get('CN') }));
    expect(user).to.deep.include({ ok: true, principal: { cn: 'alice' } });
    const refused = await decide(() => null);
    expect(refused.ok).to.equal(false);
    if (!refused.ok)
      expect([refused.problem.status, refused.problem.code]).to.deep.equal([403, 'client_certificate_rejected']);
  });

  it('a certificate mapped to no user leaves the one rejection line any refusal leaves, naming it', async () => {
    const lines: string[] = [];
    const logger = { info: () => {}, warn: (line: string) => lines.push(line), error: () => {}, debug: () => {} };
    const auth = createClientCertAuth({ logger, ca: root.cert, trustProxy: '127.0.0.1', principal: () => null });
    lines.length = 0; // the start-up lines
    const socket = { remoteAddress: '127.0.0.1', encrypted: false } as never;
    for (let i = 0; i < 2; i++) {
      const result = await auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
      expect(result.ok).to.equal(false);
    }
    const sha256 = alice.x509.fingerprint256.replaceAll(':', '').toLowerCase();
    expect(lines).to.deep.equal([
      `clientcert: rejected a request: client_certificate_rejected at principal (The client certificate is not mapped to a user of this application.); certificate subject "CN=alice", issuer "CN=Clients", sha256 ${sha256}; from xfcc, peer 127.0.0.1; logged at most once a minute per certificate and reason (warning request_rejected; see https://github.com/clientcert/clientcert/blob/main/packages/core/README.md#request_rejected)`,
    ]);
  });

  it('onDecision is told what the caller got: a user-less certificate as a refusal, a mapped one as admitted', async () => {
    const events: DecisionEvent[] = [];
    const auth = createClientCertAuth({
      logger: false,
      ca: root.cert,
      trustProxy: '127.0.0.1',
      principal: async (certificate) => (certificate.subject.get('CN') === 'alice' ? { id: 1 } : null),
      onDecision: (event) => void events.push(event),
    });
    const bob = await root.issue({ subject: 'CN=bob' });
    const socket = { remoteAddress: '127.0.0.1', encrypted: false } as never;
    for (const client of [alice, bob]) {
      await auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': envoyXfcc(client) } });
    }
    expect(events.map((e) => [e.outcome, e.code, e.check, e.fingerprint, e.source])).to.deep.equal([
      ['authenticated', null, null, alice.sha256, 'xfcc'],
      ['rejected', 'client_certificate_rejected', 'principal', bob.sha256, 'xfcc'],
    ]);
  });

  it('fetch gives the mapping the Web Request itself as its context', async () => {
    let seen: unknown;
    await decide((_certificate, context) => {
      seen = context;
      return { ok: true };
    });
    expect(seen).to.be.instanceOf(Request);
    expect((seen as Request).url).to.equal('http://app.test/');
  });

  it('the Passport strategy refuses principal and principalProperty: verify is its mapping', () => {
    const verify = () => ({ id: 1 });
    expect(() => new ClientCertStrategy({ principal: () => ({}) }, verify))
      .to.throw(/option "principal" is not taken by the Passport strategy: map the certificate to the user in verify/)
      .with.property('code', 'invalid_option');
    expect(() => new ClientCertStrategy({ principalProperty: 'account' }, verify))
      .to.throw(/option "principalProperty"/)
      .with.property('code', 'invalid_option');
  });
});

describe('principal: a header replayed by a stranger (attack)', () => {
  it('a user cached for a certificate the trusted proxy forwarded is never given to a stranger replaying its header (mode accept)', async () => {
    const root = await createCA({ subject: 'CN=Clients' });
    const alice = await root.issue({ subject: 'CN=alice' });
    let calls = 0;
    const map = () => {
      calls += 1;
      return { id: 'alice' };
    };
    const app = express();
    app.use(
      clientCert({
        logger: false,
        mode: 'accept',
        ca: root.cert,
        trustProxy: '127.0.0.1',
        principal: { map, cache: true },
      }),
    );
    app.get('/', (req, res) => {
      res.json({ cert: req.clientCert?.subject.rfc4514 ?? null, user: req.user ?? null });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const { port } = server.address() as AddressInfo;
    const from = (localAddress: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        http
          .get(
            {
              host: '127.0.0.1',
              port,
              localAddress,
              agent: false,
              headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
            },
            (res) => {
              let body = '';
              res.on('data', (chunk) => (body += chunk));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
            },
          )
          .on('error', reject);
      });
    try {
      // The proxy's request decides alice and keeps her user with the cached decision.
      expect(await from('127.0.0.1')).to.deep.equal({ status: 200, body: { cert: 'CN=alice', user: { id: 'alice' } } });
      // The same header from a peer outside trustProxy: neither the certificate nor the cached user.
      for (let i = 0; i < 2; i++) {
        expect(await from('127.0.0.2')).to.deep.equal({ status: 200, body: { cert: null, user: null } });
      }
      expect(calls).to.equal(1);
    } finally {
      server.close();
    }
  });
});
