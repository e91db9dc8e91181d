import { once } from 'node:events';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fetch, request } from 'undici';
import {
  createDispatcher,
  createHttpsAgent,
  type LiveCredential,
  watchCredential,
} from '../../packages/agent/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { httpsGet, type MtlsServer, startMtlsServer, tempDir } from './helpers.js';

function replace(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path); // atomic, as deployment tools and Kubernetes secrets do it
}

describe('agent: rotation and expiry warnings', () => {
  let ca: TestCA;
  let oldCert: TestCertificate;
  let newCert: TestCertificate;
  let server: MtlsServer;
  const dir = tempDir();
  const certFile = join(dir.path, 'client.crt');
  const keyFile = join(dir.path, 'client.key');

  before(async () => {
    ca = await createCA();
    oldCert = await ca.issue({ subject: 'CN=client,OU=old' });
    newCert = await ca.issue({ subject: 'CN=client,OU=new' });
    const serverCert = await ca.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    server = await startMtlsServer(serverCert, ca.cert);
  });

  after(async () => {
    await server.close();
    dir.remove();
  });

  it('files replaced on disk: new connections present the new certificate, an in-flight request completes with the old one, a bad replacement keeps the current one', async () => {
    writeFileSync(certFile, oldCert.cert);
    writeFileSync(keyFile, oldCert.key);
    const live: LiveCredential = watchCredential({ cert: certFile, key: keyFile, watchInterval: 25, debounce: 50 });
    const dispatcher = createDispatcher(live, { ca: ca.cert });
    const agent = createHttpsAgent(live, { ca: ca.cert });
    try {
      expect(((await (await fetch(`${server.url}/a`, { dispatcher })).json()) as { subject: string }).subject).to.equal(
        'CN=client,OU=old',
      );
      expect(JSON.parse((await httpsGet(server.url, agent, '/a')).body).subject).to.equal('CN=client,OU=old');

      // A request in flight on the old certificate (undici and https), held by the server.
      const hold = server.hold('/slow');
      const slowUndici = request(`${server.url}/slow`, { dispatcher }).then(
        (r) => r.body.json() as Promise<{ subject: string }>,
      );
      const slowHttps = httpsGet(server.url, agent, '/slow');
      await hold.arrived;

      const rotated = once(live, 'rotate');
      replace(keyFile, newCert.key);
      replace(certFile, newCert.cert);
      const [next, previous] = await rotated;
      expect(next.subject).to.equal('CN=client,OU=new');
      expect(previous.subject).to.equal('CN=client,OU=old');
      expect(live.version).to.equal(1);

      // Kept-alive connections are not reused: the next requests present the new certificate.
      expect(((await (await fetch(`${server.url}/b`, { dispatcher })).json()) as { subject: string }).subject).to.equal(
        'CN=client,OU=new',
      );
      expect(
        ((await (await request(`${server.url}/b`, { dispatcher })).body.json()) as { subject: string }).subject,
      ).to.equal('CN=client,OU=new');
      expect(JSON.parse((await httpsGet(server.url, agent, '/b')).body).subject).to.equal('CN=client,OU=new');

      hold.release();
      expect((await slowUndici).subject).to.equal('CN=client,OU=old');
      expect(JSON.parse((await slowHttps).body).subject).to.equal('CN=client,OU=old');

      // Invalid new files: an error event, and the current certificate stays in use.
      const failed = once(live, 'error');
      replace(certFile, oldCert.cert); // does not match the new key on disk
      const [error] = await failed;
      expect(error.code).to.equal('credential_key_mismatch');
      expect(error.message).to.include(certFile);
      expect(live.current.subject).to.equal('CN=client,OU=new');
      expect(((await (await fetch(`${server.url}/c`, { dispatcher })).json()) as { subject: string }).subject).to.equal(
        'CN=client,OU=new',
      );
    } finally {
      await dispatcher.close();
      agent.destroy();
      live.close();
    }
  });

  it('a dispatcher given load options owns its watcher and rotates too', async () => {
    writeFileSync(certFile, oldCert.cert);
    writeFileSync(keyFile, oldCert.key);
    const dispatcher = createDispatcher(
      { cert: certFile, key: keyFile, watchInterval: 25, debounce: 50 },
      { ca: ca.cert },
    );
    try {
      expect(((await (await fetch(`${server.url}/x`, { dispatcher })).json()) as { subject: string }).subject).to.equal(
        'CN=client,OU=old',
      );
      replace(keyFile, newCert.key);
      replace(certFile, newCert.cert);
      const deadline = Date.now() + 5000;
      while (dispatcher.credential.subject !== 'CN=client,OU=new' && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(((await (await fetch(`${server.url}/y`, { dispatcher })).json()) as { subject: string }).subject).to.equal(
        'CN=client,OU=new',
      );
    } finally {
      await dispatcher.close();
    }
  });

  it('warns before expiry: onWarning for a certificate expiring in 3 days, process warning by default, nothing for a 30-day one', async () => {
    const soon = await ca.issue({ subject: 'CN=soon', validDays: 3 });
    const messages: string[] = [];
    const live = watchCredential({
      cert: soon.cert,
      key: soon.key,
      id: 'payments',
      onWarning: (m) => messages.push(m),
    });
    const viaEvent = once(live, 'warning');
    const [eventMessage] = await viaEvent;
    expect(messages).to.have.length(1);
    expect(messages[0]).to.equal(eventMessage);
    expect(messages[0]).to.include('"payments"').and.include('CN=soon').and.include('expires in 3 days');
    live.close();

    const warned = once(process, 'warning');
    const byDefault = watchCredential({ cert: soon.cert, key: soon.key });
    const [warning] = await warned;
    expect(warning.code).to.equal('CLIENTCERT_CREDENTIAL_EXPIRING');
    expect(warning.message).to.include('expires in 3 days');
    byDefault.close();

    const later = await ca.issue({ subject: 'CN=later', validDays: 30 });
    const quiet: string[] = [];
    const calm = watchCredential({ cert: later.cert, key: later.key, onWarning: (m) => quiet.push(m) });
    await new Promise((r) => setImmediate(r));
    expect(quiet).to.deep.equal([]);
    calm.close();
    const custom = watchCredential({
      cert: later.cert,
      key: later.key,
      warnBeforeExpiryDays: 45,
      onWarning: (m) => quiet.push(m),
    });
    await new Promise((r) => setImmediate(r));
    expect(quiet).to.have.length(1);
    custom.close();
  });
});
