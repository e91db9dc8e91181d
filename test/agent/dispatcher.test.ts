import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import { fetch, request } from 'undici';
import {
  type ClientCredential,
  createDispatcher,
  createHttpsAgent,
  loadClientCredential,
} from '../../packages/agent/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import { forgePfx, httpsGet, type MtlsServer, opensslPfx, type Seen, startMtlsServer } from './helpers.js';

describe('agent: presenting the certificate to a real mTLS server', () => {
  let serverCA: TestCA;
  let clientRoot: TestCA;
  let clientInter: TestCA;
  let serverCert: TestCertificate;
  let rsa: TestCertificate;
  let ec: TestCertificate;
  let server: MtlsServer;
  const credentials: Record<string, ClientCredential> = {};

  before(async () => {
    serverCA = await createCA({ subject: 'CN=Backend Root' });
    serverCert = await serverCA.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    clientRoot = await createCA({ keyType: 'rsa', subject: 'CN=Client Root' });
    clientInter = await clientRoot.intermediate({ keyType: 'rsa', subject: 'CN=Client Issuing' });
    rsa = await clientInter.issue({ keyType: 'rsa', subject: 'CN=rsa-client' });
    ec = await clientInter.issue({ subject: 'CN=ec-client' });
    // The server trusts only the client root: the intermediate must be sent by the client.
    server = await startMtlsServer(serverCert, clientRoot.cert);
    credentials['forge RSA PFX'] = loadClientCredential({ pfx: forgePfx(rsa, 'pw'), passphrase: 'pw' });
    credentials['openssl EC PFX'] = loadClientCredential({ pfx: opensslPfx(ec, 'pw'), passphrase: 'pw' });
    credentials['PEM EC + chain'] = loadClientCredential({ cert: ec.cert, key: ec.key, chain: clientInter.cert });
  });

  after(() => server.close());

  for (const name of ['forge RSA PFX', 'openssl EC PFX', 'PEM EC + chain']) {
    it(`${name}: undici fetch, undici.request and https.request all authenticate`, async () => {
      const credential = credentials[name]!;
      const expected: Seen = { subject: credential.subject, sha256: credential.thumbprints.sha256, authorized: true };
      const dispatcher = createDispatcher(credential, { ca: serverCA.cert });
      const agent = createHttpsAgent(credential, { ca: serverCA.cert });
      try {
        const viaFetch = await fetch(`${server.url}/fetch`, { dispatcher });
        expect(viaFetch.status).to.equal(200);
        expect(await viaFetch.json()).to.deep.equal(expected);
        const viaRequest = await request(`${server.url}/request`, { dispatcher });
        expect(viaRequest.statusCode).to.equal(200);
        expect(await viaRequest.body.json()).to.deep.equal(expected);
        const viaHttps = await httpsGet(server.url, agent, '/https');
        expect(viaHttps.status).to.equal(200);
        expect(JSON.parse(viaHttps.body)).to.deep.equal(expected);
      } finally {
        await dispatcher.close();
        agent.destroy();
      }
    });
  }

  it('without the client certificate the same server refuses the connection (control)', async () => {
    const agent = new https.Agent({ ca: serverCA.cert });
    try {
      let failed: Error | undefined;
      await httpsGet(server.url, agent).catch((error: Error) => {
        failed = error;
      });
      expect(failed, 'the handshake must fail').to.be.instanceOf(Error);
    } finally {
      agent.destroy();
    }
  });

  it('the backend CA is checked: without ca (public roots only) the backend is refused; rejectUnauthorized: false is honored', async () => {
    const dispatcher = createDispatcher(credentials['PEM EC + chain']!);
    const lax = createDispatcher(credentials['PEM EC + chain']!, { rejectUnauthorized: false });
    try {
      let failed: unknown;
      await request(server.url, { dispatcher }).catch((error: unknown) => {
        failed = error;
      });
      expect(String((failed as { cause?: unknown })?.cause ?? failed)).to.match(
        /self.signed|unable to (get|verify)|certificate/i,
      );
      const res = await request(server.url, { dispatcher: lax });
      expect(res.statusCode).to.equal(200);
      await res.body.dump();
    } finally {
      await dispatcher.close();
      await lax.close();
    }
  });

  it('against an app using @clientcert/express: req.clientCert is the presented certificate, verified by chain', async () => {
    const app = express();
    app.use(clientCert({ ca: clientRoot.cert, logger: false }));
    app.get('/', (req, res) => {
      res.json({ subject: req.clientCert?.subject.rfc4514, verifiedBy: req.clientCert?.verifiedBy });
    });
    const httpsServer = https.createServer(
      { key: serverCert.key, cert: serverCert.cert, ca: clientRoot.cert, requestCert: true, rejectUnauthorized: false },
      app,
    );
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(httpsServer.address() as AddressInfo).port}/`;
    const dispatcher = createDispatcher({ pfx: opensslPfx(rsa, 'pw'), passphrase: 'pw' }, { ca: serverCA.cert });
    try {
      const res = await fetch(url, { dispatcher });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ subject: 'CN=rsa-client', verifiedBy: 'chain' });
    } finally {
      await dispatcher.close();
      httpsServer.closeAllConnections();
      await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
    }
  });
});
