/**
 * `clientcert check` (the built binary): the configuration read as an app reads it, refused with
 * the middleware's own errors, and decided the way the middleware decides: over TLS (direct mTLS,
 * the TLS stack's verdict included) and through the forwarded header the configuration reads.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createClientCertAuth, loadOptionsFile, pemToDer } from '../../packages/core/src/index.js';
import { adapters, type RunningApp } from '../conformance/harness.js';
import { request } from '../helpers/http-client.js';
import { ensureBuilt, fails, ok, run } from './helpers.js';

type Json = Record<string, unknown>;

describe('clientcert check (built binary)', () => {
  let dir: string;
  /** CA, server and an intermediate-issued client CN=alice,O=Acme with a SPIFFE URI SAN. */
  let g: string;
  /** Another CA with an expired client CN=old. */
  let expired: string;
  /** A third CA: its client is issued by nobody the configurations trust. */
  let other: string;
  let leafDer: Buffer;
  let intermediateDer: Buffer;
  let app: RunningApp | undefined;

  const config = (name: string, options: unknown, text?: string): string => {
    const path = join(dir, name);
    writeFileSync(path, text ?? JSON.stringify(options));
    return path;
  };
  const json = (args: string[], status = 0): Json => {
    const result = run([...args, '--json']);
    expect(result.status, result.stderr).to.equal(status);
    return JSON.parse(result.stdout) as Json;
  };

  before(function () {
    this.timeout(180_000);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'clientcert-check-'));
    g = join(dir, 'g');
    ok(
      ['gen', '--out', g, '--intermediate', '--client-subject', 'CN=alice,O=Acme'].concat([
        '--san',
        'uri:spiffe://example.org/alice',
        '--pfx',
        '--passphrase',
        's3cret',
      ]),
    );
    const blocks = readFileSync(join(g, 'client.pem'), 'utf8').match(
      /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g,
    )!;
    leafDer = pemToDer(blocks[0]!);
    intermediateDer = pemToDer(blocks[1]!);
    writeFileSync(join(dir, 'leaf.pem'), blocks[0]!);
    expired = join(dir, 'expired');
    ok(['gen', '--out', expired, '--days', '-2', '--client-subject', 'CN=old']);
    other = join(dir, 'other');
    ok(['gen', '--out', other, '--client-subject', 'CN=mallory']);
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('the configuration means what it means to the app', () => {
    it('{ "file": … } reads a file relative to the config: accepted, verified by chain, identity matched', () => {
      const path = config('ok.json', {
        ca: { file: './g/clients-ca.pem' },
        rules: { identities: [{ name: 'alice', san: { uri: 'spiffe://example.org/alice' } }] },
      });
      const out = ok(['check', join(g, 'client.pem'), '--config', path]);
      expect(out).to.include('accepted: CN=alice,O=Acme\n');
      expect(out).to.include('  verified by: chain\n');
      expect(out).to.include('  identity:    alice\n');
      expect(out).to.include('  request:     plain HTTP from 127.0.0.1; certificate in x-forwarded-client-cert\n');
      const result = json(['check', join(g, 'client.pfx'), '--passphrase', 's3cret', '--config', path]);
      expect(result).to.deep.include({
        verdict: 'authenticated',
        accepted: true,
        verifiedBy: 'chain',
        identity: 'alice',
        pin: null,
        subject: 'CN=alice,O=Acme',
        source: 'xfcc',
      });
    });

    it('every configuration the app refuses is refused with the app’s own error, exit 3', async () => {
      const bad: Array<[string, unknown, string]> = [
        ['mode.json', { mode: 'required' }, 'option "mode" must be one of require, accept, ignore'],
        [
          'string-ca.json',
          { ca: './g/clients-ca.pem' },
          'option "ca" takes the certificate itself (PEM text), not a file name: to read the file, write { "file": "./g/clients-ca.pem" }',
        ],
        ['missing-ca.json', { ca: { file: './missing-ca.pem' } }, 'option "ca.file" could not be read: no such file'],
        ['unknown.json', { bogusOption: 1 }, 'option "bogusOption" is not a known option'],
        ['verified.json', { proxyVerified: true }, 'option "proxyVerified" needs `proxy`'],
        ['pins.json', { pins: ['./leaf.pem'] }, 'option "pins[0]" takes the certificate itself'],
      ];
      for (const [name, options, message] of bad) {
        const path = config(name, options);
        // What an app that loads this file gets.
        let appError: unknown;
        try {
          createClientCertAuth({ ...(await loadOptionsFile(path)), logger: false });
        } catch (error) {
          appError = error;
        }
        expect((appError as { code?: string }).code, name).to.equal('invalid_option');
        const appMessage = (appError as Error).message.replace(/^clientcert: /, '');
        expect(appMessage, name).to.include(message);
        // What check says: the same words.
        const stderr = fails(3, ['check', join(g, 'client.pem'), '--config', path]);
        expect(stderr, name).to.equal(`clientcert: invalid configuration: ${appMessage}\n`);
      }
    });

    it('config files that cannot be read: missing --config 2, no file or bad JSON 3', () => {
      expect(fails(2, ['check', join(g, 'client.pem')])).to.include('--config');
      expect(fails(3, ['check', join(g, 'client.pem'), '--config', join(dir, 'none.json')])).to.include(
        'none.json: no such file',
      );
      expect(fails(3, ['check', join(g, 'client.pem'), '--config', config('bad.json', null, '{ nope')])).to.include(
        'bad.json is not valid JSON',
      );
      expect(fails(3, ['check', join(g, 'client.pem'), '--config', config('c.yaml', {})])).to.include(
        '.json, .js, .mjs or .cjs',
      );
    });

    it('pins: sha256 in a JS module, and a certificate file by { file }', () => {
      const sha = createHash('sha256').update(leafDer).digest('hex');
      const pinned = config(
        'pins.mjs',
        null,
        `export default { pins: [{ name: 'alice-pin', leaf: 'sha256:${sha}' }] };\n`,
      );
      expect(json(['check', join(g, 'client.pem'), '--config', pinned])).to.deep.include({
        accepted: true,
        verifiedBy: 'pin',
        pin: 'alice-pin',
      });
      const byFile = config('pinfile.json', { pins: [{ file: './leaf.pem' }] });
      expect(json(['check', join(dir, 'leaf.pem'), '--config', byFile])).to.deep.include({
        accepted: true,
        verifiedBy: 'pin',
      });
      expect(json(['check', join(other, 'client.pem'), '--config', byFile], 1)).to.deep.include({
        code: 'client_certificate_untrusted',
        check: 'pins',
      });
    });
  });

  describe('forwarded: the header the configuration reads', () => {
    it('rejections: a rule (exit 1, status, code, detail, check), an expired certificate, another CA', () => {
      const rules = config('rules.json', {
        ca: { file: './g/clients-ca.pem' },
        rules: { identities: [{ name: 'bob', commonName: 'bob' }] },
      });
      const body = json(['check', join(g, 'client.pem'), '--config', rules], 1);
      expect(body).to.deep.include({
        verdict: 'rejected',
        accepted: false,
        status: 403,
        code: 'client_certificate_rejected',
        check: 'rules.identities',
      });
      expect(body.detail).to.be.a('string').and.not.equal('');
      const old = run([
        'check',
        join(expired, 'client.pem'),
        '--config',
        config('expired.json', { ca: { file: './expired/clients-ca.pem' } }),
      ]);
      expect(old.status).to.equal(1);
      expect(old.stdout).to.include(
        'rejected: CN=old\n  status:      403\n  code:        client_certificate_expired\n',
      );
      expect(old.stdout).to.include('  check:       chain.expired\n');
      expect(json(['check', join(g, 'client.pem'), '--config', join(dir, 'expired.json')], 1)).to.deep.include({
        code: 'client_certificate_untrusted',
        check: 'chain.untrusted',
      });
    });

    it('header values go in their header; one the configuration does not read is not read, and the note names it', () => {
      const plain = config('plain.json', { ca: { file: './g/clients-ca.pem' } });
      const xfcc = ok(['xfcc', join(g, 'client.pem')]).trim();
      expect(ok(['check', xfcc, '--config', plain])).to.include('accepted: CN=alice,O=Acme');
      const rfc = `:${leafDer.toString('base64')}:, :${intermediateDer.toString('base64')}:`;
      const rfcConfig = config('rfc.json', { ca: { file: './g/clients-ca.pem' }, source: 'rfc9440' });
      expect(JSON.parse(ok(['check', '-', '--config', rfcConfig, '--json'], { input: rfc })) as Json).to.deep.include({
        accepted: true,
        source: 'rfc9440',
        request: 'plain HTTP from 127.0.0.1; certificate in client-cert; also client-cert-chain',
      });
      // The app with { ca } reads XFCC only: an RFC 9440 header is not read, so nor is it here.
      const unread = JSON.parse(run(['check', '-', '--config', plain, '--json'], { input: rfc }).stdout) as Json;
      expect(unread).to.deep.include({ verdict: 'rejected', code: 'client_certificate_required' });
      expect((unread.notes as string[]).join('\n')).to.include(
        'the certificate was sent in client-cert, which this configuration does not read (it reads x-forwarded-client-cert)',
      );
      // A tampered Hash is refused as the middleware refuses it.
      const tampered = xfcc.replace(/Hash=[0-9a-f]{4}/, 'Hash=0000');
      expect(json(['check', tampered, '--config', plain], 1)).to.deep.include({
        code: 'client_certificate_malformed',
        check: 'xfcc',
      });
      // So is a value the CLI cannot decode: the middleware's answer, not a CLI error.
      expect(json(['check', 'Cert="%ZZ"', '--config', plain], 1)).to.deep.include({
        code: 'client_certificate_malformed',
      });
    });

    it('attack: a header from a peer outside trustProxy is never honored, and the note names the fix', () => {
      const path = config('trusted.json', { ca: { file: './g/clients-ca.pem' }, trustProxy: '10.0.0.5' });
      const xfcc = ok(['xfcc', join(g, 'client.pem')]).trim();
      const forged = json(['check', xfcc, '--config', path, '--from', '203.0.113.9'], 1);
      expect(forged).to.deep.include({ verdict: 'rejected', code: 'client_certificate_required' });
      expect((forged.notes as string[])[0]).to.equal(
        'the peer 203.0.113.9 is not in trustProxy (10.0.0.5), so its headers are ignored: send from your ' +
          "proxy's address with --from, or add it to trustProxy",
      );
      // The default peer is a proxy the configuration trusts; one it names nowhere must be given.
      expect(fails(2, ['check', xfcc, '--config', path])).to.include('give --from');
      expect(json(['check', xfcc, '--config', path, '--from', '10.0.0.5'])).to.deep.include({ accepted: true });
    });

    it('a proxy that reports its verification: without its verdict untrusted, with -H verified by the proxy', () => {
      const nginx = config('nginx.json', { proxy: 'nginx' });
      const escaped = ok(['xfcc', join(dir, 'leaf.pem'), '--format', 'url-pem']).trim();
      const unverified = json(['check', escaped, '--config', nginx], 1);
      expect(unverified).to.deep.include({ code: 'client_certificate_untrusted', check: 'proxy' });
      expect(unverified.notes).to.deep.equal([
        'the proxy says it verified a certificate in ssl-client-verify: add --add-header "ssl-client-verify: SUCCESS" to decide as if it did',
      ]);
      expect(json(['check', escaped, '--config', nginx, '-H', 'ssl-client-verify: SUCCESS'])).to.deep.include({
        accepted: true,
        verifiedBy: 'proxy',
        source: 'url-pem',
      });
    });

    it('--at decides as of another time; --no-certificate decides a request without one', () => {
      const path = config('at.json', { ca: { file: './g/clients-ca.pem' } });
      const later = new Date(Date.now() + 400 * 86_400_000).toISOString();
      expect(json(['check', join(g, 'client.pem'), '--config', path, '--at', later], 1)).to.deep.include({
        code: 'client_certificate_expired',
      });
      fails(2, ['check', join(g, 'client.pem'), '--config', path, '--at', 'tomorrow']);
      expect(json(['check', '--no-certificate', '--config', path], 1)).to.deep.include({
        code: 'client_certificate_required',
      });
      const accept = config('accept.json', { ca: { file: './g/clients-ca.pem' }, mode: 'accept' });
      const anonymous = run(['check', '--no-certificate', '--config', accept]);
      expect(anonymous.status).to.equal(1);
      expect(anonymous.stdout).to.match(/^anonymous:\n {2}the request goes on with clientCert null/);
      fails(2, ['check', join(g, 'client.pem'), '--no-certificate', '--config', path]);
    });
  });

  describe('direct mTLS: --tls-ca', () => {
    it('the configuration that trusts the TLS stack: rejected as forwarded (with the note), accepted over TLS as by a real server', async () => {
      const empty = config('empty.json', {});
      const forwarded = json(['check', join(g, 'client.pem'), '--config', empty], 1);
      expect(forwarded).to.deep.include({ code: 'client_certificate_untrusted', check: 'trust' });
      expect((forwarded.notes as string[])[0]).to.include('--tls-ca <file>');

      const direct = json(['check', join(g, 'client.pem'), '--config', empty, '--tls-ca', join(g, 'clients-ca.pem')]);
      expect(direct).to.deep.include({
        verdict: 'authenticated',
        verifiedBy: 'tls',
        source: 'tls',
        subject: 'CN=alice,O=Acme',
        tls: { authorized: true, authorizationError: null },
        request: 'TLS connection from 203.0.113.10 presenting the certificate',
      });

      // The app: the same options on a real HTTPS server with that ca.
      const read = (name: string) => readFileSync(join(g, name), 'utf8');
      app = await adapters[0]!.start({
        options: { ...(await loadOptionsFile(empty)), logger: false },
        tls: {
          cert: read('server.pem'),
          key: read('server.key'),
          ca: read('clients-ca.pem'),
          requestCert: true,
          rejectUnauthorized: false,
        },
      });
      const res = await request({
        url: app.url,
        path: '/whoami',
        ca: read('clients-ca.pem'),
        cert: read('client.pem'),
        key: read('client.key'),
      });
      expect(res.status).to.equal(200);
      expect(JSON.parse(res.text)).to.deep.include({ subject: 'CN=alice,O=Acme', verifiedBy: 'tls', source: 'tls' });
    });

    it('the TLS stack’s verdict: expired, another CA, and source tls needs --tls-ca', () => {
      const empty = config('empty2.json', {});
      const old = run([
        'check',
        join(expired, 'client.pem'),
        '--config',
        empty,
        '--tls-ca',
        join(expired, 'clients-ca.pem'),
      ]);
      expect(old.status).to.equal(1);
      expect(old.stdout).to.include('  code:        client_certificate_expired\n');
      expect(old.stdout).to.include('  TLS stack:   not verified (CERT_HAS_EXPIRED)\n');
      expect(
        json(['check', join(other, 'client.pem'), '--config', empty, '--tls-ca', join(g, 'clients-ca.pem')], 1),
      ).to.deep.include({
        code: 'client_certificate_untrusted',
        check: 'tls',
        tls: { authorized: false, authorizationError: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' },
      });
      const tlsOnly = config('tls.json', { source: 'tls' });
      expect(fails(2, ['check', join(g, 'client.pem'), '--config', tlsOnly])).to.include('--tls-ca <file>');
      expect(
        fails(3, ['check', join(g, 'client.pem'), '--config', tlsOnly, '--tls-ca', join(g, 'client.key')]),
      ).to.include('--tls-ca');
    });
  });
});
