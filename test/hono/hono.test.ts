/**
 * @clientcert/hono on Node through @hono/node-server, real servers on port 0: the TLS peer over
 * HTTPS (requestCert) with the same answers as express, XFCC behind a trusted peer, a forged XFCC
 * from anyone else ignored, a header sent twice refused (Node's rawHeaders reach the core), and
 * the middleware without Node (headers only, the connection from the `connection` option).
 */
import type http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert as expressClientCert } from '../../packages/express/src/index.js';
import { type ClientCertificate, clientCert, clientCertOf } from '../../packages/hono/src/index.js';
import { castOf } from '../helpers/cast.js';
import { request } from '../helpers/http-client.js';
import { type Context, Hono, serve } from './deps.js';

type Listening = http.Server | https.Server;

describe('@clientcert/hono on @hono/node-server', () => {
  let serverRoot: TestCA;
  let root: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const servers: Listening[] = [];

  before(async () => {
    ({ serverRoot, root, serverCert, alice, mallory } = await castOf());
  });
  after(() => {
    for (const server of servers) server.close();
  });

  /** The app every test serves: the middleware app-wide, `/whoami` answering the subject and source. */
  function honoApp(options: Parameters<typeof clientCert>[0]) {
    const app = new Hono();
    app.use(clientCert(options));
    app.get('/whoami', (c) => {
      const certificate: ClientCertificate | null | undefined = c.get('clientCert');
      return c.json({ subject: clientCertOf(c).subject.rfc4514, source: certificate?.source });
    });
    app.onError((error, c) => c.text(`${error.name}: ${error.message}`, 500));
    return app;
  }

  async function listening(server: Listening): Promise<string> {
    servers.push(server);
    if (!server.listening) await new Promise<void>((resolve) => server.once('listening', resolve));
    const scheme = server instanceof https.Server ? 'https' : 'http';
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const tlsServerOptions = () => ({
    key: serverCert.key,
    cert: serverCert.cert,
    requestCert: true,
    rejectUnauthorized: false,
  });

  function serveHttps(options: Parameters<typeof clientCert>[0]): Promise<string> {
    const app = honoApp(options);
    const server = serve({
      fetch: app.fetch,
      port: 0,
      hostname: '127.0.0.1',
      createServer: https.createServer,
      serverOptions: tlsServerOptions(),
    });
    return listening(server as https.Server);
  }

  function serveHttp(options: Parameters<typeof clientCert>[0]): Promise<string> {
    const app = honoApp(options);
    return listening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server);
  }

  /** `<status> <subject or problem code>`, with the problem's content-type checked on a rejection. */
  async function answer(
    url: string,
    client: { cert?: string; key?: string; headers?: http.OutgoingHttpHeaders; from?: string },
  ) {
    const res = await request({
      url,
      path: '/whoami',
      ca: serverRoot.cert,
      ...(client.cert ? { cert: client.cert, key: client.key } : {}),
      headers: client.headers ?? {},
      localAddress: client.from ?? '127.0.0.1',
    });
    if (res.status === 200) {
      const body = JSON.parse(res.text) as { subject: string; source: string };
      return `200 ${body.subject} ${body.source}`;
    }
    if (res.headers['content-type'] !== 'application/problem+json') return `${res.status} ${res.text}`;
    const problem = JSON.parse(res.text) as Record<string, unknown>;
    expect(Object.keys(problem).sort()).to.deep.equal(['code', 'detail', 'instance', 'status', 'title', 'type']);
    expect(problem.status).to.equal(res.status);
    expect(res.headers['cache-control']).to.equal('no-store');
    return `${res.status} ${problem.code}`;
  }

  describe('TLS: the peer certificate from c.env.incoming.socket', () => {
    // Loopback peers other than 127.0.0.1 (the tests' stranger, 127.0.0.2) are not proxies here.
    const options = (): ClientCertOptions => ({ logger: false, ca: root.cert, trustProxy: '127.0.0.1' });

    it('admits a valid client certificate with its subject; refuses none and a foreign one', async () => {
      const url = await serveHttps(options());
      expect(await answer(url, { cert: alice.cert, key: alice.key })).to.equal('200 CN=alice,O=Acme tls');
      expect(await answer(url, {})).to.equal('403 client_certificate_required');
      expect(await answer(url, { cert: mallory.cert, key: mallory.key })).to.equal('403 client_certificate_untrusted');
    });

    it('answers every case with the same status and code as express', async () => {
      const honoUrl = await serveHttps(options());
      const app = express();
      app.use(expressClientCert(options()));
      app.get('/whoami', (req, res) => {
        res.json({ subject: req.clientCert?.subject.rfc4514, source: req.clientCert?.source });
      });
      const expressUrl = await listening(https.createServer(tlsServerOptions(), app).listen(0, '127.0.0.1'));
      const clients = [{ cert: alice.cert, key: alice.key }, {}, { cert: mallory.cert, key: mallory.key }];
      for (const client of clients) {
        expect(await answer(honoUrl, client)).to.equal(await answer(expressUrl, client));
      }
    });

    it('a forged XFCC over TLS from a stranger is not read: its own certificate, or none, decides (attack: header over TLS)', async () => {
      const url = await serveHttps(options());
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      expect(await answer(url, { headers, from: '127.0.0.2' })).to.equal('403 client_certificate_required');
      const withOwn = { headers, from: '127.0.0.2', cert: mallory.cert, key: mallory.key };
      expect(await answer(url, withOwn)).to.equal('403 client_certificate_untrusted');
    });
    it("over HTTP/2 (h2): every stream of one session gets the session's certificate", async () => {
      const app = honoApp(options());
      const server = serve({
        fetch: app.fetch,
        port: 0,
        hostname: '127.0.0.1',
        createServer: http2.createSecureServer,
        serverOptions: tlsServerOptions(),
      }) as http2.Http2SecureServer;
      const url = (await listening(server as unknown as https.Server)).replace('http:', 'https:');
      const session = http2.connect(url, { ca: serverRoot.cert, cert: alice.cert, key: alice.key });
      try {
        const one = (): Promise<string> =>
          new Promise((resolve, reject) => {
            const stream = session.request({ ':path': '/whoami' });
            let status = 0;
            let text = '';
            stream.on('response', (headers) => void (status = Number(headers[':status'])));
            stream.on('data', (chunk: Buffer) => void (text += chunk.toString()));
            stream.on('end', () => resolve(`${status} ${text}`));
            stream.on('error', reject);
          });
        const answers = [await one(), await one()];
        expect(answers).to.deep.equal(Array(2).fill('200 {"subject":"CN=alice,O=Acme","source":"tls"}'));
      } finally {
        session.close();
        server.close();
      }
    });
  });

  describe('XFCC behind a proxy (plain HTTP)', () => {
    const options = (extra: ClientCertOptions = {}): ClientCertOptions => ({
      logger: false,
      proxy: 'envoy',
      ca: root.cert,
      trustProxy: '127.0.0.1',
      ...extra,
    });

    it('admits the certificate a trusted peer forwards', async () => {
      const url = await serveHttp(options());
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      expect(await answer(url, { headers })).to.equal('200 CN=alice,O=Acme xfcc');
    });

    it('ignores the same header from a peer outside trustProxy (attack: forged XFCC)', async () => {
      const url = await serveHttp(options());
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      expect(await answer(url, { headers, from: '127.0.0.2' })).to.equal('403 client_certificate_required');
    });

    it('refuses a foreign certificate forwarded by the trusted proxy', async () => {
      const url = await serveHttp(options());
      const headers = { 'x-forwarded-client-cert': envoyXfcc(mallory) };
      expect(await answer(url, { headers })).to.equal('403 client_certificate_untrusted');
    });

    it("refuses XFCC sent as two lines (Node's rawHeaders reach the core; attack: client-sent element)", async () => {
      const url = await serveHttp(options());
      const headers = { 'x-forwarded-client-cert': [envoyXfcc(mallory), envoyXfcc(alice)] };
      expect(await answer(url, { headers })).to.equal('403 client_certificate_malformed');
    });

    it("mode accept: c.get('clientCert') is null without one, and clientCertOf names the mistake", async () => {
      const url = await serveHttp(options({ mode: 'accept' }));
      const answered = await answer(url, {});
      expect(answered).to.match(/^500 TypeError: clientcert: this request has no client certificate/);
    });

    it('per route: a route behind its own middleware, another without', async () => {
      const app = new Hono();
      app.get('/open', (c) => c.text(String(c.get('clientCert') ?? 'none')));
      app.get('/whoami', clientCert(options()), (c) => c.text(clientCertOf(c).subject.get('CN') ?? '-'));
      const url = await listening(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server);
      const headers = { 'x-forwarded-client-cert': envoyXfcc(alice) };
      expect((await request({ url, path: '/whoami', headers, localAddress: '127.0.0.1' })).text).to.equal('alice');
      const open = await request({ url, path: '/open', localAddress: '127.0.0.1' });
      expect(`${open.status} ${open.text}`).to.equal('200 none');
      const refused = await request({ url, path: '/whoami', localAddress: '127.0.0.1' });
      expect(refused.status).to.equal(403);
    });
  });

  it("types: c.get('clientCert') is the certificate (not any), clientCertOf non-null", () => {
    // Compiled, not run: the type checker fails this file if the augmentation is lost.
    const typed = (c: Context): void => {
      // @ts-expect-error a certificate or null, never a number
      const wrong: number = c.get('clientCert');
      const subject: string = clientCertOf(c).subject.rfc4514;
      void [wrong, subject];
    };
    expect(typeof typed).to.equal('function');
  });

  it('a connection option that is not a function is invalid_option at construction, naming it', () => {
    const bad = { connection: '10.0.0.7' } as unknown as Parameters<typeof clientCert>[0];
    expect(() => clientCert(bad))
      .to.throw(/option "connection" must be a function/)
      .with.property('code', 'invalid_option');
  });

  describe('without Node (headers only): the connection from the `connection` option', () => {
    const options = (extra: Parameters<typeof clientCert>[0] = {}): Parameters<typeof clientCert>[0] => ({
      logger: false,
      proxy: 'envoy',
      ca: root.cert,
      trustProxy: '10.0.0.7',
      ...extra,
    });
    const forwarded = () =>
      new Request('https://app.example/whoami', { headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });

    it('reads the header when the runtime says the peer is a trusted proxy', async () => {
      const app = honoApp(options({ connection: () => ({ remoteAddress: '10.0.0.7' }) }));
      const res = await app.request(forwarded());
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ subject: 'CN=alice,O=Acme', source: 'xfcc' });
    });

    it('ignores it from another peer, and when the runtime names none', async () => {
      for (const connection of [() => ({ remoteAddress: '203.0.113.9' }), undefined]) {
        const app = honoApp(options(connection ? { connection } : {}));
        const res = await app.request(forwarded());
        expect(res.status).to.equal(403);
        expect(res.headers.get('content-type')).to.equal('application/problem+json');
        expect(((await res.json()) as { code: string }).code).to.equal('client_certificate_required');
      }
    });
  });
});
