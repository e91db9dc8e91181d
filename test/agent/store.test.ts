import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { fetch } from 'undici';
import {
  type CredentialStore,
  createCredentialStore,
  createDispatcher,
  normalizeThumbprint,
} from '../../packages/agent/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { type MtlsServer, opensslPfx, startMtlsServer, tempDir } from './helpers.js';

describe('agent: credential store', () => {
  let ca: TestCA;
  let alpha: TestCertificate;
  let beta: TestCertificate;
  let server: MtlsServer;
  let store: CredentialStore;
  const dir = tempDir();

  before(async () => {
    ca = await createCA();
    alpha = await ca.issue({ subject: 'CN=alpha' });
    beta = await ca.issue({ subject: 'CN=beta' });
    const serverCert = await ca.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    server = await startMtlsServer(serverCert, ca.cert);
    writeFileSync(join(dir.path, 'alpha.pfx'), opensslPfx(alpha, 'pw-alpha'));
    writeFileSync(join(dir.path, 'beta.crt'), beta.cert);
    writeFileSync(join(dir.path, 'beta.key'), beta.key);
    writeFileSync(join(dir.path, 'ca-bundle.pem'), ca.cert); // a lone certificate is not a credential
    store = createCredentialStore({
      directory: dir.path,
      passphrase: (id) => (id === 'alpha' ? 'pw-alpha' : undefined),
      watch: false,
    });
  });

  after(async () => {
    store.close();
    await server.close();
    dir.remove();
  });

  it('reads PFX and PEM pairs from a directory; the id is the file base name', () => {
    expect(store.ids()).to.deep.equal(['alpha', 'beta']);
    expect(store.get({ id: 'alpha' }).subject).to.equal('CN=alpha');
    expect(store.get({ id: 'beta' }).subject).to.equal('CN=beta');
    expect(store.get({ id: 'beta' }).id).to.equal('beta');
    expect(store.list().map((c) => c.subject)).to.deep.equal(['CN=alpha', 'CN=beta']);
  });

  it('selects by thumbprint in any notation: SHA-1 as Azure shows it, lower-case with colons, SHA-256 with colons', () => {
    const sha1 = alpha.x509.fingerprint; // AA:BB:... upper-case
    const notations = [
      sha1.replace(/:/g, ''),
      sha1.toLowerCase(),
      alpha.x509.fingerprint256,
      alpha.sha256,
      ` sha256:${alpha.sha256.toUpperCase()} `,
    ];
    for (const thumbprint of notations) {
      expect(store.get({ thumbprint }).subject, thumbprint).to.equal('CN=alpha');
    }
    expect(normalizeThumbprint('AB:CD')).to.equal(undefined);
  });

  it('an unknown id or thumbprint → credential_not_found; a malformed thumbprint → invalid_option', () => {
    expect(() => store.get({ id: 'gamma' }))
      .to.throw()
      .with.property('code', 'credential_not_found');
    expect(store.find({ id: 'gamma' })).to.equal(undefined);
    expect(() => store.get({ thumbprint: '00'.repeat(20) }))
      .to.throw()
      .with.property('code', 'credential_not_found');
    expect(() => store.get({ thumbprint: 'xyz' }))
      .to.throw()
      .with.property('code', 'invalid_option');
  });

  it('a list of credentials with ids; a bad entry fails the whole store at creation, naming the file', () => {
    const listed = createCredentialStore({
      credentials: [
        { id: 'a', cert: alpha.cert, key: alpha.key },
        { id: 'b', cert: beta.cert, key: beta.key },
      ],
    });
    try {
      expect(listed.get({ id: 'b' }).subject).to.equal('CN=beta');
    } finally {
      listed.close();
    }
    const missing = join(dir.path, 'missing.key');
    expect(() => createCredentialStore({ credentials: [{ id: 'a', cert: alpha.cert, key: missing }] }))
      .to.throw(missing)
      .with.property('code', 'credential_unreadable');
    expect(() => createCredentialStore({ directory: dir.path, passphrase: 'wrong', watch: false }))
      .to.throw(join(dir.path, 'alpha.pfx'))
      .with.property('code', 'credential_passphrase');
  });

  it('a dispatcher by { store, id } and by { store, thumbprint } presents the selected certificate', async () => {
    const byId = createDispatcher({ store, id: 'beta' }, { ca: ca.cert });
    const byThumbprint = createDispatcher({ store, thumbprint: alpha.x509.fingerprint }, { ca: ca.cert });
    try {
      expect(((await (await fetch(server.url, { dispatcher: byId })).json()) as { subject: string }).subject).to.equal(
        'CN=beta',
      );
      expect(
        ((await (await fetch(server.url, { dispatcher: byThumbprint })).json()) as { subject: string }).subject,
      ).to.equal('CN=alpha');
    } finally {
      await byId.close();
      await byThumbprint.close();
    }
  });
});
