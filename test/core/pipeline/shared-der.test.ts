import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import { createClientCertAuth, parseCertificate } from '../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { shareDer } from '../../../packages/core/src/x509/certificate.js';

/**
 * A cached admission keeps its leaf once: as the cache key's text (an XFCC value's certificate,
 * a TLS client's DER), not also as bytes. Nothing a handler reads changes: the DER is read again
 * from the text, and only text that turns into the very same bytes is ever used.
 */
describe('pipeline: a cached certificate keeps its DER once, as the text of its cache key', () => {
  let root: TestCA;
  let issuing: TestCA;
  let alice: TestCertificate;
  let bob: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=shared der root' });
    issuing = await root.intermediate({ subject: 'CN=shared der issuing' });
    alice = await issuing.issue({ subject: 'CN=alice', san: { uri: ['spiffe://example.org/alice'] } });
    bob = await issuing.issue({ subject: 'CN=bob' });
  });

  function expectAlice(certificate: NonNullable<ReturnType<typeof parseCertificate>>): void {
    expect(certificate.raw.equals(alice.der)).to.equal(true);
    expect(certificate.pem).to.equal(alice.cert);
    expect(certificate.fingerprints.sha256).to.equal(alice.x509.fingerprint256.replaceAll(':', '').toLowerCase());
    expect(certificate.serialNumber).to.equal(alice.x509.serialNumber);
    expect(certificate.x509.subject).to.equal('CN=alice');
  }

  it('XFCC: every request on a cached value reads the same raw, pem, fingerprints and x509', () => {
    const auth = createClientCertAuth({ logger: false, source: 'xfcc', ca: root.cert, trustProxy: 'loopback' });
    const value = envoyXfcc(alice, { by: ['spiffe://example.org/server'] });
    for (let request = 0; request < 3; request++) {
      // A new connection and a new string each time, as behind a proxy's connection pool.
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      const fresh = Buffer.from(value, 'latin1').toString('latin1');
      const result = auth.authenticate({ socket, headers: { 'x-forwarded-client-cert': fresh } });
      if (result instanceof Promise || !result.ok || result.certificate === null) throw new Error('expected alice');
      expectAlice(result.certificate);
    }
  });

  it('TLS: a known client recalled on a new connection reads the same certificate', async () => {
    const server = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    const auth = createClientCertAuth({ logger: false, source: 'tls', ca: root.cert });
    const seen: string[] = [];
    const listener = https.createServer(
      { cert: server.cert, key: server.key, ca: root.cert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        const result = auth.authenticate(req);
        if (result instanceof Promise || !result.ok || result.certificate === null) throw new Error('expected alice');
        expectAlice(result.certificate);
        seen.push(result.certificate.subject.rfc4514);
        res.end('ok');
      },
    );
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = listener.address() as AddressInfo;
      for (let connection = 0; connection < 3; connection++) {
        await new Promise<void>((resolve, reject) => {
          const request = https.get(
            {
              host: '127.0.0.1',
              port,
              servername: 'localhost',
              ca: root.cert,
              cert: `${alice.cert}${issuing.cert}`,
              key: alice.key,
              agent: false,
            },
            (res) => {
              res.resume();
              res.on('end', resolve);
            },
          );
          request.on('error', reject);
        });
      }
    } finally {
      listener.close();
    }
    expect(seen).to.deep.equal(['CN=alice', 'CN=alice', 'CN=alice']);
  });

  it('only text that turns into the very same bytes replaces the DER', () => {
    const certificate = parseCertificate(alice.der);
    const latin1 = (text: string): Buffer => Buffer.from(text, 'latin1');
    expect(shareDer(certificate, bob.der.toString('latin1'), latin1)).to.equal(false);
    expect(shareDer(certificate, `${alice.der.toString('latin1')}\u0000`, latin1)).to.equal(false);
    expect(
      shareDer(certificate, 'not a certificate', () => {
        throw new TypeError('a decoder that fails');
      }),
    ).to.equal(false);
    expectAlice(certificate);
    expect(shareDer(certificate, alice.der.toString('latin1'), latin1)).to.equal(true);
    expectAlice(certificate);
  });
});
