/**
 * The agent judges its client certificate as the middleware would, when it loads it: what a server
 * with clientcert's default options refuses is a warning naming the fix (other servers may still
 * accept it, so it is loaded); what can never work is refused (a key that does not match). Each
 * warning is checked against a real express server with the middleware's defaults over TLS: the
 * agent presents the certificate and gets the refusal the warning announced.
 */
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import {
  type ClientCredential,
  createHttpsAgent,
  loadClientCredential,
  watchCredential,
} from '../../packages/agent/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import { httpsGet } from './helpers.js';

/** The credential loaded with its warnings collected (none reaches the process). */
function loaded(certificate: TestCertificate, chain = ''): { credential: ClientCredential; warnings: string[] } {
  const warnings: string[] = [];
  const credential = loadClientCredential({
    cert: certificate.cert + chain,
    key: certificate.key,
    onWarning: (message) => warnings.push(message),
  });
  return { credential, warnings };
}

const KEY_FIX =
  ": a server with clientcert's default verifyPolicy refuses it (client_certificate_untrusted); issue it with an RSA key " +
  'of 2048 to 8192 bits or an EC key on P-256, P-384 or P-521 (or relax verifyPolicy on a server you run)';

describe("agent: the client certificate judged as the middleware's defaults would, at load time", () => {
  let root: TestCA;
  let serverCert: TestCertificate;
  let server: https.Server;
  let url: string;

  before(async () => {
    root = await createCA({ subject: 'CN=Agent Clients CA' });
    serverCert = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    const app = express();
    app.use(clientCert({ source: 'tls', ca: root.cert, logger: false }));
    app.get('/', (req, res) => void res.send(req.clientCert?.subject.rfc4514));
    server = https.createServer(
      { key: serverCert.key, cert: serverCert.cert, requestCert: true, rejectUnauthorized: false },
      app,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** What the middleware answers the agent presenting `credential`: `status code-or-subject`. */
  async function presented(credential: ClientCredential): Promise<string> {
    const agent = createHttpsAgent(credential, { ca: root.cert });
    try {
      const { status, body } = await httpsGet(url, agent);
      return `${status} ${status === 200 ? body : (JSON.parse(body) as { code: string }).code}`;
    } finally {
      agent.destroy();
    }
  }

  it('a certificate the middleware admits: no warning', async () => {
    const alice = await root.issue({ subject: 'CN=alice' });
    const { credential, warnings } = loaded(alice);
    expect(credential.warnings).to.deep.equal([]);
    expect(warnings).to.deep.equal([]);
    expect(await presented(credential)).to.equal('200 CN=alice');
  });

  it('an RSA key shorter than 2048 bits: a warning naming the fix, and the refusal it announces', async () => {
    const weak = await root.issue({ subject: 'CN=weak', keyType: 'rsa', rsaBits: 1024 });
    const { credential, warnings } = loaded(weak);
    expect(warnings).to.deep.equal([
      `the certificate in the cert option (PEM) (CN=weak) has an RSA key shorter than 2048 bits${KEY_FIX}`,
    ]);
    expect(credential.warnings).to.deep.equal(warnings);
    expect(await presented(credential)).to.equal('403 client_certificate_untrusted');
  });

  it('a weak key in the chain sent with it is named by its place', async () => {
    const weakIssuing = await root.intermediate({ subject: 'CN=Weak Issuing', keyType: 'rsa', rsaBits: 1024 });
    const bob = await weakIssuing.issue({ subject: 'CN=bob' });
    const { credential, warnings } = loaded(bob, weakIssuing.cert);
    expect(warnings).to.deep.equal([
      `certificate 1 of the chain in the cert option (PEM) (CN=Weak Issuing) has an RSA key shorter than 2048 bits${KEY_FIX}`,
    ]);
    expect(await presented(credential)).to.equal('403 client_certificate_untrusted');
  });

  it('an extended key usage without clientAuth (a server certificate used as a client one)', async () => {
    const { credential, warnings } = loaded(serverCert);
    expect(warnings).to.deep.equal([
      'the certificate in the cert option (PEM) (CN=localhost) has an extended key usage without clientAuth: TLS servers ' +
        "refuse it as a client certificate (OpenSSL during the handshake, clientcert's middleware with " +
        'client_certificate_rejected) unless they accept any purpose; issue it with extendedKeyUsage clientAuth',
    ]);
    expect(await presented(credential)).to.equal('403 client_certificate_rejected');
  });

  it('a key usage without digitalSignature', async () => {
    const sealed = await root.issue({ subject: 'CN=sealed', keyUsage: ['keyEncipherment'], keyType: 'rsa' });
    const { credential, warnings } = loaded(sealed);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.equal(
      'the certificate in the cert option (PEM) (CN=sealed) has a key usage that does not allow client authentication: ' +
        "TLS servers refuse it as a client certificate (clientcert's middleware with client_certificate_rejected); issue " +
        'it with keyUsage digitalSignature',
    );
    expect(await presented(credential)).to.equal('403 client_certificate_rejected');
  });

  it('an expired one loaded on purpose (allowExpired) is still judged for its purpose', async () => {
    const old = await root.issue({
      subject: 'CN=old',
      eku: ['serverAuth'],
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const credential = loadClientCredential({ cert: old.cert, key: old.key, allowExpired: true, onWarning: () => {} });
    expect(credential.warnings).to.have.length(1);
    expect(credential.warnings[0]).to.include('extended key usage without clientAuth');
  });

  it('without onWarning: a process warning with code CLIENTCERT_CREDENTIAL_POLICY', async () => {
    const weak = await root.issue({ subject: 'CN=weak-default', keyType: 'rsa', rsaBits: 1024 });
    const warned = once(process, 'warning');
    loadClientCredential({ cert: weak.cert, key: weak.key });
    const [warning] = (await warned) as [Error & { code?: string }];
    expect(warning.code).to.equal('CLIENTCERT_CREDENTIAL_POLICY');
    expect(warning.message).to.include('(CN=weak-default) has an RSA key shorter than 2048 bits');
  });

  it('a watched credential says it once, as its warning event (listeners attached after creation hear it)', async () => {
    const weak = await root.issue({ subject: 'CN=weak-live', keyType: 'rsa', rsaBits: 1024 });
    const messages: string[] = [];
    const live = watchCredential({ cert: weak.cert, key: weak.key, onWarning: (message) => messages.push(message) });
    try {
      const [message] = (await once(live, 'warning')) as [string];
      expect(message).to.include('(CN=weak-live) has an RSA key shorter than 2048 bits');
      expect(live.reload()).to.equal(false); // the same certificate: not said again
      expect(messages).to.deep.equal([message]);
    } finally {
      live.close();
    }
  });

  it('what can never work is refused, not warned: a key that does not match the certificate', async () => {
    const alice = await root.issue({ subject: 'CN=alice' });
    const mallory = await root.issue({ subject: 'CN=mallory' });
    expect(() => loadClientCredential({ cert: alice.cert, key: mallory.key }))
      .to.throw()
      .with.property('code', 'credential_key_mismatch');
  });

  it('onWarning that is not a function is an option error', () => {
    expect(() => loadClientCredential({ cert: 'x.pem', key: 'x.key', onWarning: 'log' as never }))
      .to.throw()
      .with.property('code', 'invalid_option');
  });
});
