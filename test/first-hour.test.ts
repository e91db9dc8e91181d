/**
 * A user's first hour: each mistake a new user makes, on a real express server, and the exact log
 * line that names it and its fix. The logger is left at its default, the console, and captured:
 * what is asserted is what a user sees in the terminal. A rejected request with default options
 * leaves one line; a mistake that a warning explains adds that warning, once.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import Koa from 'koa';
import { isClientCertError, WARNINGS_DOCS } from '../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../packages/core/src/testkit/index.js';
import { type ClientCertOptions, clientCert } from '../packages/express/src/index.js';
import { clientCert as koaClientCert } from '../packages/koa/src/index.js';
import { type ClientResponse, request } from './helpers/http-client.js';

const METHODS = ['log', 'info', 'warn', 'error', 'debug'] as const;

/** What `run` writes to the console, one `<method> <text>` per call (the default logger is the console). */
async function consoleDuring(run: () => unknown): Promise<string[]> {
  const saved = METHODS.map((method) => console[method]);
  const lines: string[] = [];
  for (const method of METHODS)
    console[method] = (...args: unknown[]) => void lines.push(`${method} ${args.join(' ')}`);
  try {
    await run();
  } finally {
    METHODS.forEach((method, i) => {
      console[method] = saved[i]!;
    });
  }
  return lines;
}

/** The end of every warning line: its code and where it is explained. */
const see = (code: string): string => ` (warning ${code}; see ${WARNINGS_DOCS}${code})`;

describe("a user's first hour: every mistake named in the log with its fix", () => {
  let root: TestCA;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  let server: TestCertificate;
  const servers: http.Server[] = [];

  before(async () => {
    root = await createCA({ subject: 'CN=Clients CA,O=Acme' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    mallory = await (await createCA({ subject: 'CN=Elsewhere CA' })).issue({ subject: 'CN=mallory,O=Elsewhere' });
    server = await root.issue({
      subject: 'CN=localhost',
      eku: ['serverAuth'],
      san: { dns: ['localhost'], ip: ['127.0.0.1'] },
    });
  });
  after(() => {
    for (const listening of servers) listening.close();
  });

  /** An express app behind `clientCert(options)` answering the caller's subject; built while the console is captured. */
  async function app(
    options: ClientCertOptions,
    tls?: https.ServerOptions,
  ): Promise<{ url: string; startup: string[] }> {
    const routes = express();
    const startup = await consoleDuring(() => routes.use(clientCert(options)));
    routes.get('/', (req, res) => void res.send(req.clientCert?.subject.rfc4514 ?? 'none'));
    const listening = tls ? https.createServer(tls, routes) : http.createServer(routes);
    servers.push(listening);
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const port = (listening.address() as AddressInfo).port;
    return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`, startup };
  }

  /** One request, and what the console got while it was answered. */
  async function call(options: Parameters<typeof request>[0]): Promise<{ res: ClientResponse; lines: string[] }> {
    let res: ClientResponse | undefined;
    const lines = await consoleDuring(async () => {
      res = await request({ localAddress: '127.0.0.1', ...options });
    });
    return { res: res!, lines };
  }

  const code = (res: ClientResponse): string => `${res.status} ${(JSON.parse(res.text) as { code: string }).code}`;

  const REJECTED = see('request_rejected');

  it('a rejected request with default options leaves exactly one line: code, check, subject, issuer, fingerprint, header, peer; a success leaves none', async () => {
    const { url, startup } = await app({ ca: root.cert });
    expect(startup).to.have.length(1);
    expect(startup[0]).to.match(/^info clientcert: mode require; /);
    const refused = await call({ url, headers: { 'x-forwarded-client-cert': envoyXfcc(mallory) } });
    expect(code(refused.res)).to.equal('403 client_certificate_untrusted');
    expect(refused.lines).to.deep.equal([
      'warn clientcert: rejected a request: client_certificate_untrusted at chain.untrusted (no path to a trust anchor: ' +
        "no trust anchor or intermediate leads by name from the leaf's issuer to a trust anchor); certificate subject " +
        `"CN=mallory,O=Elsewhere", issuer "CN=Elsewhere CA", sha256 ${mallory.sha256}; from x-forwarded-client-cert, ` +
        `peer 127.0.0.1; logged at most once a minute per certificate and reason${REJECTED}`,
    ]);
    const admitted = await call({ url, headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
    expect([admitted.res.status, admitted.res.text, admitted.lines]).to.deep.equal([200, 'CN=alice,O=Acme', []]);
    // The same refusal again: answered the same, not logged again within the minute (a scanner cannot flood the log).
    const again = await call({ url, headers: { 'x-forwarded-client-cert': envoyXfcc(mallory) } });
    expect([code(again.res), again.lines]).to.deep.equal(['403 client_certificate_untrusted', []]);
  });

  it("the wrong preset: proxy 'envoy' behind nginx's headers names the header and the presets that read it", async () => {
    const { url } = await app({ proxy: 'envoy', ca: root.cert });
    const { res, lines } = await call({
      url,
      headers: { 'ssl-client-cert': encodeURIComponent(alice.cert), 'ssl-client-verify': 'SUCCESS' },
    });
    expect(code(res)).to.equal('403 client_certificate_required');
    expect(lines).to.deep.equal([
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from x-forwarded-client-cert, ' +
        "peer 127.0.0.1; the request carries ssl-client-cert (read by proxy: 'nginx' or 'ingress-nginx'): if that is your " +
        `proxy's header, name that proxy in the options; logged at most once a minute per peer${REJECTED}`,
    ]);
  });

  it("the wrong preset: proxy 'azure-app-service' behind Azure Container Apps' XFCC", async () => {
    const { url } = await app({ proxy: 'azure-app-service', trustProxy: 'loopback', ca: root.cert });
    const { res, lines } = await call({ url, headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
    expect(code(res)).to.equal('403 client_certificate_required');
    expect(lines).to.deep.equal([
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from base64-der ' +
        "(x-arr-clientcert), peer 127.0.0.1; the request carries x-forwarded-client-cert (read by proxy: 'azure-container-apps' " +
        "or 'envoy' or 'istio'): if that is your proxy's header, name that proxy in the options; logged at most once a " +
        `minute per peer${REJECTED}`,
    ]);
  });

  it("source 'tls' on a plain-HTTP listener: said once with the fix, beside the rejection", async () => {
    const { url } = await app({ source: 'tls', ca: root.cert });
    const { res, lines } = await call({ url });
    expect(code(res)).to.equal('403 client_certificate_required');
    expect(lines).to.deep.equal([
      "warn clientcert: source 'tls' reads the client certificate of a TLS connection, but a request came over plain HTTP " +
        '(from 127.0.0.1), which cannot carry one: serve HTTPS with requestCert: true, or, if a proxy in front ends TLS, ' +
        'name it with proxy (or set source to the header it forwards) and add its address to trustProxy' +
        see('tls_source_plain_http'),
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from tls, peer 127.0.0.1; ' +
        `logged at most once a minute per peer${REJECTED}`,
    ]);
    expect((await call({ url })).lines).to.deep.equal([]);
  });

  it('a TLS server without requestCert: said once with the fix, beside the rejection', async () => {
    const { url } = await app({ ca: root.cert }, { key: server.key, cert: server.cert });
    const { res, lines } = await call({ url, ca: root.cert, cert: alice.cert, key: alice.key });
    expect(code(res)).to.equal('403 client_certificate_required');
    expect(lines).to.deep.equal([
      'warn clientcert: the TLS server does not ask for client certificates (requestCert is not true), so the TLS source ' +
        'never gets one: set requestCert: true (and rejectUnauthorized: false to let this library answer)' +
        see('tls_request_cert_off'),
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from tls, peer 127.0.0.1; ' +
        `logged at most once a minute per peer${REJECTED}`,
    ]);
  });

  it("a forwarded header from a peer outside trustProxy: ignored, and the line names the peer's address (attack or missing proxy)", async () => {
    const { url } = await app({ ca: root.cert, trustProxy: '127.0.0.1' });
    const { res, lines } = await call({
      url,
      localAddress: '127.0.0.2',
      headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
    });
    // Alice's certificate is public: from an untrusted peer it is no evidence, and nobody is let in with it.
    expect(code(res)).to.equal('403 client_certificate_required');
    expect(lines).to.deep.equal([
      'warn clientcert: ignored the x-forwarded-client-cert header from 127.0.0.2, a peer outside trustProxy (127.0.0.1): ' +
        'if 127.0.0.2 is your proxy, add it to trustProxy; reported at most once a minute' +
        see('untrusted_peer_header'),
      'warn clientcert: rejected a request: client_certificate_required, no client certificate from x-forwarded-client-cert, ' +
        `peer 127.0.0.2; logged at most once a minute per peer${REJECTED}`,
    ]);
  });

  it("a ca that is not a CA (the client's own certificate): said at start-up, naming it and the fix", async () => {
    const { url, startup } = await app({ ca: alice.cert });
    expect(startup).to.have.length(2);
    expect(startup[0]).to.include(
      `trust anchors: "CN=alice,O=Acme" (until ${alice.notAfter.toISOString().slice(0, 10)})`,
    );
    expect(startup[1]).to.equal(
      'warn clientcert: ca[0] (CN=alice,O=Acme) is not a CA certificate (basicConstraints cA is not true), so no client ' +
        'certificate chains to it and only a client presenting that very certificate can be admitted. Pass the CA that ' +
        "issued your clients' certificates as ca (`clientcert inspect <a client's certificate>` shows its Issuer); to admit " +
        `exactly one certificate, list it in pins instead${see('anchor_not_ca')}`,
    );
    const bob = await root.issue({ subject: 'CN=bob,O=Acme' });
    const { res, lines } = await call({ url, headers: { 'x-forwarded-client-cert': envoyXfcc(bob) } });
    expect(code(res)).to.equal('403 client_certificate_untrusted');
    expect(lines).to.have.length(1);
  });

  /** The error `clientCert(options)` throws, and what it logged (nothing: the app does not start). */
  async function refusedAtStartup(options: unknown): Promise<{ code: unknown; message: string; lines: string[] }> {
    let thrown: unknown;
    const lines = await consoleDuring(() => {
      try {
        clientCert(options as ClientCertOptions);
      } catch (error) {
        thrown = error;
      }
    });
    expect(isClientCertError(thrown), String(thrown)).to.equal(true);
    return { code: (thrown as { code: unknown }).code, message: (thrown as Error).message, lines };
  }

  it('a PEM pasted into an environment variable with \\n as two characters: refused at start-up, saying how to fix it', async () => {
    const pasted = root.cert.trimEnd().replace(/\n/g, '\\n');
    expect(await refusedAtStartup({ ca: pasted })).to.deep.equal({
      code: 'invalid_option',
      message:
        'clientcert: option "ca" could not be read: trust anchors: malformed certificate: invalid base64 in PEM; the text ' +
        'has \\n as two characters instead of line breaks (a PEM pasted into an environment variable?): turn them into ' +
        "line breaks first, e.g. value.replaceAll('\\\\n', '\\n')",
      lines: [],
    });
  });

  it("mode 'required': refused at start-up naming the mode that was meant", async () => {
    expect(await refusedAtStartup({ mode: 'required', ca: root.cert })).to.deep.equal({
      code: 'invalid_option',
      message:
        'clientcert: option "mode" must be one of require, accept, ignore: "required" is not one (did you mean \'require\'?)',
      lines: [],
    });
  });
});

/** pino's shape: a method per level, each reading the logger through `this` (as pino's do). */
class PinoShaped {
  readonly records: Array<{ level: number; msg: string }> = [];
  readonly #threshold = 30; // level 'info': debug records are dropped
  info(msg: string): void {
    this.#write(30, msg);
  }
  warn(msg: string): void {
    this.#write(40, msg);
  }
  error(msg: string): void {
    this.#write(50, msg);
  }
  debug(msg: string): void {
    this.#write(20, msg);
  }
  child(): this {
    return this;
  }
  #write(level: number, msg: string): void {
    if (level >= this.#threshold) this.records.push({ level, msg });
  }
}

/** winston's shape: `log(level, message)`, and a method per level that calls it through `this`. */
class WinstonShaped {
  readonly records: Array<{ level: string; message: string }> = [];
  log(level: string, message: string): this {
    this.records.push({ level, message });
    return this;
  }
  info(message: string): this {
    return this.log('info', message);
  }
  warn(message: string): this {
    return this.log('warn', message);
  }
  error(message: string): this {
    return this.log('error', message);
  }
  debug(message: string): this {
    return this.log('debug', message);
  }
}

describe('loggers: express and koa take a pino or a winston logger as it is', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let mallory: TestCertificate;
  const servers: http.Server[] = [];

  before(async () => {
    root = await createCA({ subject: 'CN=Clients CA,O=Acme' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    mallory = await (await createCA({ subject: 'CN=Elsewhere CA' })).issue({ subject: 'CN=mallory' });
  });
  after(() => {
    for (const listening of servers) listening.close();
  });

  const ADAPTERS: Record<string, (options: ClientCertOptions) => http.RequestListener> = {
    express: (options) => {
      const routes = express();
      routes.use(clientCert(options));
      routes.get('/', (req, res) => void res.send(req.clientCert?.subject.rfc4514));
      return routes;
    },
    koa: (options) => {
      const routes = new Koa();
      routes.use(koaClientCert(options));
      routes.use((ctx) => {
        ctx.body = ctx.clientCert?.subject.rfc4514;
      });
      return routes.callback();
    },
  };

  /** A success and a refusal through `adapter` with `logger`: the statuses. */
  async function exercise(adapter: string, logger: ClientCertOptions['logger']): Promise<number[]> {
    const listening = http.createServer(ADAPTERS[adapter]!({ ca: root.cert, logger }));
    servers.push(listening);
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    const statuses = [];
    for (const client of [alice, mallory]) {
      const headers = { 'x-forwarded-client-cert': envoyXfcc(client) };
      statuses.push((await request({ url, localAddress: '127.0.0.1', headers })).status);
    }
    return statuses;
  }

  for (const adapter of Object.keys(ADAPTERS)) {
    it(`${adapter}, pino-shaped: start-up at info, the rejection at warn, nothing for the success`, async () => {
      const logger = new PinoShaped();
      expect(await exercise(adapter, logger)).to.deep.equal([200, 403]);
      expect(logger.records.map((record) => record.level)).to.deep.equal([30, 40]);
      expect(logger.records[0]!.msg).to.match(/^clientcert: mode require; .*trust anchors: "CN=Clients CA,O=Acme"/);
      expect(logger.records[1]!.msg)
        .to.match(/^clientcert: rejected a request: client_certificate_untrusted /)
        .and.include('subject "CN=mallory"');
    });

    it(`${adapter}, winston-shaped: the same lines at the same levels`, async () => {
      const logger = new WinstonShaped();
      expect(await exercise(adapter, logger)).to.deep.equal([200, 403]);
      expect(logger.records.map((record) => record.level)).to.deep.equal(['info', 'warn']);
      expect(logger.records[1]!.message).to.include('client_certificate_untrusted').and.include(mallory.sha256);
    });
  }
});
