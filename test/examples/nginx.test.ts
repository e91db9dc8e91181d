/**
 * examples/nginx: real nginx (Debian's) running the example's nginx.conf in front of the
 * example's own app (`node server.mjs`, port 0), both started as the README says, over real mTLS.
 *
 * nginx.conf itself is tested in depth by test/interop (every adapter, the configuration's
 * variants, another CA refused with 400, forged ssl-client-cert / ssl-client-verify never
 * honored); this test reuses its helpers to start nginx and checks the example's app behind it:
 * the identity it reports for a client certificate, and the problem for a caller without one.
 */

import path from 'node:path';
import { expect } from 'chai';
import type { ClientResponse } from '../helpers/http-client.js';
import { throughProxy } from '../interop/client.js';
import { nginxLaunch } from '../interop/nginx.js';
import { type RunningProxy, requireBinary, startProxy } from '../interop/proxy-process.js';
import { type RunningExample, startExample, tempFiles } from './example-process.js';
import { exampleFixtures, expectProblem, type Fixtures, json } from './fixtures.js';

describe('examples/nginx (real nginx)', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let files: Awaited<ReturnType<typeof tempFiles>> | undefined;
  let example: RunningExample | undefined;
  let nginx: RunningProxy | undefined;

  before(async function () {
    const binary = requireBinary(this, 'nginx');
    f = await exampleFixtures();
    files = await tempFiles({ 'clients-ca.pem': f.root.cert });
    example = await startExample('nginx', { CLIENT_CA_FILE: path.join(files.dir, 'clients-ca.pem') });
    const proxyFiles = { serverCert: f.server.cert, serverKey: f.server.key, clientsCa: f.root.cert };
    nginx = await startProxy(
      nginxLaunch(binary, proxyFiles, example.port, { headers: 'url-pem', verifyClient: 'optional' }),
    );
  });

  after(async () => {
    await nginx?.stop();
    await example?.stop();
    await files?.remove();
  });

  async function call(cert?: { cert: string; key: string }): Promise<ClientResponse> {
    const result = await throughProxy({
      port: nginx!.port,
      ca: f.root.cert,
      ...(cert ? { cert: cert.cert, key: cert.key } : {}),
    });
    if (result.kind !== 'response')
      throw new Error(`no response through nginx: ${result.code} ${result.message}\n${nginx!.output()}`);
    return { status: result.status, headers: result.headers, text: result.text };
  }

  it('a client certificate: 200 with the identity nginx forwarded, verified by the app against its ca', async () => {
    const res = await call(f.alice);
    expect(res.status, res.text).to.equal(200);
    expect(json(res)).to.deep.equal({
      subject: 'CN=alice,OU=payments,O=Acme',
      sha256: f.alice.sha256,
      san: {
        dns: ['alice.example.org'],
        uri: ['spiffe://example.org/ns/pay/sa/alice'],
        email: ['alice@example.org'],
        ip: [],
      },
      source: 'url-pem',
      verifiedBy: 'chain',
    });
  });

  it('no client certificate (ssl_verify_client optional lets it through): 403 client_certificate_required', async () => {
    expectProblem(await call(), 'client_certificate_required');
  });
});
