/**
 * examples/express, examples/koa, examples/fastify: each example's real server (`npm start`,
 * i.e. `node server.mjs`) on port 0, called over real mTLS connections:
 *   - with a client certificate of the trusted CA → 200 and exactly that certificate's identity;
 *   - without one → 403 application/problem+json `client_certificate_required`;
 *   - with one from another CA → 403 `client_certificate_untrusted`;
 *   - started with an empty CERT_DIR, the server writes throwaway certificates there and the
 *     client certificate it wrote is accepted (what `npm start` does on a fresh checkout).
 */

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { request } from '../helpers/http-client.js';
import { EXAMPLES, type RunningExample, startExample, tempFiles } from './example-process.js';
import { exampleFixtures, expectProblem, type Fixtures, json } from './fixtures.js';

for (const name of ['express', 'koa', 'fastify'] as const) {
  describe(`examples/${name}`, function () {
    this.timeout(60_000);
    let f: Fixtures;
    let files: Awaited<ReturnType<typeof tempFiles>>;
    let example: RunningExample;
    let url: string;

    before(async () => {
      f = await exampleFixtures();
      files = await tempFiles({
        'server.pem': f.server.cert,
        'server.key': f.server.key,
        'clients-ca.pem': f.root.cert,
      });
      example = await startExample(name, { CERT_DIR: files.dir });
      url = `https://localhost:${example.port}`;
    });

    after(async () => {
      await example?.stop();
      await files?.remove();
    });

    it('answers a client with a certificate of the trusted CA with its identity', async () => {
      const res = await request({ url, path: '/whoami', ca: f.root.cert, cert: f.alice.cert, key: f.alice.key });
      expect(res.status, res.text).to.equal(200);
      expect(json(res)).to.deep.equal({
        subject: 'CN=alice,OU=payments,O=Acme',
        commonName: 'alice',
        issuer: 'CN=Examples Root CA,O=clientcert',
        serialNumber: f.alice.x509.serialNumber,
        sha256: f.alice.sha256,
        san: {
          dns: ['alice.example.org'],
          uri: ['spiffe://example.org/ns/pay/sa/alice'],
          email: ['alice@example.org'],
          ip: [],
        },
        spiffeId: 'spiffe://example.org/ns/pay/sa/alice',
        notBefore: f.alice.notBefore.toISOString(),
        notAfter: f.alice.notAfter.toISOString(),
        source: 'tls',
        verifiedBy: 'tls',
      });
    });

    it('refuses a client without a certificate: 403 client_certificate_required', async () => {
      expectProblem(await request({ url, path: '/whoami', ca: f.root.cert }), 'client_certificate_required');
    });

    it('refuses a certificate from another CA: 403 client_certificate_untrusted', async () => {
      const res = await request({ url, path: '/whoami', ca: f.root.cert, cert: f.mallory.cert, key: f.mallory.key });
      expectProblem(res, 'client_certificate_untrusted');
    });

    it('with an empty CERT_DIR writes throwaway certificates and accepts the client certificate it wrote', async () => {
      const empty = await tempFiles({});
      const fresh = await startExample(name, { CERT_DIR: empty.dir });
      try {
        expect((await readdir(empty.dir)).sort()).to.deep.equal([
          'client.key',
          'client.pem',
          'clients-ca.pem',
          'server.key',
          'server.pem',
        ]);
        const read = (file: string): Promise<string> => readFile(path.join(empty.dir, file), 'utf8');
        const [ca, cert, key] = await Promise.all([read('clients-ca.pem'), read('client.pem'), read('client.key')]);
        const res = await request({ url: `https://localhost:${fresh.port}`, path: '/whoami', ca, cert, key });
        expect(res.status, res.text).to.equal(200);
        expect(json(res)).to.include({ subject: 'CN=alice,OU=engineering,O=clientcert example', verifiedBy: 'tls' });
        expectProblem(
          await request({ url: `https://localhost:${fresh.port}`, path: '/whoami', ca }),
          'client_certificate_required',
        );
        expect(fresh.output()).to.include(`wrote throwaway certificates to ${empty.dir}`);
      } finally {
        await fresh.stop();
        await empty.remove();
      }
    });
  });
}

describe('examples/express, koa, fastify: certs.mjs', () => {
  it('is the same file in all three (users copy one example)', async () => {
    const [express, koa, fastify] = await Promise.all(
      ['express', 'koa', 'fastify'].map((name) => readFile(path.join(EXAMPLES, name, 'certs.mjs'), 'utf8')),
    );
    expect(koa).to.equal(express);
    expect(fastify).to.equal(express);
  });
});
