/**
 * examples/azure-container-apps: the real server (`node server.mjs`, plain HTTP as behind the
 * ingress) on port 0, sent what the Container Apps ingress sends: `X-Forwarded-Client-Cert` as
 * ACA documents it, `Hash=…;Cert="…";Chain="…"` (its Envoy's URL-encoded PEM), from the
 * environment's network (here 127.0.0.1, inside the default trustProxy).
 * The ingress accepts any client certificate, so the app's `ca` decides. (That a peer outside
 * trustProxy cannot make the app honor the header needs a peer outside the default's loopback and
 * private ranges, which one machine does not have; test/interop and the demo test it with
 * trustProxy narrowed to 127.0.0.1.)
 */

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { request } from '../helpers/http-client.js';
import { EXAMPLES, type RunningExample, startExample, tempFiles } from './example-process.js';
import { exampleFixtures, expectProblem, type Fixtures, json } from './fixtures.js';

/** The header ACA's ingress sets for a client that presented `cert`. */
const acaXfcc = (cert: TestCertificate): string => envoyXfcc(cert, { details: ['Cert', 'Chain'] });

describe('examples/azure-container-apps', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let example: RunningExample;
  let url: string;

  before(async () => {
    f = await exampleFixtures();
    files = await tempFiles({ 'clients-ca.pem': f.root.cert });
    // CLIENT_CA_PEM (the Container Apps secret) would win over the file: make sure it is unset.
    example = await startExample('azure-container-apps', {
      CLIENT_CA_PEM: undefined,
      CLIENT_CA_FILE: path.join(files.dir, 'clients-ca.pem'),
      CLIENT_CERT_MODE: 'require',
    });
    url = `http://127.0.0.1:${example.port}`;
  });

  after(async () => {
    await example?.stop();
    await files?.remove();
  });

  it('the header is the documented shape: Hash, Cert, Chain', () => {
    expect(acaXfcc(f.alice)).to.match(/^Hash=[0-9a-f]{64};Cert="-----BEGIN%20CERTIFICATE-----%0A[^"]+";Chain="[^"]+"$/);
  });

  it('answers the health probe without a certificate', async () => {
    const res = await request({ url, path: '/healthz' });
    expect(res.status).to.equal(200);
    expect(res.text).to.equal('ok');
  });

  it("accepts the certificate the ingress forwards, verified against the app's ca", async () => {
    const res = await request({ url, path: '/whoami', headers: { 'x-forwarded-client-cert': acaXfcc(f.alice) } });
    expect(res.status, res.text).to.equal(200);
    expect(json(res)).to.deep.equal({
      subject: 'CN=alice,OU=payments,O=Acme',
      sha256: f.alice.sha256,
      notAfter: f.alice.notAfter.toISOString(),
    });
  });

  it('no header (the caller presented no certificate): 403 client_certificate_required', async () => {
    expectProblem(await request({ url, path: '/whoami' }), 'client_certificate_required');
  });

  it('a certificate from another CA, which the ingress lets through: 403 client_certificate_untrusted', async () => {
    const res = await request({ url, path: '/whoami', headers: { 'x-forwarded-client-cert': acaXfcc(f.mallory) } });
    expectProblem(res, 'client_certificate_untrusted');
  });

  it('a Hash that does not match Cert: 403 client_certificate_malformed', async () => {
    const forged = acaXfcc(f.alice).replace(/^Hash=[0-9a-f]{64}/, `Hash=${f.bob.sha256}`);
    expectProblem(
      await request({ url, path: '/whoami', headers: { 'x-forwarded-client-cert': forged } }),
      'client_certificate_malformed',
    );
  });

  it('main.bicep, the Dockerfile and server.mjs agree: port 3000, /healthz probe, mode require', async () => {
    const dir = path.join(EXAMPLES, 'azure-container-apps');
    const [bicep, dockerfile, server] = await Promise.all(
      ['main.bicep', 'Dockerfile', 'server.mjs'].map((name) => readFile(path.join(dir, name), 'utf8')),
    );
    expect(bicep).to.include('targetPort: 3000');
    expect(bicep).to.include("clientCertificateMode: 'require'");
    expect(bicep).to.include("{ name: 'CLIENT_CERT_MODE', value: 'require' }");
    expect(bicep).to.include("{ name: 'CLIENT_CA_PEM', secretRef: 'client-ca-pem' }");
    expect(bicep).to.include("httpGet: { path: '/healthz', port: 3000 }");
    expect(dockerfile).to.match(/^ENV PORT=3000$/m);
    expect(dockerfile).to.match(/^EXPOSE 3000$/m);
    expect(dockerfile).to.include('--filter @clientcert/example-azure-container-apps...');
    expect(server).to.include('process.env.PORT ?? 3000');
  });
});
