import type { Socket } from 'node:net';
import { expect } from 'chai';
import { type AuthResult, type ClientCertOptions, createClientCertAuth } from '../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';

/** The core takes plain data: a peer address and the headers are all a forwarded header needs. */
function fromProxy(xfcc: string): { socket: Socket; headers: Record<string, string> } {
  return {
    socket: { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket,
    headers: { 'x-forwarded-client-cert': xfcc },
  };
}

async function run(options: ClientCertOptions, xfcc: string): Promise<AuthResult> {
  return createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ...options }).authenticate(fromProxy(xfcc));
}

describe('pipeline', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let bob: TestCertificate;
  let stranger: TestCertificate;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    bob = await root.issue({ subject: 'CN=bob,O=Acme' });
    stranger = await (await createCA()).issue({ subject: 'CN=stranger' });
  });

  describe('the failing check is named on the error (for logs and hooks), never in the problem body', () => {
    const cases: Array<[string, (o: { root: TestCA }) => ClientCertOptions, () => string, string, string]> = [
      ['no certificate', () => ({}), () => 'By=spiffe://proxy', 'client_certificate_required', 'presence'],
      ['no trust configured', () => ({}), () => envoyXfcc(alice), 'client_certificate_untrusted', 'trust'],
      [
        'unknown issuer',
        (o) => ({ ca: o.root.cert }),
        () => envoyXfcc(stranger),
        'client_certificate_untrusted',
        'chain.untrusted',
      ],
      [
        'Hash does not match',
        (o) => ({ ca: o.root.cert }),
        () => envoyXfcc(alice).replace(alice.sha256, bob.sha256),
        'client_certificate_malformed',
        'xfcc',
      ],
      [
        'no pin matches',
        () => ({ pins: `sha256:${bob.sha256}` }),
        () => envoyXfcc(alice),
        'client_certificate_untrusted',
        'pins',
      ],
      [
        'no identity matches',
        (o) => ({ ca: o.root.cert, rules: { identities: [{ name: 'bob', commonName: 'bob' }] } }),
        () => envoyXfcc(alice),
        'client_certificate_rejected',
        'rules.identities',
      ],
    ];
    for (const [name, options, header, code, check] of cases) {
      it(name, async () => {
        const result = await run(options({ root }), header());
        expect(result.ok).to.equal(false);
        if (result.ok) return;
        expect(result.error.code).to.equal(code);
        expect(result.error.check).to.equal(check);
        expect(Object.keys(result.problem).sort()).to.deep.equal([
          'code',
          'detail',
          'instance',
          'status',
          'title',
          'type',
        ]);
      });
    }
  });

  describe('a request without a socket (the core glued to a Web Request): a result, never a TypeError', () => {
    const XFCC = 'x-forwarded-client-cert';
    const code = (result: AuthResult | Promise<AuthResult>): string => {
      if (result instanceof Promise) throw new Error('decided synchronously here');
      return result.ok ? (result.certificate?.subject.rfc4514 ?? 'null') : result.error.code;
    };

    it('no socket and no header: required (accept mode: null), over every source', () => {
      for (const source of ['auto', 'tls', 'xfcc', ['xfcc', 'tls'], 'rfc9440'] as const) {
        expect(
          code(
            createClientCertAuth({
              logger: false,
              ca: root.cert,
              source: source as ClientCertOptions['source'],
            }).authenticate({ headers: {} }),
          ),
          String(source),
        ).to.equal('client_certificate_required');
        expect(
          code(
            createClientCertAuth({
              logger: false,
              ca: root.cert,
              mode: 'accept',
              source: source as ClientCertOptions['source'],
            }).authenticate({ headers: {} }),
          ),
        ).to.equal('null');
      }
    });

    it('a forwarded header is read only from an address the caller gives and trustProxy names', () => {
      const warns: string[] = [];
      const auth = createClientCertAuth({
        logger: { info: () => undefined, warn: (m) => void warns.push(m) },
        ca: root.cert,
      });
      const headers = { [XFCC]: envoyXfcc(alice) };
      expect(code(auth.authenticate({ headers }))).to.equal('client_certificate_required'); // no address: nobody vouches
      expect(code(auth.authenticate({ headers, remoteAddress: '192.0.2.7' }))).to.equal('client_certificate_required');
      expect(code(auth.authenticate({ headers, remoteAddress: 'not an address' }))).to.equal(
        'client_certificate_required',
      );
      expect(code(auth.authenticate({ headers, remoteAddress: '' }))).to.equal('client_certificate_required');
      expect(code(auth.authenticate({ headers, remoteAddress: '127.0.0.1' }))).to.equal('CN=alice,O=Acme'); // the default: loopback
      const ignored = warns.filter((line) => line.includes('untrusted_peer_header'));
      expect(ignored).to.have.length(1);
      expect(ignored[0])
        .to.include('untrusted_peer_header')
        .and.include('no remoteAddress')
        .and.not.include(alice.sha256);
    });

    it("a socket's own address wins over a remoteAddress beside it", () => {
      const auth = createClientCertAuth({ logger: false, ca: root.cert, trustProxy: '127.0.0.1' });
      const stranger = { remoteAddress: '127.0.0.2', encrypted: false } as unknown as Socket;
      const result = auth.authenticate({
        socket: stranger,
        remoteAddress: '127.0.0.1',
        headers: { [XFCC]: envoyXfcc(alice) },
      });
      expect(code(result)).to.equal('client_certificate_required');
    });

    it('nothing is kept per connection: each request is decided on its own address and headers', () => {
      const seen: string[] = [];
      const auth = createClientCertAuth({
        logger: false,
        ca: root.cert,
        trustProxy: (address) => {
          seen.push(address);
          return address === '127.0.0.1';
        },
      });
      const answers = [
        auth.authenticate({ headers: { [XFCC]: envoyXfcc(alice) }, remoteAddress: '127.0.0.1' }),
        auth.authenticate({ headers: { [XFCC]: envoyXfcc(bob) }, remoteAddress: '127.0.0.1' }),
        auth.authenticate({ headers: { [XFCC]: envoyXfcc(alice) }, remoteAddress: '127.0.0.9' }),
      ].map(code);
      expect(answers).to.deep.equal(['CN=alice,O=Acme', 'CN=bob,O=Acme', 'client_certificate_required']);
      expect(seen).to.deep.equal(['127.0.0.1', '127.0.0.1', '127.0.0.9']);
    });

    it('observed (onDecision): the hop is the address the caller gave', () => {
      const hops: Array<string | null> = [];
      const auth = createClientCertAuth({
        logger: false,
        ca: root.cert,
        onDecision: (event) => void hops.push(event.hop),
      });
      expect(code(auth.authenticate({ headers: { [XFCC]: envoyXfcc(alice) }, remoteAddress: '::1' }))).to.equal(
        'CN=alice,O=Acme',
      );
      expect(hops).to.deep.equal(['::1']);
    });

    it('not a request at all (no headers object): a refusal, not a crash', () => {
      const auth = createClientCertAuth({ logger: false, ca: root.cert });
      for (const bad of [undefined, null, {}, { headers: null }, { headers: 'x' }, 42]) {
        expect(code(auth.authenticate(bad as never)), JSON.stringify(bad)).to.equal('client_certificate_required');
      }
    });
  });

  describe('decision caches', () => {
    it('one decision per presented chain, shared by header values that carry the same certificate', () => {
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
      const first = auth.authenticate(fromProxy(envoyXfcc(alice, { by: ['spiffe://proxy-a'] }))) as AuthResult;
      const second = auth.authenticate(fromProxy(envoyXfcc(alice, { by: ['spiffe://proxy-b'] }))) as AuthResult;
      const other = auth.authenticate(fromProxy(envoyXfcc(bob, { by: ['spiffe://proxy-a'] }))) as AuthResult;
      expect(first.ok && second.ok && other.ok).to.equal(true);
      if (!first.ok || !second.ok || !other.ok) return;
      expect(second.certificate).to.equal(first.certificate);
      expect(other.certificate).not.to.equal(first.certificate);
      expect(other.certificate?.subject.rfc4514).to.equal('CN=bob,O=Acme');
    });

    it('regression: a refusal for "not yet valid" is not cached past the moment the certificate becomes valid', async () => {
      const soon = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
      const early = await root.issue({
        subject: 'CN=early',
        notBefore: soon,
        notAfter: new Date(soon.getTime() + 86_400_000),
      });
      let now = Date.now();
      const auth = createClientCertAuth({
        logger: false,
        trustProxy: '127.0.0.1',
        ca: root.cert,
        clock: () => new Date(now),
      });
      const before = auth.authenticate(fromProxy(envoyXfcc(early))) as AuthResult;
      expect(before.ok ? 'ok' : before.error.code).to.equal('client_certificate_not_yet_valid');
      now = soon.getTime() + 1000;
      const after = auth.authenticate(fromProxy(envoyXfcc(early))) as AuthResult;
      expect(after.ok ? after.certificate?.subject.rfc4514 : after.error.code).to.equal('CN=early');
    });

    it('the per-connection memo of the last XFCC value never answers for another value', () => {
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      const subjects = [alice, bob, alice, stranger].map((cert) => {
        const result = auth.authenticate({
          socket,
          headers: { 'x-forwarded-client-cert': envoyXfcc(cert) },
        }) as AuthResult;
        return result.ok ? result.certificate?.subject.rfc4514 : result.error.code;
      });
      expect(subjects).to.deep.equal([
        'CN=alice,O=Acme',
        'CN=bob,O=Acme',
        'CN=alice,O=Acme',
        'client_certificate_untrusted',
      ]);
    });

    it('the per-connection memo for other header formats never answers for other values or another verdict', () => {
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', proxy: 'nginx' });
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      const send = (cert: TestCertificate, verdict: string) => {
        const result = auth.authenticate({
          socket,
          headers: { 'ssl-client-cert': encodeURIComponent(cert.cert), 'ssl-client-verify': verdict },
        }) as AuthResult;
        return result.ok ? result.certificate?.subject.rfc4514 : result.error.code;
      };
      expect([
        send(alice, 'SUCCESS'),
        send(alice, 'SUCCESS'),
        send(alice, 'FAILED:expired'),
        send(bob, 'SUCCESS'),
        send(alice, 'SUCCESS'),
      ]).to.deep.equal([
        'CN=alice,O=Acme',
        'CN=alice,O=Acme',
        'client_certificate_untrusted',
        'CN=bob,O=Acme',
        'CN=alice,O=Acme',
      ]);
    });

    it('a header sent as two lines (rawHeaders) is refused even on a connection that sent it once before', () => {
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
      const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
      const value = envoyXfcc(alice);
      const once = auth.authenticate({
        socket,
        headers: { 'x-forwarded-client-cert': value },
        rawHeaders: ['X-Forwarded-Client-Cert', value],
      }) as AuthResult;
      expect(once.ok).to.equal(true);
      const twice = auth.authenticate({
        socket,
        headers: { 'x-forwarded-client-cert': `${value}, ${value}` },
        rawHeaders: ['X-Forwarded-Client-Cert', value, 'x-forwarded-client-cert', value],
      }) as AuthResult;
      expect(twice.ok ? 'ok' : twice.error.code).to.equal('client_certificate_malformed');
    });

    it('an intermediate sent with many leaves is parsed once and shared; different bytes never share it', async () => {
      const issuing = await root.intermediate({ subject: 'CN=Shared Issuing CA' });
      const otherIssuing = await root.intermediate({ subject: 'CN=Shared Issuing CA' }); // same name, other key
      const [one, two, three] = await Promise.all([
        issuing.issue({ subject: 'CN=one' }),
        issuing.issue({ subject: 'CN=two' }),
        otherIssuing.issue({ subject: 'CN=three' }),
      ]);
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
      const chainOf = (cert: TestCertificate) => {
        const result = auth.authenticate(fromProxy(envoyXfcc(cert))) as AuthResult;
        if (!result.ok || !result.certificate)
          throw new Error(`expected success, got ${result.ok ? 'none' : result.error.code}`);
        return result.certificate.chain;
      };
      const [first, second, third] = [chainOf(one), chainOf(two), chainOf(three)];
      expect(first[0]!.x509).to.equal(second[0]!.x509);
      expect(third[0]!.x509).not.to.equal(first[0]!.x509);
      expect(third[0]!.fingerprints.sha256).to.equal(otherIssuing.sha256);
      expect(first[0]!.fingerprints.sha256).to.equal(issuing.sha256);
    });

    it('a cached success is decided again once the clock leaves the validity window', () => {
      let now = Date.now();
      const auth = createClientCertAuth({
        logger: false,
        trustProxy: '127.0.0.1',
        ca: root.cert,
        clock: () => new Date(now),
      });
      const header = envoyXfcc(alice);
      expect((auth.authenticate(fromProxy(header)) as AuthResult).ok).to.equal(true);
      now = alice.notAfter.getTime() + 1000;
      const later = auth.authenticate(fromProxy(header)) as AuthResult;
      expect(later.ok).to.equal(false);
      if (!later.ok) expect(later.error.code).to.equal('client_certificate_expired');
    });
  });
});
