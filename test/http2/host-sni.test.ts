/**
 * Over HTTP/2 the host a request is for is `:authority`, not `Host`. On a server with a client CA
 * per TLS server name and trust left to the TLS stack, a certificate verified for `a.test` is no
 * evidence for a request to `b.test`, whatever the stream says.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { expect } from 'chai';
import { createClientCertAuth } from '../../packages/core/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';

describe('HTTP/2: the :authority of a stream is held to the TLS server name', () => {
  let serverRoot: TestCA;
  let caA: TestCA;
  let caB: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate;

  before(async () => {
    [serverRoot, caA, caB] = await Promise.all([
      createCA({ subject: 'CN=H2 Server Root' }),
      createCA({ subject: 'CN=H2 Client CA A' }),
      createCA({ subject: 'CN=H2 Client CA B' }),
    ]);
    serverCert = await serverRoot.issue({
      subject: 'CN=a.test',
      eku: ['serverAuth'],
      san: { dns: ['a.test', 'b.test'] },
    });
    alice = await caA.issue({ subject: 'CN=alice' });
  });

  it('alice, verified by the TLS stack for a.test, is refused for :authority b.test and admitted for a.test', async () => {
    const forA = tls.createSecureContext({ cert: serverCert.cert, key: serverCert.key, ca: caA.cert });
    const forB = tls.createSecureContext({ cert: serverCert.cert, key: serverCert.key, ca: caB.cert });
    const auth = createClientCertAuth({ logger: false });
    const server = http2.createSecureServer(
      {
        cert: serverCert.cert,
        key: serverCert.key,
        ca: caA.cert,
        requestCert: true,
        rejectUnauthorized: false,
        SNICallback: (name, done) => done(null, name === 'b.test' ? forB : forA),
      },
      async (req, res) => {
        const result = await auth.authenticate(req);
        res.end(result.ok ? `ok ${result.certificate?.subject.get('CN')}` : result.error.code);
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      servername: 'a.test',
      ca: serverRoot.cert,
      cert: alice.cert,
      key: alice.key,
    });
    const get = (authority: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':path': '/', ':authority': authority });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          body += chunk;
        });
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
    try {
      expect(await get('b.test')).to.equal('client_certificate_untrusted');
      expect(await get(`b.test:${port}`)).to.equal('client_certificate_untrusted');
      expect(await get('a.test')).to.equal('ok alice');
      expect(await get('b.test')).to.equal('client_certificate_untrusted'); // the session's cached decision does not leak across hosts
    } finally {
      session.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
