/**
 * HTTP/2 as a transport of its own, over real sessions: every stream of a session is a request of
 * the same connection, with the same TLS peer. Node gives each stream a `req.socket` object of its
 * own, and Node 20 hands a peer's chain out once per connection: per-connection state keyed by a
 * stream's socket made every stream after the first lose the chain (403 for a client whose
 * intermediate comes with it). Runs on koa and fastify (every supported major), on the core through
 * node:http2's compatibility API, and on the core through its stream API. Express does not run on
 * node:http2 (test/conformance/harness.ts says why).
 */

import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import {
  type ClientCertOptions,
  createClientCertAuth,
  createXfccForwarder,
  parseXfcc,
} from '../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { type AppSpec, FRAMEWORKS, type RunningApp, whoami } from '../conformance/harness.js';
import type { ClientResponse } from '../helpers/http-client.js';
import { countingPeerReads } from '../helpers/peer-reads.js';
import { request2 } from './client.js';

interface Server {
  name: string;
  start(spec: AppSpec): Promise<RunningApp>;
}

/** A node:http2 server answering what `whoami` answers, or the problem, from `answer(auth, ...)`. */
async function nodeHttp2(
  spec: AppSpec,
  serve: (server: http2.Http2Server | http2.Http2SecureServer, options: ClientCertOptions) => void,
): Promise<RunningApp> {
  const server = spec.tls ? http2.createSecureServer(spec.tls) : http2.createServer();
  serve(server, { logger: false, ...spec.options });
  const sessions = new Set<http2.Http2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${spec.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  };
}

const core: Server[] = [
  {
    name: 'the core on node:http2 (compatibility API)',
    start: (spec) =>
      nodeHttp2(spec, (server, options) => {
        const auth = createClientCertAuth(options);
        server.on('request', async (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
          const result = await auth.authenticate(req);
          res.writeHead(result.ok ? 200 : result.problem.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(result.ok ? whoami(result.certificate) : result.problem));
        });
      }),
  },
  {
    name: 'the core on node:http2 (stream API: { stream, headers })',
    start: (spec) =>
      nodeHttp2(spec, (server, options) => {
        const auth = createClientCertAuth(options);
        server.on('stream', async (stream, headers) => {
          const result = await auth.authenticate({ stream, headers });
          stream.respond({ ':status': result.ok ? 200 : result.problem.status, 'content-type': 'application/json' });
          stream.end(JSON.stringify(result.ok ? whoami(result.certificate) : result.problem));
        });
      }),
  },
];

const servers: Server[] = [
  ...FRAMEWORKS.flatMap((frameworks) => frameworks.adapters.filter((adapter) => adapter.http2)).map((adapter) => ({
    name: `${adapter.name} ${adapter.version}`,
    start: (spec: AppSpec) => adapter.start(spec),
  })),
  ...core,
];

function fingerprints(responses: ClientResponse[]): Array<string | number> {
  return responses.map((res) =>
    res.status === 200 ? (JSON.parse(res.text) as { sha256: string }).sha256 : res.status,
  );
}

function codes(responses: ClientResponse[]): string[] {
  return responses.map((res) => `${res.status} ${(JSON.parse(res.text) as { code?: string }).code ?? 'ok'}`);
}

describe('HTTP/2', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate; // issued by the root
  let carol: TestCertificate; // issued by an intermediate, which she presents
  let tls: NonNullable<AppSpec['tls']>;

  before(async () => {
    root = await createCA({ subject: 'CN=HTTP/2 test root' });
    intermediate = await root.intermediate({ subject: 'CN=HTTP/2 test issuing CA' });
    [serverCert, alice, carol] = await Promise.all([
      root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
      root.issue({ subject: 'CN=alice' }),
      intermediate.issue({ subject: 'CN=carol' }),
    ]);
    tls = { cert: serverCert.cert, key: serverCert.key, ca: root.cert, requestCert: true, rejectUnauthorized: false };
  });

  for (const server of servers) {
    describe(server.name, () => {
      let app: RunningApp | undefined;
      afterEach(async () => {
        await app?.close();
        app = undefined;
      });

      it('3 streams on one session and 2 sessions, each with a client certificate: all 200, the same fingerprint', async () => {
        app = await server.start({ options: { ca: root.cert }, tls, http2: true });
        for (const client of [carol, alice]) {
          const sessions: ClientResponse[][] = [];
          const reads = await countingPeerReads(async () => {
            for (let i = 0; i < 2; i++) {
              sessions.push(
                await request2({
                  url: app!.url,
                  path: '/whoami',
                  ca: root.cert,
                  cert: client.fullChain,
                  key: client.key,
                  streams: 3,
                }),
              );
            }
          });
          // The second session of an admitted client is recognised by the certificate in its TLS session.
          expect(reads, 'peer reads: the first session only').to.equal(1);
          expect(sessions.map(fingerprints), client === carol ? 'carol' : 'alice').to.deep.equal([
            [client.sha256, client.sha256, client.sha256],
            [client.sha256, client.sha256, client.sha256],
          ]);
          const body = JSON.parse(sessions[1]![2]!.text) as { chainLength: number; source: string; verifiedBy: string };
          expect({ source: body.source, verifiedBy: body.verifiedBy }).to.deep.equal({
            source: 'tls',
            verifiedBy: 'chain',
          });
          if (client === carol) expect(body.chainLength).to.equal(1); // the intermediate, on the last stream too
        }
      });

      it('a session without a certificate is refused on every stream', async () => {
        app = await server.start({ options: { ca: root.cert }, tls, http2: true });
        const responses = await request2({ url: app.url, path: '/whoami', ca: root.cert, streams: 3 });
        expect(codes(responses)).to.deep.equal(Array(3).fill('403 client_certificate_required'));
      });

      it('h2c: a forged XFCC from a peer outside trustProxy is refused on every stream; from the proxy it is read', async () => {
        app = await server.start({ options: { ca: root.cert, trustProxy: '127.0.0.1' }, http2: true });
        const forged = { 'x-forwarded-client-cert': envoyXfcc(alice) };
        const fromStranger = await request2({
          url: app.url,
          path: '/whoami',
          headers: forged,
          localAddress: '127.0.0.2',
          streams: 3,
        });
        expect(codes(fromStranger)).to.deep.equal(Array(3).fill('403 client_certificate_required'));
        const fromProxy = await request2({
          url: app.url,
          path: '/whoami',
          headers: forged,
          localAddress: '127.0.0.1',
          streams: 3,
        });
        expect(fingerprints(fromProxy)).to.deep.equal([alice.sha256, alice.sha256, alice.sha256]);
      });

      it("h2c: Envoy's Chain-only XFCC authenticates the leaf on every stream", async () => {
        app = await server.start({ options: { ca: root.cert, trustProxy: '127.0.0.1' }, http2: true });
        const headers = { 'x-forwarded-client-cert': envoyXfcc(carol, { details: ['Chain'] }) };
        const responses = await request2({
          url: app.url,
          path: '/whoami',
          headers,
          localAddress: '127.0.0.1',
          streams: 3,
        });
        expect(fingerprints(responses)).to.deep.equal([carol.sha256, carol.sha256, carol.sha256]);
      });
    });
  }

  it('a session that is gone by the time its request is decided: a refusal, never a throw', async () => {
    const auth = createClientCertAuth({ logger: false, ca: root.cert });
    let requested!: () => void;
    const arrived = new Promise<void>((resolve) => (requested = resolve));
    let decided!: Promise<string>;
    const server = http2.createSecureServer(tls, (req) => {
      // Decided after the client has left (an earlier middleware awaited something meanwhile).
      decided = new Promise((resolve) =>
        req.stream.session!.once('close', () => {
          try {
            const result = auth.authenticate(req);
            resolve(result instanceof Promise ? 'pending' : result.ok ? 'ok' : result.error.code);
          } catch (error) {
            resolve(`threw ${(error as Error).message}`);
          }
        }),
      );
      requested();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const session = http2.connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
        ca: root.cert,
        cert: alice.cert,
        key: alice.key,
      });
      const stream = session.request({ ':path': '/' });
      stream.on('error', () => undefined);
      session.on('error', () => undefined);
      await arrived;
      session.destroy();
      expect(await decided).to.equal('client_certificate_required');
    } finally {
      server.close();
    }
  });

  describe('the XFCC forwarder on an HTTP/2 gateway', () => {
    it('writes the whole element, Chain included, on every stream of every session', async () => {
      const forwarder = createXfccForwarder();
      const server = http2.createSecureServer(tls, (req, res) => {
        const headers: Record<string, string | string[] | undefined> = {};
        forwarder.apply(req, headers);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(String(headers['x-forwarded-client-cert'] ?? ''));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const reads = await countingPeerReads(async () => {
          for (let i = 0; i < 2; i++) {
            const responses = await request2({ url, ca: root.cert, cert: carol.fullChain, key: carol.key, streams: 3 });
            expect(responses.map((res) => res.text)).to.deep.equal(Array(3).fill(envoyXfcc(carol)));
            expect(parseXfcc(responses[2]!.text)[0]!.chain).to.deep.equal([carol.cert, intermediate.cert]);
          }
        });
        expect(reads, 'peer reads: one per session').to.equal(2);
      } finally {
        server.close();
      }
    });
  });
});
