import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { expect } from 'chai';
import { type ClientCertOptions, createClientCertAuth } from '../../../packages/core/src/index.js';
import { sessionPeerDer } from '../../../packages/core/src/sources/tls.js';
import { createCA, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { countingPeerReads } from '../../helpers/peer-reads.js';

/**
 * A new connection of a client admitted before is decided from the certificate DER in its TLS
 * session, without Node's certificate objects: the same answer, for the same verdict of the TLS stack.
 */
describe('pipeline/tls: a known client recognised by the certificate in its TLS session', () => {
  let root: TestCA;
  let issuing: TestCA;
  let server: TestCertificate;
  let alice: TestCertificate;
  let bob: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=recall root' });
    issuing = await root.intermediate({ subject: 'CN=recall issuing' });
    server = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    alice = await issuing.issue({ subject: 'CN=alice' });
    bob = await issuing.issue({ subject: 'CN=bob' });
  });

  async function serve(options: ClientCertOptions, maxVersion: tls.SecureVersion = 'TLSv1.3') {
    const auth = createClientCertAuth({ logger: false, ...options });
    const tlsServer = https.createServer(
      { key: server.key, cert: server.cert, ca: root.cert, requestCert: true, rejectUnauthorized: false, maxVersion },
      (req, res) => {
        const result = auth.authenticate(req);
        if (result instanceof Promise) throw new Error('decided synchronously here');
        res.end(result.ok ? `200 ${result.certificate?.subject.get('CN')}` : `403 ${result.error.code}`);
      },
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    const { port } = tlsServer.address() as AddressInfo;
    const call = (client: TestCertificate, { chain = true }: { chain?: boolean } = {}) =>
      new Promise<string>((resolve, reject) => {
        const request = https.request(
          {
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: root.cert,
            cert: chain ? client.fullChain : client.cert,
            key: client.key,
            agent: false,
            maxVersion,
          },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk));
            res.on('end', () => resolve(body));
          },
        );
        request.on('error', reject).end();
      });
    return { call, close: () => tlsServer.close() };
  }

  for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
    it(`${maxVersion}: the session's certificate is the peer's, byte for byte, on full and resumed handshakes`, async () => {
      const seen: Array<{ session: string | null; peer: string | null; reused: boolean }> = [];
      const tlsServer = tls.createServer(
        { key: server.key, cert: server.cert, ca: root.cert, requestCert: true, rejectUnauthorized: false, maxVersion },
        (socket) => {
          const session = sessionPeerDer(socket);
          seen.push({
            session: session?.toString('hex') ?? null,
            peer: socket.getPeerX509Certificate()?.raw.toString('hex') ?? null,
            reused: socket.isSessionReused(),
          });
          socket.end('bye');
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const { port } = tlsServer.address() as AddressInfo;
      const connect = (client: TestCertificate | null, session?: Buffer) =>
        new Promise<Buffer | undefined>((resolve, reject) => {
          let saved: Buffer | undefined;
          const socket = tls.connect({
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: root.cert,
            maxVersion,
            ...(client ? { cert: client.fullChain, key: client.key } : {}),
            ...(session ? { session } : {}),
          });
          socket.on('session', (s: Buffer) => (saved = s));
          socket.on('data', () => undefined);
          socket.on('end', () => resolve(saved));
          socket.on('error', reject);
        });
      try {
        const session = await connect(alice);
        await connect(alice, session);
        await connect(null);
      } finally {
        tlsServer.close();
      }
      expect(seen.map((s) => s.reused)).to.deep.equal([false, true, false]);
      expect(seen[0]!.session).to.equal(alice.der.toString('hex'));
      expect(seen[1]!.session).to.equal(seen[1]!.peer);
      expect(seen[2]).to.deep.equal({ session: null, peer: null, reused: false });
    });
  }

  it('a second connection of an admitted client is decided without reading the peer certificate objects', async () => {
    const app = await serve({ ca: root.cert });
    try {
      const first = await countingPeerReads(async () => {
        expect(await app.call(alice)).to.equal('200 alice');
      });
      const again = await countingPeerReads(async () => {
        expect(await app.call(alice)).to.equal('200 alice');
        expect(await app.call(alice)).to.equal('200 alice');
      });
      const other = await countingPeerReads(async () => {
        expect(await app.call(bob)).to.equal('200 bob');
      });
      expect([first, again, other]).to.deep.equal([1, 0, 1]);
    } finally {
      app.close();
    }
  });

  it('the same certificate with another verdict of the TLS stack is decided again (a leaf sent without its chain)', async () => {
    const app = await serve({ ca: root.cert });
    try {
      expect(await app.call(alice)).to.equal('200 alice');
      expect(await app.call(alice, { chain: false })).to.equal('403 client_certificate_untrusted');
      expect(await app.call(alice)).to.equal('200 alice');
    } finally {
      app.close();
    }
  });

  it('a refusal is never recalled: each connection of a refused client is decided in full', async () => {
    const app = await serve({ ca: root.cert, rules: { subject: { CN: 'bob' } } });
    try {
      const reads = await countingPeerReads(async () => {
        expect(await app.call(alice)).to.equal('403 client_certificate_rejected');
        expect(await app.call(alice)).to.equal('403 client_certificate_rejected');
      });
      expect(reads).to.equal(2);
    } finally {
      app.close();
    }
  });

  it('trust left to the TLS stack: a certificate it did not verify is not recalled as one it did', async () => {
    const stranger = await (await createCA({ subject: 'CN=elsewhere' })).issue({ subject: 'CN=alice' });
    const app = await serve({});
    try {
      expect(await app.call(alice)).to.equal('200 alice');
      expect(await app.call(stranger)).to.equal('403 client_certificate_untrusted');
      expect(await app.call(alice, { chain: false })).to.equal('403 client_certificate_untrusted');
    } finally {
      app.close();
    }
  });
});
