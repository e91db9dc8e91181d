/**
 * The certificate a handler receives is immutable: one request cannot change what another sees
 *. A decided certificate is cached and shared by
 * every request that presents the same chain, and intermediates are shared across chains, so
 * every write a handler could attempt must either throw or stay local to its own copy.
 */

import type { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { expect } from 'chai';
import {
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
} from '../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import {
  isSealedCertificate,
  parseCertificate,
  recordOf,
  sealCertificate,
} from '../../../packages/core/src/x509/certificate.js';
import { request } from '../../helpers/http-client.js';

/** Everything a handler can read, as plain data: two certificates that print alike are alike. */
function snapshot(cert: ClientCertificate): unknown {
  return {
    json: JSON.parse(JSON.stringify(cert)) as unknown,
    cn: cert.subject.get('CN'),
    subjectAttributes: cert.subject.attributes.map((a) => ({ ...a })),
    subjectRdns: cert.subject.rdns.map((rdn) => rdn.map((a) => a.value)),
    issuerRdns: cert.issuer.rdns.length,
    raw: cert.raw.toString('hex'),
    pem: cert.pem,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    x509Subject: cert.x509.subject,
    x509Raw: cert.x509.raw.toString('hex'),
    x509KeyUsage: [...(cert.x509.keyUsage ?? [])],
    x509ValidTo: cert.x509.validTo,
    chain: cert.chain.map((link) => link.raw.toString('hex')),
    chainSources: cert.chain.map((link) => link.source),
  };
}

/** Node 22.10+ only: `validFromDate` / `validToDate`. */
type DatedX509 = X509Certificate & { readonly validToDate?: Date };

describe('core/certificate: immutable certificates', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let alice: TestCertificate;

  before(async () => {
    root = await createCA();
    intermediate = await root.intermediate({ subject: 'CN=Issuing CA' });
    alice = await intermediate.issue({
      subject: 'CN=alice,O=Acme',
      san: { dns: ['alice.example.com'], uri: ['spiffe://example.org/alice'], ip: ['192.0.2.7'] },
    });
  });

  /** What the pipeline hands a handler: leaf and intermediate parsed, sealed with the pipeline's fields. */
  function sealedAlice(): ClientCertificate {
    return sealCertificate(parseCertificate(alice.cert), {
      source: 'xfcc',
      chain: [parseCertificate(intermediate.cert)],
      verifiedBy: 'chain',
      authorization: { pin: null, identity: 'alice' },
    });
  }

  it('sealing a parsed certificate seals it in place and freezes what it carries', () => {
    const parsed = parseCertificate(alice.cert);
    const link = parseCertificate(intermediate.cert);
    const chain = [link];
    const authorization = { pin: 'ops', identity: 'alice' };
    const sealed = sealCertificate(parsed, { source: 'tls', chain, verifiedBy: 'tls', authorization });

    expect(sealed).to.equal(parsed);
    expect(isSealedCertificate(sealed)).to.equal(true);
    expect(isSealedCertificate(parseCertificate(alice.cert))).to.equal(false);
    expect(sealed.source).to.equal('tls');
    expect(sealed.verifiedBy).to.equal('tls');
    expect(sealed.authorization).to.deep.equal({ pin: 'ops', identity: 'alice' });
    expect(Object.isFrozen(sealed.authorization)).to.equal(true);
    expect(sealed.chain).to.deep.equal([link]);
    expect(Object.isFrozen(sealed.chain)).to.equal(true);
    // The intermediate is shared across chains: it is sealed too, with its own (empty) fields.
    expect(sealed.chain[0]).to.equal(link);
    expect(isSealedCertificate(link)).to.equal(true);
    expect(link.source).to.equal(null);
    // The caller's own objects are copied, not frozen under its feet.
    expect(Object.isFrozen(chain)).to.equal(false);
    expect(Object.isFrozen(authorization)).to.equal(false);
    authorization.identity = 'admin';
    expect(sealed.authorization?.identity).to.equal('alice');
  });

  it('attacker: every write a handler can attempt throws TypeError and changes nothing, for this request or the next', () => {
    const cert = sealedAlice();
    const other = sealCertificate(cert, { authorization: { pin: null, identity: 'reader' } });
    const before = snapshot(cert);
    const otherBefore = snapshot(other);
    const fakeName = parseCertificate(root.cert).subject;
    const x509 = cert.x509 as unknown as Record<string, unknown>;
    const anyCert = cert as unknown as Record<string, unknown>;
    const cnAttribute = cert.subject.attributes.find((a) => a.type === 'CN')!;

    const writes: Array<[string, () => unknown]> = [
      [
        'source',
        () => {
          anyCert.source = 'tls';
        },
      ],
      [
        'verifiedBy',
        () => {
          anyCert.verifiedBy = 'pin';
        },
      ],
      [
        'authorization',
        () => {
          anyCert.authorization = { pin: null, identity: 'admin' };
        },
      ],
      [
        'chain',
        () => {
          anyCert.chain = [];
        },
      ],
      [
        'delete source',
        () => {
          delete anyCert.source;
        },
      ],
      [
        'subject (assign)',
        () => {
          anyCert.subject = fakeName;
        },
      ],
      ['subject (define)', () => Object.defineProperty(cert, 'subject', { value: fakeName })],
      [
        'new property',
        () => {
          anyCert.isAdmin = true;
        },
      ],
      [
        'the getter on the prototype',
        () => Object.defineProperty(Object.getPrototypeOf(cert), 'subject', { get: () => fakeName }),
      ],
      [
        'subject.rfc4514',
        () => {
          (cert.subject as { rfc4514: string }).rfc4514 = 'CN=admin';
        },
      ],
      [
        'subject.get',
        () => {
          (cert.subject as { get: unknown }).get = () => 'admin';
        },
      ],
      [
        'Name.prototype.get',
        () => {
          (Object.getPrototypeOf(cert.subject) as { get: unknown }).get = () => 'admin';
        },
      ],
      [
        'an attribute value',
        () => {
          (cnAttribute as { value: string }).value = 'admin';
        },
      ],
      [
        'subject.attributes.push',
        () => (cert.subject.attributes as unknown[]).push({ type: 'CN', oid: '2.5.4.3', value: 'admin' }),
      ],
      ['subject.rdns[0].push', () => (cert.subject.rdns[0] as unknown[]).push(cnAttribute)],
      ['issuer.rdns.pop', () => (cert.issuer.rdns as unknown[]).pop()],
      ['san.dns.push', () => (cert.san.dns as string[]).push('admin.example.com')],
      [
        'san.uri[0]',
        () => {
          (cert.san.uri as string[])[0] = 'spiffe://example.org/admin';
        },
      ],
      [
        'san.dns',
        () => {
          (cert.san as unknown as { dns: string[] }).dns = [];
        },
      ],
      [
        'fingerprints.sha256',
        () => {
          (cert.fingerprints as { sha256: string }).sha256 = '00';
        },
      ],
      ['extKeyUsage.push', () => (cert.extKeyUsage as string[]).push('2.5.29.37.0')],
      ['x509.keyUsage.push', () => cert.x509.keyUsage.push('2.5.29.37.0')],
      ['chain.push', () => (cert.chain as ClientCertificate[]).push(cert)],
      [
        'chain[0].source',
        () => {
          (cert.chain[0] as unknown as Record<string, unknown>).source = 'tls';
        },
      ],
      [
        'authorization.identity',
        () => {
          (cert.authorization as { identity: string }).identity = 'admin';
        },
      ],
      [
        'x509.subject (assign)',
        () => {
          x509.subject = 'CN=admin';
        },
      ],
      ['x509.subject (define)', () => Object.defineProperty(cert.x509, 'subject', { value: 'CN=admin' })],
      ['x509.raw (define)', () => Object.defineProperty(cert.x509, 'raw', { value: Buffer.alloc(1) })],
      [
        'x509 new property',
        () => {
          x509.trusted = true;
        },
      ],
    ];
    for (const [name, write] of writes) {
      expect(write, name).to.throw(TypeError);
      expect(snapshot(cert), name).to.deep.equal(before);
      expect(snapshot(other), name).to.deep.equal(otherBefore);
    }

    // What cannot be frozen is a copy per read: writing it is allowed and stays with the writer.
    const copies: Array<[string, () => unknown]> = [
      ['notAfter.setTime', () => cert.notAfter.setTime(0)],
      ['notBefore.setFullYear', () => cert.notBefore.setFullYear(1970)],
      [
        'raw[0]',
        () => {
          const raw = cert.raw;
          raw[0] = raw[0]! ^ 0xff;
        },
      ],
      ['raw.fill', () => cert.raw.fill(0)],
      ['x509.raw.fill', () => cert.x509.raw.fill(0)],
      ['subject.getAll().push', () => cert.subject.getAll('CN').push('admin')],
      ['x509.validToDate.setTime (Node 22.10+)', () => (cert.x509 as DatedX509).validToDate?.setTime(0)],
    ];
    for (const [name, write] of copies) {
      expect(write, name).not.to.throw();
      expect(snapshot(cert), name).to.deep.equal(before);
      expect(snapshot(other), name).to.deep.equal(otherBefore);
    }
    expect(cert.notAfter.getTime()).to.equal(alice.notAfter.getTime());
    expect(cert.raw.equals(alice.der)).to.equal(true);
    expect(cert.x509.raw.equals(alice.der)).to.equal(true);
    const validToDate = (cert.x509 as DatedX509).validToDate;
    if (validToDate !== undefined) expect(validToDate.getTime()).to.equal(alice.notAfter.getTime());
    // A view made after all that sees the certificate as it was.
    expect(snapshot(sealCertificate(cert, { authorization: { pin: null, identity: 'reader' } }))).to.deep.equal(
      otherBefore,
    );
  });

  it('attacker: bytes written before anything was derived do not reach the fingerprint, PEM or names', () => {
    const cert = sealedAlice();
    cert.raw.fill(0);
    cert.x509.raw.fill(0);
    expect(cert.fingerprints.sha256).to.equal(alice.sha256);
    expect(cert.pem).to.equal(alice.cert);
    expect(cert.subject.rfc4514).to.equal('CN=alice,O=Acme');
    expect(cert.san.dns).to.deep.equal(['alice.example.com']);
    expect(cert.x509.raw.equals(alice.der)).to.equal(true);
  });

  it('a second view with another authorization shares the parsed state: nothing is decoded or hashed twice', () => {
    const cert = sealedAlice();
    const view = sealCertificate(cert, { authorization: { pin: null, identity: 'reader' } });
    expect(view).to.not.equal(cert);
    expect(isSealedCertificate(view)).to.equal(true);
    expect(view.authorization).to.deep.equal({ pin: null, identity: 'reader' });
    expect(cert.authorization).to.deep.equal({ pin: null, identity: 'alice' });
    expect([view.source, view.verifiedBy]).to.deep.equal(['xfcc', 'chain']);
    // Computed first through the view, then read through the original: one frozen result each,
    // so the hash ran once and the names were decoded once.
    const fingerprints = view.fingerprints;
    expect(cert.fingerprints).to.equal(fingerprints);
    expect(cert.subject).to.equal(view.subject);
    expect(cert.issuer).to.equal(view.issuer);
    expect(cert.san).to.equal(view.san);
    expect(cert.extKeyUsage).to.equal(view.extKeyUsage);
    expect(cert.x509).to.equal(view.x509);
    expect(view.chain).to.equal(cert.chain); // the frozen chain is shared, not copied per view
    expect(view.pem).to.equal(cert.pem);
    expect(cert.spiffeId).to.equal('spiffe://example.org/alice');
    // Nothing to change: no new view.
    expect(sealCertificate(view, {})).to.equal(view);
    expect(sealCertificate(view, { source: 'xfcc', chain: view.chain, authorization: view.authorization })).to.equal(
      view,
    );
    // Other fields can be replaced as well; an omitted field keeps the current value.
    const moved = sealCertificate(view, { source: 'rfc9440', verifiedBy: 'proxy', chain: [], authorization: null });
    expect([moved.source, moved.verifiedBy, moved.chain.length, moved.authorization]).to.deep.equal([
      'rfc9440',
      'proxy',
      0,
      null,
    ]);
    expect(moved.fingerprints).to.equal(fingerprints);
  });

  it('toJSON keeps its shape', () => {
    const cert = sealedAlice();
    const json = JSON.parse(JSON.stringify(cert)) as Record<string, unknown>;
    expect(Object.keys(json)).to.deep.equal([
      'subject',
      'issuer',
      'serialNumber',
      'notBefore',
      'notAfter',
      'fingerprints',
      'san',
      'spiffeId',
      'extKeyUsage',
      'isCA',
      'source',
      'verifiedBy',
      'authorization',
      'chain',
    ]);
    expect(json.subject).to.equal('CN=alice,O=Acme');
    expect(json.notAfter).to.equal(alice.notAfter.toISOString());
    expect(json.fingerprints).to.deep.equal({
      sha1: alice.x509.fingerprint.replaceAll(':', '').toLowerCase(),
      sha256: alice.sha256,
    });
    expect(json.san).to.deep.equal({
      dns: ['alice.example.com'],
      uri: ['spiffe://example.org/alice'],
      email: [],
      ip: ['192.0.2.7'],
    });
    expect(json.authorization).to.deep.equal({ pin: null, identity: 'alice' });
    expect((json.chain as Array<{ subject: string }>)[0]!.subject).to.equal('CN=Issuing CA');
  });

  it('only a certificate made by parseCertificate can be sealed', () => {
    const lookalike = { ...parseCertificate(alice.cert) } as ClientCertificate;
    expect(() => sealCertificate(lookalike, {})).to.throw(TypeError, /parseCertificate/);
    expect(() => sealCertificate(sealedAlice(), { chain: [lookalike] })).to.throw(TypeError, /parseCertificate/);
  });

  it('a TLS peer certificate: the issuer certificate Node links to it is locked as well', async () => {
    const server = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'] } });
    const peers: X509Certificate[] = [];
    const tlsServer = tls.createServer(
      { key: server.key, cert: server.cert, ca: root.cert, requestCert: true, rejectUnauthorized: false },
      (socket) => {
        const peer = socket.getPeerX509Certificate();
        if (peer) peers.push(peer);
        socket.end();
      },
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = tlsServer.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: root.cert,
          cert: alice.fullChain,
          key: alice.key,
        });
        socket
          .on('error', reject)
          .on('close', () => resolve())
          .resume();
      });
    } finally {
      tlsServer.close();
    }
    expect(peers).to.have.length(1);
    const cert = sealCertificate(parseCertificate(peers[0]!), { source: 'tls', verifiedBy: 'tls' });
    const issuer = cert.x509.issuerCertificate;
    expect(issuer?.subject).to.equal('CN=Issuing CA');
    expect(Object.isFrozen(issuer)).to.equal(true);
    issuer!.raw.fill(0);
    expect(cert.x509.issuerCertificate!.raw.equals(intermediate.der)).to.equal(true);
    expect(() => Object.defineProperty(issuer, 'subject', { value: 'CN=Root' })).to.throw(TypeError);
    expect(cert.x509.issuerCertificate!.subject).to.equal('CN=Issuing CA');
  });

  describe('through the pipeline, over real HTTP', () => {
    let server: http.Server | undefined;

    afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    /** A server whose handler gets the certificate the pipeline decided, and what the handler saw. */
    async function serve(
      options: ClientCertOptions,
      handler: (cert: ClientCertificate) => void,
      record = true,
    ): Promise<{ url: string; seen: unknown[] }> {
      // One compiled configuration: the second request is served from the first one's cache.
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert, ...options });
      const seen: unknown[] = [];
      server = http.createServer((req, res) => {
        void Promise.resolve(auth.authenticate(req)).then((result) => {
          if (!result.ok || !result.certificate) {
            res.writeHead(403).end();
            return;
          }
          const cert = result.certificate;
          const identity = cert.authorization?.identity ?? '';
          if (record) seen.push(snapshot(cert));
          handler(cert);
          res.end(identity);
        });
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
    }

    /** The writes a careless (or hostile) handler makes; returns the ones that did not throw. */
    function scribble(cert: ClientCertificate): string[] {
      const stuck: string[] = [];
      const attempts: Array<[string, () => void]> = [
        [
          'authorization',
          () => {
            (cert as { authorization: unknown }).authorization = { pin: null, identity: 'admin' };
          },
        ],
        [
          'identity',
          () => {
            (cert.authorization as { identity: string }).identity = 'admin';
          },
        ],
        [
          'san',
          () => {
            (cert.san.dns as string[]).push('admin.example.com');
          },
        ],
        [
          'cn',
          () => {
            (cert.subject.attributes.find((a) => a.type === 'CN') as { value: string }).value = 'admin';
          },
        ],
        [
          'source',
          () => {
            (cert as { source: string }).source = 'tls';
          },
        ],
      ];
      for (const [name, write] of attempts) {
        try {
          write();
          stuck.push(name);
        } catch {
          // refused: the certificate is immutable
        }
      }
      return stuck;
    }

    const header = (): Record<string, string> => ({ 'x-forwarded-client-cert': envoyXfcc(alice) });

    it('attacker: a handler that writes to its certificate does not change what the next request with it sees', async () => {
      const stuck: string[][] = [];
      const { url, seen } = await serve({ rules: { identities: [{ name: 'alice', commonName: 'alice' }] } }, (cert) =>
        stuck.push(scribble(cert)),
      );
      const first = await request({ url, headers: header() });
      const second = await request({ url, headers: header() });
      expect([first.status, first.text, second.status, second.text]).to.deep.equal([200, 'alice', 200, 'alice']);
      expect(stuck).to.deep.equal([[], []]);
      expect(seen[1]).to.deep.equal(seen[0]);
    });

    it('a decided certificate holds no X509Certificate until a handler reads .x509, which is then locked and shared', async () => {
      const before: boolean[] = [];
      const objects: X509Certificate[] = [];
      const chains: boolean[] = [];
      const { url } = await serve(
        {
          rules: {
            identities: [{ name: 'alice', commonName: 'alice' }],
            // The verified path is there for a predicate, yet reading its length makes no object.
            predicate: (_cert, context) => {
              chains.push(context.chain.length === 3);
              return true;
            },
          },
        },
        (cert) => {
          before.push(recordOf(cert).hasX509 || recordOf(cert.chain[0]!).hasX509);
          objects.push(cert.x509);
        },
        false,
      );
      const first = await request({ url, headers: header() });
      const second = await request({ url, headers: header() });
      expect([first.status, second.status]).to.deep.equal([200, 200]);
      expect(chains).to.deep.equal([true, true]);
      // Nothing made by the decision; the first read made it, the second request got the same one.
      expect(before).to.deep.equal([false, true]);
      expect(objects[1]).to.equal(objects[0]);
      const x509 = objects[0]!;
      expect(Object.isFrozen(x509)).to.equal(true);
      expect(() => Object.defineProperty(x509, 'subject', { value: 'CN=admin' })).to.throw(TypeError);
      x509.raw.fill(0);
      expect(x509.raw.equals(alice.der)).to.equal(true);
      expect(x509.subject).to.equal(alice.x509.subject);
    });

    it('attacker: with a predicate (rules run per request) the shared certificate is never written either', async () => {
      const stuck: string[][] = [];
      const sealed: boolean[] = [];
      const { url, seen } = await serve(
        {
          rules: {
            identities: [{ name: 'alice', commonName: 'alice' }],
            predicate: (cert) => {
              stuck.push(scribble(cert));
              return true;
            },
          },
        },
        (cert) => {
          sealed.push(isSealedCertificate(cert));
          stuck.push(scribble(cert));
        },
      );
      const first = await request({ url, headers: header() });
      const second = await request({ url, headers: header() });
      expect([first.status, first.text, second.status, second.text]).to.deep.equal([200, 'alice', 200, 'alice']);
      expect(sealed).to.deep.equal([true, true]);
      expect(stuck).to.deep.equal([[], [], [], []]);
      expect(seen[1]).to.deep.equal(seen[0]);
    });
  });
});
