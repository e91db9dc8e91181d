/**
 * `clientcert gen --ca --ca-key` (the built binary): more clients from a CA that exists — made by
 * gen, by openssl, or an intermediate — any number of them, expired or not yet valid, each
 * accepted or refused by a real TLS server that trusts the CA, as its dates say.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { ensureBuilt, fails, ok } from './helpers.js';

/** A real TLS server that trusts `ca` and requires a certificate; what it said of the client. */
async function present(ca: string, server: { cert: string; key: string }, client: { cert: string; key: string }) {
  const tls = https.createServer({ ...server, ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    res.end(
      JSON.stringify({
        authorized: socket.authorized,
        error: socket.authorizationError ?? null,
        cn: socket.getPeerCertificate().subject?.CN,
      }),
    );
  });
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = tls.address() as AddressInfo;
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', servername: 'localhost', port, ca, ...client, agent: false }, (res) => {
          let text = '';
          res
            .setEncoding('utf8')
            .on('data', (c: string) => (text += c))
            .on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    return JSON.parse(body) as { authorized: boolean; error: string | null; cn: string };
  } finally {
    await new Promise((resolve) => tls.close(resolve));
  }
}

describe('clientcert gen from an existing CA (built binary)', () => {
  let dir: string;
  let base: string;
  const read = (...parts: string[]) => readFileSync(join(...parts), 'utf8');
  const files = (out: string, name: string) => ({ cert: read(out, `${name}.pem`), key: read(out, `${name}.key`) });

  before(function () {
    this.timeout(120_000);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'clientcert-gen-'));
    base = join(dir, 'base');
    const printed = ok(['gen', '--out', base]);
    // The names the documentation uses.
    for (const name of ['clients-ca.pem', 'clients-ca.key', 'server.pem', 'server.key', 'client.pem', 'client.key'])
      expect(printed).to.include(`  ${name}\n`);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('another client, an expired one and a not-yet-valid one: the TLS stack says so for each', async () => {
    const out = join(dir, 'more');
    const ca = ['--ca', join(base, 'clients-ca.pem'), '--ca-key', join(base, 'clients-ca.key')];
    const printed = ok(['gen', '--out', out, ...ca, '--name', 'bob']);
    expect(printed).to.equal(
      `wrote to ${out}:\n  bob.pem\n  bob.key\n\ntry it (in that directory):\n  clientcert inspect bob.pem\n` +
        '  curl --cert bob.pem --key bob.key https://<your server>/\n',
    );
    ok(['gen', '--out', out, ...ca, '--name', 'old', '--days', '-1']);
    ok(['gen', '--out', out, ...ca, '--name', 'future', '--not-before', '2040-01-01T00:00:00Z', '--days', '30']);
    expect(existsSync(join(out, 'server.pem'))).to.equal(false); // nothing but the clients
    const caPem = read(base, 'clients-ca.pem');
    const server = files(base, 'server');
    expect(await present(caPem, server, files(out, 'bob'))).to.deep.equal({ authorized: true, error: null, cn: 'bob' });
    expect(await present(caPem, server, files(out, 'old'))).to.deep.include({
      authorized: false,
      error: 'CERT_HAS_EXPIRED',
    });
    expect(await present(caPem, server, files(out, 'future'))).to.deep.include({
      authorized: false,
      error: 'CERT_NOT_YET_VALID',
    });
    const future = new X509Certificate(read(out, 'future.pem'));
    expect(new Date(future.validFrom).toISOString()).to.equal('2040-01-01T00:00:00.000Z');
    expect(new Date(future.validTo).toISOString()).to.equal('2040-01-31T00:00:00.000Z');
    expect(future.issuer).to.equal(new X509Certificate(caPem).subject);
  });

  it('several clients at once, named by CN; from an intermediate, each file carries the intermediate', async () => {
    const chained = join(dir, 'chained');
    ok(['gen', '--out', chained, '--intermediate']);
    const out = join(dir, 'many');
    ok(
      [
        'gen',
        '--out',
        out,
        '--ca',
        join(chained, 'intermediate.pem'),
        '--ca-key',
        join(chained, 'intermediate.key'),
      ].concat(['--client-subject', 'CN=bob,O=Acme', '--client-subject', 'CN=carol,O=Acme']),
    );
    for (const name of ['client-bob', 'client-carol']) {
      const blocks = read(out, `${name}.pem`).match(/-----BEGIN CERTIFICATE-----/g)!;
      expect(blocks, name).to.have.length(2);
      const result = await present(read(chained, 'clients-ca.pem'), files(chained, 'server'), files(out, name));
      expect(result, name).to.deep.equal({ authorized: true, error: null, cn: name.slice('client-'.length) });
    }
  });

  it('a CA openssl made (RSA, its own subject encoding and key identifier)', async function () {
    this.timeout(60_000);
    const made = spawnSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/C=DE/O=Test Org/CN=Openssl CA'].concat([
        '-keyout',
        join(dir, 'ossl.key'),
        '-out',
        join(dir, 'ossl.pem'),
        '-days',
        '30',
      ]),
      { encoding: 'utf8' },
    );
    if (made.status !== 0) this.skip(); // no openssl here: the other tests cover issuing
    const out = join(dir, 'ossl');
    ok([
      'gen',
      '--out',
      out,
      '--ca',
      join(dir, 'ossl.pem'),
      '--ca-key',
      join(dir, 'ossl.key'),
      '--server-name',
      'localhost',
    ]);
    const result = await present(read(dir, 'ossl.pem'), files(out, 'server'), files(out, 'client'));
    expect(result).to.deep.equal({ authorized: true, error: null, cn: 'client' });
  });

  it('mistakes are named with their fix, exit 2 or 3', () => {
    const out = join(dir, 'x');
    const caPem = join(base, 'clients-ca.pem');
    expect(fails(2, ['gen', '--out', out, '--ca', caPem])).to.include('--ca and --ca-key go together');
    expect(fails(2, ['gen', '--out', out, '--ca', caPem, '--ca-key', join(base, 'client.key')])).to.include(
      'is not the key of --ca',
    );
    expect(
      fails(2, ['gen', '--out', out, '--ca', join(base, 'client.pem'), '--ca-key', join(base, 'client.key')]),
    ).to.include('is not a CA certificate');
    expect(fails(3, ['gen', '--out', out, '--ca', caPem, '--ca-key', caPem])).to.include(
      'is not an unencrypted private key',
    );
    expect(
      fails(2, ['gen', '--out', out, '--name', 'a', '--client-subject', 'CN=a', '--client-subject', 'CN=b']),
    ).to.include('--name names one client');
    expect(fails(2, ['gen', '--out', out, '--name', '../escape'])).to.include('without a directory');
    expect(fails(2, ['gen', '--out', out, '--not-before', 'soon'])).to.include('ISO 8601');
    expect(
      fails(2, ['gen', '--out', out, '--intermediate', '--ca', caPem, '--ca-key', join(base, 'clients-ca.key')]),
    ).to.include('give it as --ca');
  });
});
