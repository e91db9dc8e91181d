import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import {
  type ClientCertOptions,
  createClientCertAuth,
  type Logger,
  WARNING_CODES,
  WARNINGS_DOCS,
} from '../../../packages/core/src/index.js';
import {
  createCA,
  createCrl,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { request } from '../../helpers/http-client.js';

interface Warning {
  code: string;
  docs: string;
  message: string;
}

/** A logger that keeps what it is told; `warnings` are parsed into code, docs link and text. */
function recorder(): Logger & { infos: string[]; warnings: Warning[] } {
  const infos: string[] = [];
  const warnings: Warning[] = [];
  return {
    infos,
    warnings,
    info: (message) => void infos.push(message),
    warn: (message) => {
      const match = /^clientcert: (.*) \(warning ([a-z0-9_]+); see (\S+)\)$/s.exec(message);
      if (!match) throw new Error(`warning without a code and a docs link: ${message}`);
      warnings.push({ message: match[1]!, code: match[2]!, docs: match[3]! });
    },
  };
}

function warningsOf(options: ClientCertOptions): string[] {
  const logger = recorder();
  createClientCertAuth({ ...options, logger });
  return logger.warnings.map((warning) => warning.code);
}

function constructionError(options: ClientCertOptions): { code: string; message: string } {
  try {
    createClientCertAuth({ logger: false, ...options });
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected construction to fail');
}

describe('warnings', () => {
  let root: TestCA;
  let alice: TestCertificate;
  const safe = { trustProxy: '127.0.0.1' } as const;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
  });

  it('a safe configuration warns about nothing', () => {
    expect(warningsOf({ ...safe, ca: root.cert })).to.deep.equal([]);
    expect(warningsOf({ source: 'tls' })).to.deep.equal([]);
  });

  it('every code has a heading in the core README, and each warning links to it', () => {
    const readme = readFileSync(new URL('../../../packages/core/README.md', import.meta.url), 'utf8');
    for (const code of WARNING_CODES) expect(readme, code).to.match(new RegExp(`^#### \`${code}\`$`, 'm'));
    const logger = recorder();
    createClientCertAuth({ logger, mode: 'accept', trustProxy: true });
    expect(logger.warnings.length).to.be.greaterThan(0);
    for (const warning of logger.warnings) expect(warning.docs).to.equal(`${WARNINGS_DOCS}${warning.code}`);
  });

  describe('trust_proxy_everywhere', () => {
    for (const trustProxy of [true, '0.0.0.0/1, 128.0.0.0/1', ['::/1', '8000::/1'], () => true] as const) {
      it(`warns for trustProxy ${typeof trustProxy === 'function' ? '() => true' : JSON.stringify(trustProxy)}`, () => {
        expect(warningsOf({ ca: root.cert, trustProxy: trustProxy as ClientCertOptions['trustProxy'] })).to.deep.equal([
          'trust_proxy_everywhere',
        ]);
      });
    }

    it('not for the default, a list of proxies, a public proxy address, or a TLS-only source', () => {
      expect(warningsOf({ ca: root.cert })).to.deep.equal([]);
      expect(warningsOf({ ca: root.cert, trustProxy: ['10.0.0.0/8', '203.0.113.7'] })).to.deep.equal([]);
      expect(warningsOf({ ca: root.cert, trustProxy: true, source: 'tls' })).to.deep.equal([]);
    });

    it('trustProxy: true really trusts every peer (IPv4, IPv6, IPv4-mapped)', async () => {
      const auth = createClientCertAuth({ logger: false, ca: root.cert, trustProxy: true, warnings: false });
      for (const remoteAddress of ['203.0.113.9', '2001:db8::1', '::ffff:8.8.8.8']) {
        const result = await auth.authenticate({
          socket: { remoteAddress, encrypted: false } as unknown as Socket,
          headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
        });
        expect(result.ok, remoteAddress).to.equal(true);
      }
    });
  });

  describe('accept_mode', () => {
    it('warns that requests without a certificate get through, and can be switched off alone', () => {
      expect(warningsOf({ ...safe, ca: root.cert, mode: 'accept' })).to.deep.equal(['accept_mode']);
      expect(warningsOf({ ...safe, ca: root.cert, mode: 'accept', warnings: { accept_mode: false } })).to.deep.equal(
        [],
      );
      expect(warningsOf({ ...safe, ca: root.cert, mode: 'require' })).to.deep.equal([]);
    });
  });

  describe('sha1_thumbprint', () => {
    it('warns for SHA-1 thumbprints in identities, naming them; not for SHA-256', () => {
      const logger = recorder();
      createClientCertAuth({
        ...safe,
        ca: root.cert,
        logger,
        rules: {
          identities: [
            { name: 'a', thumbprint: 'A9:09:50:2D:D8:2A:E4:14:33:E6:F8:38:86:B0:0D:42:77:A3:2A:7B' },
            { name: 'b', thumbprint: alice.sha256 },
          ],
        },
      });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['sha1_thumbprint']);
      expect(logger.warnings[0]!.message).to.include('rules.identities[0].thumbprint').and.not.include('identities[1]');
      expect(
        warningsOf({ ...safe, ca: root.cert, rules: { identities: [{ thumbprint: alice.sha256 }] } }),
      ).to.deep.equal([]);
    });
  });

  describe('cn_only_rules', () => {
    const cnOnly: Array<ClientCertOptions['rules']> = [
      { subject: 'CN=alice' },
      { subject: { cn: ['alice', 'bob'] } },
      { identities: [{ name: 'alice', commonName: 'alice' }] },
      {
        identities: [
          { name: 'x', thumbprint: `sha256:${'00'.repeat(32)}` },
          { name: 'alice', subject: 'commonName=alice' },
        ],
      },
    ];
    for (const rules of cnOnly) {
      it(`warns for ${JSON.stringify(rules)} without ca or pins`, () => {
        expect(warningsOf({ ...safe, proxy: 'envoy', proxyVerified: true, rules })).to.deep.equal(['cn_only_rules']);
        expect(warningsOf({ source: 'tls', rules })).to.deep.equal(['cn_only_rules']);
      });
    }

    it('not with ca or pins, nor when the rules look at more than the CN', () => {
      expect(warningsOf({ ...safe, ca: root.cert, rules: { subject: 'CN=alice' } })).to.deep.equal([]);
      expect(warningsOf({ ...safe, pins: `sha256:${alice.sha256}`, rules: { subject: 'CN=alice' } })).to.deep.equal([]);
      for (const rules of [
        { subject: 'CN=alice,O=Acme' },
        { subject: 'CN=alice+O=Acme' },
        { subject: { CN: 'alice', O: 'Acme' } },
        { subject: 'CN=alice', issuer: 'CN=Acme CA' },
        { identities: [{ commonName: 'alice', issuerSubject: 'CN=Acme CA' }] },
        { subject: 'CN=alice', predicate: () => true },
        { spiffe: { trustDomain: 'acme.test' } },
      ] as Array<ClientCertOptions['rules']>) {
        expect(warningsOf({ source: 'tls', rules }), JSON.stringify(rules)).to.deep.equal([]);
      }
    });
  });

  describe('expired_anchor', () => {
    it('warns for anchors that expired or are not valid yet, naming their place in the bundle', async () => {
      const old = await createCA({
        subject: 'CN=Old CA',
        notBefore: new Date(Date.now() - 20 * 86_400_000),
        notAfter: new Date(Date.now() - 86_400_000),
      });
      const future = await createCA({
        subject: 'CN=Future CA',
        notBefore: new Date(Date.now() + 86_400_000),
        notAfter: new Date(Date.now() + 20 * 86_400_000),
      });
      const logger = recorder();
      createClientCertAuth({ ...safe, logger, ca: [root.cert, old.cert + future.cert] });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['expired_anchor']);
      expect(logger.warnings[0]!.message)
        .to.include('ca[1] (CN=Old CA) expired')
        .and.include('ca[2] (CN=Future CA) is not valid before');
      expect(warningsOf({ ...safe, ca: [root.cert, old.cert], warnings: { expired_anchor: false } })).to.deep.equal([]);
    });

    it('uses the configured clock', async () => {
      expect(
        warningsOf({ ...safe, ca: root.cert, clock: () => new Date(Date.now() + 3650 * 86_400_000) }),
      ).to.deep.equal(['expired_anchor']);
    });
  });

  describe('tls_request_cert_off', () => {
    let server: TestCertificate;
    before(async () => {
      server = await root.issue({
        subject: 'CN=localhost',
        eku: ['serverAuth'],
        san: { dns: ['localhost'], ip: ['127.0.0.1'] },
      });
    });

    async function serve(requestCert: boolean, logger: Logger, requests: number): Promise<number[]> {
      const auth = createClientCertAuth({ logger, source: 'tls', ca: root.cert });
      const tlsServer = https.createServer(
        { key: server.key, cert: server.cert, ca: root.cert, requestCert, rejectUnauthorized: false },
        (req, res) => {
          const result = auth.authenticate(req) as { ok: boolean };
          res.writeHead(result.ok ? 200 : 403).end();
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      const url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
      try {
        const statuses: number[] = [];
        for (let i = 0; i < requests; i++) {
          statuses.push((await request({ url, ca: root.cert, cert: alice.cert, key: alice.key })).status);
        }
        return statuses;
      } finally {
        tlsServer.close();
      }
    }

    it('warns once per server, at the first request, when the server does not ask for certificates', async () => {
      const logger = recorder();
      expect(await serve(false, logger, 2)).to.deep.equal([403, 403]);
      // and the rejection, logged once for the peer
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['tls_request_cert_off', 'request_rejected']);
    });

    it('not when the server asks for them', async () => {
      const logger = recorder();
      expect(await serve(true, logger, 1)).to.deep.equal([200]);
      expect(logger.warnings).to.deep.equal([]);
    });
  });

  describe('anchor_profile and crl_not_usable', () => {
    it('anchor_profile: a CA whose basicConstraints is not critical (easy-rsa) would refuse every client: said at start-up, naming the switch', async () => {
      const easyRsa = await createCA({ subject: 'CN=Easy-RSA CA', basicConstraintsCritical: false });
      const logger = recorder();
      createClientCertAuth({ ...safe, source: 'xfcc', ca: easyRsa.cert, logger });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['anchor_profile']);
      expect(logger.warnings[0]!.message)
        .to.include('basicConstraints is not critical')
        .and.include('verifyPolicy.allowNonCriticalBasicConstraints');
      expect(
        warningsOf({
          ...safe,
          source: 'xfcc',
          ca: easyRsa.cert,
          verifyPolicy: { allowNonCriticalBasicConstraints: true },
        }),
      ).to.deep.equal([]);
      expect(warningsOf({ ...safe, source: 'xfcc', ca: root.cert })).to.deep.equal([]);
    });

    it('crl_not_usable: a CRL without cRLNumber is no data, said at start-up', async () => {
      const crl = await createCrl(root, { crlNumber: null });
      const logger = recorder();
      createClientCertAuth({
        ...safe,
        source: 'xfcc',
        ca: root.cert,
        revocation: { crls: [crl.pem], policy: 'strict' },
        logger,
      });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['crl_not_usable']);
      expect(logger.warnings[0]!.message).to.include('revocation.crls[0]').and.include('no cRLNumber');
    });
  });

  describe('anchor_not_ca', () => {
    const xfccFrom = (certificate: TestCertificate) => ({
      socket: { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket,
      headers: { 'x-forwarded-client-cert': envoyXfcc(certificate) },
    });

    it("the client's own certificate as ca: named with the fix; it admits that one certificate and no other client of its CA", async () => {
      const logger = recorder();
      const auth = createClientCertAuth({ ...safe, source: 'xfcc', ca: alice.cert, logger });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['anchor_not_ca']);
      expect(logger.warnings[0]!.message).to.equal(
        'ca[0] (CN=alice,O=Acme) is not a CA certificate (basicConstraints cA is not true), so no client certificate ' +
          'chains to it and only a client presenting that very certificate can be admitted. Pass the CA that issued your ' +
          "clients' certificates as ca (`clientcert inspect <a client's certificate>` shows its Issuer); to admit exactly " +
          'one certificate, list it in pins instead',
      );
      // What the warning says, as the pipeline decides it: alice is pinned, her CA's other clients are not trusted.
      const bob = await root.issue({ subject: 'CN=bob,O=Acme' });
      const admitted = await auth.authenticate(xfccFrom(alice));
      expect(admitted.ok && admitted.certificate?.subject.rfc4514).to.equal('CN=alice,O=Acme');
      const refused = await auth.authenticate(xfccFrom(bob));
      expect(refused.ok ? null : refused.error.code).to.equal('client_certificate_untrusted');
    });

    it("the server's certificate in a bundle: only that entry is named, and anchor_profile does not say it again", async () => {
      const server = await root.issue({ subject: 'CN=api.example', eku: ['serverAuth'] });
      const logger = recorder();
      createClientCertAuth({ ...safe, source: 'xfcc', ca: [root.cert, server.cert], logger });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['anchor_not_ca']);
      expect(logger.warnings[0]!.message).to.match(/^ca\[1\] \(CN=api\.example\) is not a CA certificate /);
    });

    it('a v3 certificate without basicConstraints is not a CA; a version 1 root is', async () => {
      const noConstraints = await createCA({ subject: 'CN=No Constraints', ca: null, keyUsage: null });
      expect(warningsOf({ ...safe, source: 'xfcc', ca: noConstraints.cert })).to.deep.equal(['anchor_not_ca']);
      const legacy = await createCA({ subject: 'CN=Legacy Root', version: 1 });
      expect(warningsOf({ ...safe, source: 'xfcc', ca: legacy.cert })).to.deep.equal([]);
    });

    it('several at once are named in one line', async () => {
      const bob = await root.issue({ subject: 'CN=bob,O=Acme' });
      const logger = recorder();
      createClientCertAuth({ ...safe, source: 'xfcc', ca: [alice.cert, bob.cert], logger });
      expect(logger.warnings).to.have.length(1);
      expect(logger.warnings[0]!.message).to.match(
        /^ca\[0\] \(CN=alice,O=Acme\), ca\[1\] \(CN=bob,O=Acme\) are not CA certificates .* chains to them and /,
      );
    });

    it('an intermediate that is not a CA: no path goes through it', async () => {
      const logger = recorder();
      createClientCertAuth({ ...safe, source: 'xfcc', ca: root.cert, intermediates: alice.cert, logger });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['anchor_not_ca']);
      expect(logger.warnings[0]!.message).to.equal(
        'intermediates[0] (CN=alice,O=Acme) is not a CA certificate (basicConstraints cA is not true), so no path goes ' +
          "through it: pass the intermediate CA that issued your clients' certificates (`clientcert inspect <a client's " +
          'certificate>` shows its Issuer)',
      );
    });

    it('a subject with a control character stays on one line', async () => {
      const odd = await root.issue({ subject: [{ CN: ['line\nbreak'] }] });
      const logger = recorder();
      createClientCertAuth({ ...safe, source: 'xfcc', ca: odd.cert, logger });
      expect(logger.warnings[0]!.message).to.include('ca[0] (CN=line\\\\0abreak)').and.not.include('\n');
    });

    it('switched off alone', () => {
      expect(warningsOf({ ...safe, source: 'xfcc', ca: alice.cert, warnings: { anchor_not_ca: false } })).to.deep.equal(
        [],
      );
    });
  });

  describe('warnings that existed before, now coded', () => {
    it('forwarded_untrusted: a header source with nothing to trust it by', () => {
      expect(warningsOf({ source: 'xfcc' })).to.deep.equal(['forwarded_untrusted']);
      expect(warningsOf({ source: 'xfcc', warnings: { forwarded_untrusted: false } })).to.deep.equal([]);
    });

    it('untrusted_peer_header: a header from a peer outside trustProxy', () => {
      const logger = recorder();
      const auth = createClientCertAuth({ ...safe, ca: root.cert, logger });
      auth.authenticate({
        socket: { remoteAddress: '203.0.113.9', encrypted: false } as unknown as Socket,
        headers: { 'x-forwarded-client-cert': 'x' },
      });
      expect(logger.warnings.map((w) => w.code)).to.deep.equal(['untrusted_peer_header', 'request_rejected']);
    });
  });

  describe('the warnings option', () => {
    it('false silences every warning but keeps the start-up report', () => {
      const logger = recorder();
      createClientCertAuth({ logger, mode: 'accept', trustProxy: true, warnings: false });
      expect(logger.warnings).to.deep.equal([]);
      expect(logger.infos).to.have.length(1);
    });

    it('switching one code off leaves the others on', () => {
      expect(
        warningsOf({ mode: 'accept', source: 'xfcc', trustProxy: true, warnings: { accept_mode: false } }),
      ).to.deep.equal(['trust_proxy_everywhere', 'forwarded_untrusted']);
    });

    for (const [warnings, option] of [
      [{ no_such_warning: false }, 'warnings.no_such_warning'],
      [{ accept_mode: 'off' }, 'warnings.accept_mode'],
      ['off', 'warnings'],
      [['accept_mode'], 'warnings'],
    ] as const) {
      it(`rejects warnings: ${JSON.stringify(warnings)} at construction, naming "${option}"`, () => {
        const error = constructionError({ warnings: warnings as unknown as ClientCertOptions['warnings'] });
        expect(error.code).to.equal('invalid_option');
        expect(error.message).to.include(`"${option}"`);
      });
    }

    it('rejects a logger without info and warn', () => {
      const error = constructionError({ logger: { warn: () => {} } as unknown as Logger });
      expect(error.code).to.equal('invalid_option');
      expect(error.message).to.include('"logger"');
    });
  });
});
