import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { parseCertificate, parseXfcc, pemToDer } from '../../packages/core/src/index.js';
import { ENVOY_131_CAPTURE } from '../fixtures/xfcc-real.js';
import { albEscape, goQueryEscape } from '../helpers/encodings.js';
import { ensureBuilt, fails, ok, run } from './helpers.js';

const CAPTURE_SHA256 = 'ddb484787c2db45582770febb6d899606fbdd32099386d85a73a17f9ffce9627';

interface Cert {
  subject: string;
  issuer: string;
  serialNumber: string;
  notAfter: string;
  validity: { status: string; days: number; text: string };
  san: { dns: string[]; uri: string[]; email: string[]; ip: string[] };
  spiffeId: string | null;
  isCA: boolean;
  publicKey: string;
  fingerprints: { sha1: string; sha256: string; spkiSha256: string };
}
interface Report {
  input: {
    kind: string;
    format: string | null;
    xfcc: { elements: number; selected: number; by: string[]; hashMatches: boolean } | null;
  };
  certificate: Cert;
  chain: Cert[];
}

const json = (text: string): Report => JSON.parse(text) as Report;
const pemBlocks = (text: string): string[] =>
  text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n?/g) ?? [];

describe('clientcert CLI', () => {
  let dir: string;
  /** An EC client CN=alice,O=Acme with SANs, issued by an intermediate (client.pem = leaf + intermediate). */
  let g: string;
  let leafDer: Buffer;
  let intermediateDer: Buffer;

  before(function () {
    this.timeout(180_000);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'clientcert-cli-'));
    g = join(dir, 'g');
    ok([
      'gen',
      '--out',
      g,
      '--client-subject',
      'CN=alice,O=Acme',
      '--san',
      'dns:alice.example,uri:spiffe://example.org/alice,email:alice@example.org,ip:192.0.2.7',
      '--intermediate',
      '--pfx',
      '--passphrase',
      's3cret',
    ]);
    const blocks = pemBlocks(readFileSync(join(g, 'client.pem'), 'utf8'));
    leafDer = pemToDer(blocks[0]!);
    intermediateDer = pemToDer(blocks[1]!);
    writeFileSync(join(dir, 'client.der'), leafDer);
    writeFileSync(join(dir, 'leaf.pem'), blocks[0]!);
    writeFileSync(join(dir, 'intermediate-only.pem'), blocks[1]!);
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function expectLeaf(report: Report): void {
    const x509 = new X509Certificate(leafDer);
    expect(report.certificate.subject).to.equal('CN=alice,O=Acme');
    expect(report.certificate.issuer).to.equal('CN=clientcert test intermediate CA');
    expect(report.certificate.serialNumber).to.equal(x509.serialNumber.toUpperCase());
    expect(report.certificate.fingerprints).to.deep.equal({
      sha1: x509.fingerprint.replace(/:/g, ''),
      sha256: createHash('sha256').update(leafDer).digest('hex'),
      spkiSha256: createHash('sha256')
        .update(x509.publicKey.export({ type: 'spki', format: 'der' }))
        .digest('base64'),
    });
    expect(report.certificate.fingerprints.sha1).to.match(/^[0-9A-F]{40}$/);
    expect(report.certificate.san).to.deep.equal({
      dns: ['alice.example'],
      uri: ['spiffe://example.org/alice'],
      email: ['alice@example.org'],
      ip: ['192.0.2.7'],
    });
    expect(report.certificate.spiffeId).to.equal('spiffe://example.org/alice');
    expect(report.certificate.publicKey).to.equal('EC P-256');
    expect(report.certificate.isCA).to.equal(false);
    expect(report.certificate.validity.status).to.equal('valid');
    expect(report.certificate.validity.days).to.be.within(363, 365);
    expect(report.certificate.notAfter).to.equal(new Date(x509.validTo).toISOString());
  }

  describe('clientcert inspect (built binary)', () => {
    it('a PEM bundle: the leaf, then its chain; human-readable by default', () => {
      const out = ok(['inspect', join(g, 'client.pem')]);
      expect(out).to.include('Subject:       CN=alice,O=Acme');
      expect(out).to.match(/Not after: +\S+ \(expires in 36[3-5] days\)/);
      expect(out).to.include(new X509Certificate(leafDer).fingerprint.replace(/:/g, ''));
      expect(out).to.include('URI:spiffe://example.org/alice');
      expect(out).to.include('Chain (1 more certificate, as presented)');
      const report = json(ok(['inspect', join(g, 'client.pem'), '--json']));
      expectLeaf(report);
      expect(report.input).to.deep.equal({ kind: 'pem', format: null, xfcc: null });
      expect(report.chain.map((c) => [c.subject, c.isCA])).to.deep.equal([
        ['CN=clientcert test intermediate CA', true],
      ]);
    });

    it('one PEM certificate, a DER file, and PEM on standard input', () => {
      const one = json(ok(['inspect', join(dir, 'leaf.pem'), '--json']));
      expectLeaf(one);
      expect(one.chain).to.deep.equal([]);
      const der = json(ok(['inspect', join(dir, 'client.der'), '--json']));
      expectLeaf(der);
      expect(der.input.kind).to.equal('der');
      expectLeaf(json(ok(['inspect', '-', '--json'], { input: readFileSync(join(g, 'client.pem')) })));
    });

    it('a PFX file with --passphrase; without one exit 2, with a wrong one exit 3', () => {
      const report = json(ok(['inspect', join(g, 'client.pfx'), '--passphrase', 's3cret', '--json']));
      expectLeaf(report);
      expect(report.input.kind).to.equal('pfx');
      expect(report.chain.map((c) => c.subject)).to.deep.equal(['CN=clientcert test intermediate CA']);
      expect(fails(2, ['inspect', join(g, 'client.pfx')])).to.include('--passphrase');
      expect(fails(3, ['inspect', join(g, 'client.pfx'), '--passphrase', 'wrong'])).to.include('wrong passphrase');
    });

    it('the real Envoy 1.31 XFCC capture: exact subject and the SHA-256 of its Hash', () => {
      const report = json(ok(['inspect', ENVOY_131_CAPTURE, '--json']));
      expect(report.input.format).to.equal('xfcc');
      expect(report.input.xfcc).to.deep.equal({ elements: 1, selected: 1, by: [], hashMatches: true });
      expect(report.certificate.subject).to.equal('CN=user,OU=users,O=example');
      expect(report.certificate.issuer).to.equal('CN=client-ca');
      expect(report.certificate.fingerprints.sha256).to.equal(CAPTURE_SHA256);
      expect(report.certificate.publicKey).to.equal('RSA 2048');
      expect(report.certificate.validity.status).to.equal('expired');
      expect(report.chain).to.deep.equal([]); // Chain repeats the leaf only
      const human = ok(['inspect', '-'], { input: `x-forwarded-client-cert: ${ENVOY_131_CAPTURE}\n` });
      expect(human).to.include('Subject:       CN=user,OU=users,O=example');
      expect(human).to.match(/\(expired \d+ days ago\)/);
      expect(human).to.include(`SHA-256:       ${CAPTURE_SHA256}`);
    });

    it('every header format, detected, built from the generated certificate', () => {
      const b64 = leafDer.toString('base64');
      const pem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
      const values: Record<string, string> = {
        xfcc: ok(['xfcc', join(g, 'client.pem')]).trim(),
        rfc9440: `:${b64}:, :${intermediateDer.toString('base64')}:`,
        'url-pem': ok(['xfcc', join(dir, 'leaf.pem'), '--format', 'url-pem']).trim(),
        'base64-der': b64,
        traefik: `${goQueryEscape(b64)},${goQueryEscape(intermediateDer.toString('base64'))}`,
        'aws-alb': albEscape(readFileSync(join(g, 'client.pem'), 'utf8')),
      };
      expect(values['url-pem']).to.equal(
        pem.replace(/[^A-Za-z0-9\-._~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`),
      );
      for (const [format, value] of Object.entries(values)) {
        const report = json(ok(['inspect', '-', '--json'], { input: value }));
        expect(report.input.kind, format).to.equal('header');
        expect(report.input.format, format).to.equal(format);
        expectLeaf(report);
        const chained = ['xfcc', 'rfc9440', 'traefik', 'aws-alb'].includes(format);
        expect(
          report.chain.map((c) => c.subject),
          format,
        ).to.deep.equal(chained ? ['CN=clientcert test intermediate CA'] : []);
      }
      // As an argument, with --header / --format overrides.
      expectLeaf(json(ok(['inspect', `:${b64}:`, '--header', 'Client-Cert', '--json'])));
      expectLeaf(json(ok(['inspect', '-', '--format', 'base64-der', '--json'], { input: b64 })));
      expect(json(ok(['inspect', values.xfcc!, '--json'])).input.xfcc!.hashMatches).to.equal(true);
    });

    it('malformed header values and unreadable files exit 3 with one line', () => {
      expect(fails(3, ['inspect', join(dir, 'missing.pem')])).to.include('missing.pem');
      expect(fails(3, ['inspect', '-'], { input: 'Hash=abc;Cert="not-a-cert"' })).to.include('xfcc');
      expect(fails(3, ['inspect', '-'], { input: ':bm90IGEgY2VydA==:' })).to.include('rfc9440');
      writeFileSync(join(dir, 'garbage.bin'), Buffer.from([0x30, 0x03, 0x01, 0x00, 0xff]));
      fails(3, ['inspect', join(dir, 'garbage.bin')]);
    });
  });

  describe('clientcert xfcc (built binary)', () => {
    it('prints an XFCC value that parseXfcc reads back to the same certificate and chain', () => {
      const value = ok(['xfcc', join(g, 'client.pem')]).trim();
      expect(value).not.to.include('\n');
      const [element, ...more] = parseXfcc(value);
      expect(more).to.deep.equal([]);
      expect(pemToDer(element!.cert!).equals(leafDer)).to.equal(true);
      expect(element!.hash).to.equal(createHash('sha256').update(leafDer).digest('hex'));
      expect(element!.chain.map((p) => pemToDer(p).toString('base64'))).to.deep.equal(
        [leafDer, intermediateDer].map((d) => d.toString('base64')),
      );
      expect(element!.subject).to.equal('CN=alice,O=Acme');
      expect(element!.uri).to.deep.equal(['spiffe://example.org/alice']);
      expect(element!.dns).to.deep.equal(['alice.example']);
      expect(parseCertificate(element!.cert!).subject.rfc4514).to.equal('CN=alice,O=Acme');
    });

    it('--chain, --by and --details', () => {
      const value = ok([
        'xfcc',
        join(dir, 'leaf.pem'),
        '--chain',
        join(dir, 'intermediate-only.pem'),
        '--by',
        'spiffe://example.org/gateway',
        '--details',
        'Cert,URI',
      ]).trim();
      expect(value.startsWith('By=spiffe://example.org/gateway;Hash=')).to.equal(true);
      const [element] = parseXfcc(value);
      expect(element!.by).to.deep.equal(['spiffe://example.org/gateway']);
      expect(pemToDer(element!.cert!).equals(leafDer)).to.equal(true);
      expect(element!.chain).to.deep.equal([]);
      expect(element!.subject).to.equal(undefined);
      const chained = parseXfcc(
        ok(['xfcc', join(dir, 'leaf.pem'), '--chain', join(dir, 'intermediate-only.pem')]).trim(),
      )[0]!;
      expect(chained.chain.length).to.equal(2);
    });

    it('other formats: rfc9440 (two headers with a chain), base64-der', () => {
      expect(ok(['xfcc', join(dir, 'client.der'), '--format', 'base64-der']).trim()).to.equal(
        leafDer.toString('base64'),
      );
      expect(ok(['xfcc', join(dir, 'leaf.pem'), '--format', 'rfc9440']).trim()).to.equal(
        `:${leafDer.toString('base64')}:`,
      );
      expect(fails(2, ['xfcc', join(g, 'client.pem'), '--format', 'rfc9440'])).to.include('--headers');
      const lines = ok(['xfcc', join(g, 'client.pem'), '--format', 'rfc9440', '--headers'])
        .trim()
        .split('\n');
      expect(lines).to.deep.equal([
        `client-cert: :${leafDer.toString('base64')}:`,
        `client-cert-chain: :${intermediateDer.toString('base64')}:`,
      ]);
    });

    it('bad usage exits 2, an unreadable file 3', () => {
      expect(fails(2, ['xfcc', join(g, 'client.pem'), '--details', 'Bogus'])).to.include('Bogus');
      fails(2, ['xfcc', join(g, 'client.pem'), '--format', 'nope']);
      fails(2, ['xfcc']);
      expect(fails(3, ['xfcc', join(dir, 'nope.pem')])).to.include('nope.pem');
    });
  });

  describe('clientcert gen (built binary)', () => {
    async function handshake(out: string): Promise<{ subject: string; authorized: boolean; body: string }> {
      const read = (name: string) => readFileSync(join(out, name));
      const server = https.createServer(
        {
          key: read('server.key'),
          cert: read('server.pem'),
          ca: read('clients-ca.pem'),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          const socket = req.socket as TLSSocket;
          res.end(
            JSON.stringify({ subject: socket.getPeerCertificate().subject?.CN ?? '', authorized: socket.authorized }),
          );
        },
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as AddressInfo).port;
        const body = await new Promise<string>((resolve, reject) => {
          const req = https.request(
            {
              host: '127.0.0.1',
              servername: 'localhost',
              port,
              path: '/',
              ca: read('clients-ca.pem'),
              cert: read('client.pem'),
              key: read('client.key'),
              agent: false,
            },
            (res) => {
              let text = '';
              res
                .setEncoding('utf8')
                .on('data', (c: string) => (text += c))
                .on('end', () => resolve(text));
            },
          );
          req.on('error', reject).end();
        });
        const parsed = JSON.parse(body) as { subject: string; authorized: boolean };
        return { ...parsed, body };
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }

    it('writes CA, intermediate, server and client files usable for a real mTLS handshake', async () => {
      const result = await handshake(g);
      expect(result).to.include({ subject: 'alice', authorized: true });
    });

    it('RSA keys and no intermediate; prints the files and how to try them', async function () {
      this.timeout(60_000);
      const out = join(dir, 'rsa');
      const printed = ok(['gen', '--out', out, '--key-type', 'rsa', '--client-subject', 'CN=bob', '--days', '10']);
      for (const name of ['clients-ca.pem', 'clients-ca.key', 'server.pem', 'server.key', 'client.pem', 'client.key'])
        expect(printed).to.include(`  ${name}\n`);
      expect(printed).not.to.include('intermediate.pem');
      expect(printed).to.include('openssl s_server');
      expect(printed).to.include(
        'curl --cacert clients-ca.pem --cert client.pem --key client.key https://localhost:8443/',
      );
      const report = json(ok(['inspect', join(out, 'client.pem'), '--json']));
      expect(report.certificate.publicKey).to.equal('RSA 2048');
      expect(report.certificate.subject).to.equal('CN=bob');
      expect(report.certificate.validity.days).to.be.within(9, 10);
      expect(pemBlocks(readFileSync(join(out, 'client.pem'), 'utf8')).length).to.equal(1);
      expect(await handshake(out)).to.include({ subject: 'bob', authorized: true });
      // Never overwrites without --force.
      expect(fails(2, ['gen', '--out', out])).to.include('--force');
      ok(['gen', '--out', out, '--force']);
    });

    it('bad options exit 2 with one line', () => {
      fails(2, ['gen', '--key-type', 'dsa', '--out', join(dir, 'x')]);
      fails(2, ['gen', '--san', 'bogus:1', '--out', join(dir, 'x')]);
      fails(2, ['gen', '--days', 'soon', '--out', join(dir, 'x')]);
      expect(fails(2, ['gen', '--pfx', '--out', join(dir, 'x')])).to.include('--passphrase');
    });
  });

  describe('clientcert usage (built binary)', () => {
    for (const command of ['gen', 'inspect', 'xfcc', 'check']) {
      it(`${command} --help exits 0`, () => {
        const out = ok([command, '--help']);
        expect(out).to.include(`Usage: clientcert ${command}`);
      });
    }

    it('--help, unknown commands and options', () => {
      expect(ok(['--help'])).to.include('Commands:');
      expect(fails(2, ['frobnicate'])).to.include('frobnicate');
      expect(fails(2, ['inspect', 'a', 'b'])).to.include('unexpected argument');
      expect(fails(2, ['inspect', '--nope', 'x'])).to.include('--nope');
      const none = run([]);
      expect(none.status).to.equal(2);
    });

    it('arguments starting with - that are values are read as values: raw PEM, nginx and ALB escapes', () => {
      const pem = readFileSync(join(dir, 'leaf.pem'), 'utf8');
      const values = {
        pem,
        'url-pem': ok(['xfcc', join(dir, 'leaf.pem'), '--format', 'url-pem']).trim(),
        'aws-alb': albEscape(readFileSync(join(g, 'client.pem'), 'utf8')),
      };
      for (const [format, value] of Object.entries(values)) {
        expect(value.startsWith('-----BEGIN'), format).to.equal(true);
        const report = json(ok(['inspect', value, '--json']));
        expect(report.input.format, format).to.equal(format === 'pem' ? null : format);
        expectLeaf(report);
        // As the value of an option too, and before the options.
        expectLeaf(json(ok(['inspect', '--json', value])));
      }
      expect(ok(['gen', '--out', join(dir, 'neg'), '--days', '-2', '--name', 'old'])).to.include('old.pem');
    });

    it('an unknown option or stray argument is never echoed whole, nor with its control characters', () => {
      const long = `--${'x'.repeat(5000)}`;
      const stderr = fails(2, ['inspect', long, 'file']);
      expect(stderr.length).to.be.below(200);
      expect(stderr).to.include('unknown option "--xxxx').and.include('(5002 characters)');
      const stray = fails(2, ['inspect', 'a', `b\u001b[31m${'y'.repeat(3000)}`]);
      expect(stray).to.include('unexpected argument "b\\u001b[31myyy').and.not.include('\u001b');
      expect(stray.length).to.be.below(200);
      expect(fails(2, ['frobnicate'.repeat(100)]).length).to.be.below(200);
    });
  });
});
