import type { Socket } from 'node:net';
import { expect } from 'chai';
import { type ClientCertOptions, createClientCertAuth } from '../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';

/** A request from `address` (a new connection each time) with these headers. */
function from(address: string, headers: Record<string, string> = {}) {
  return { socket: { remoteAddress: address, encrypted: false } as unknown as Socket, headers };
}

/** The middleware's warn lines, as a user sees them in the log. */
function logged(options: ClientCertOptions): { auth: ReturnType<typeof createClientCertAuth>; lines: string[] } {
  const lines: string[] = [];
  const auth = createClientCertAuth({
    logger: { info: () => undefined, warn: (line) => void lines.push(line) },
    trustProxy: '127.0.0.1',
    ...options,
  });
  return { auth, lines };
}

describe('pipeline/rejections: a rejected request leaves one log line by default', () => {
  let root: TestCA;
  let stranger: TestCertificate;
  let other: TestCertificate;
  let alice: TestCertificate;

  before(async () => {
    root = await createCA({ subject: 'CN=Rejections Root' });
    const elsewhere = await createCA({ subject: 'CN=Somebody Else,O=Elsewhere' });
    stranger = await elsewhere.issue({ subject: 'CN=mallory,O=Elsewhere' });
    other = await elsewhere.issue({ subject: 'CN=trudy,O=Elsewhere' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
  });

  it('a refused certificate: code, check, subject, issuer, fingerprint, header and peer; once a minute per certificate', () => {
    const { auth, lines } = logged({ source: 'xfcc', ca: root.cert });
    for (let i = 0; i < 3; i++)
      auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(stranger) }));
    auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(other) }));
    auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(alice) })); // admitted: nothing
    expect(lines).to.have.length(2);
    expect(lines[0]).to.match(
      /^clientcert: rejected a request: client_certificate_untrusted at chain\.untrusted \(.+\); certificate subject "CN=mallory,O=Elsewhere", issuer "CN=Somebody Else,O=Elsewhere", sha256 [0-9a-f]{64}; from x-forwarded-client-cert, peer 127\.0\.0\.1; logged at most once a minute per certificate and reason \(warning request_rejected; see .+#request_rejected\)$/,
    );
    expect(lines[0]).to.include(stranger.sha256);
    expect(lines[1]).to.include('CN=trudy,O=Elsewhere').and.include(other.sha256);
  });

  it('a certificate refused by the rules names the rule', () => {
    const { auth, lines } = logged({ source: 'xfcc', ca: root.cert, rules: { subject: { CN: 'bob' } } });
    auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(alice) }));
    expect(lines).to.have.length(1);
    expect(lines[0])
      .to.include('client_certificate_rejected at rules.subject')
      .and.include('subject "CN=alice,O=Acme"');
  });

  it('a certificate refused by a predicate is logged with its subject, every request decided but logged once', () => {
    const { auth, lines } = logged({ source: 'xfcc', ca: root.cert, rules: { predicate: () => false } });
    for (let i = 0; i < 2; i++) auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(alice) }));
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include('client_certificate_rejected at rules.predicate').and.include(alice.sha256);
  });

  it('nothing presented behind the wrong preset: the line names the header the request carries and the preset that reads it', () => {
    const { auth, lines } = logged({ proxy: 'envoy', ca: root.cert });
    auth.authenticate(
      from('127.0.0.1', { 'ssl-client-cert': encodeURIComponent(alice.cert), 'ssl-client-verify': 'SUCCESS' }),
    );
    expect(lines).to.have.length(1);
    expect(lines[0])
      .to.include('client_certificate_required, no client certificate from x-forwarded-client-cert, peer 127.0.0.1')
      .and.include("ssl-client-cert (read by proxy: 'nginx' or 'ingress-nginx')")
      .and.include('name that proxy in the options')
      .and.not.include('BEGIN'); // never the header's content
  });

  it('from a peer outside trustProxy, no hint: its headers are not evidence of anything', () => {
    const { auth, lines } = logged({ proxy: 'envoy', ca: root.cert });
    auth.authenticate(from('192.0.2.9', { 'ssl-client-cert': 'x' }));
    const rejection = lines.filter((line) => line.includes('request_rejected'));
    expect(rejection).to.have.length(1);
    expect(rejection[0]).to.include('peer 192.0.2.9').and.not.include('ssl-client-cert');
  });

  it('at most 10 lines a minute in all, whatever the number of peers', () => {
    const { auth, lines } = logged({ source: 'xfcc', ca: root.cert });
    for (let i = 1; i <= 25; i++) auth.authenticate(from(`198.51.100.${i}`));
    expect(lines.filter((line) => line.includes('request_rejected'))).to.have.length(10);
  });

  it('switched off with warnings: { request_rejected: false }, and by logger: false', () => {
    const { auth, lines } = logged({ source: 'xfcc', ca: root.cert, warnings: { request_rejected: false } });
    auth.authenticate(from('127.0.0.1', { 'x-forwarded-client-cert': envoyXfcc(stranger) }));
    auth.authenticate(from('127.0.0.1'));
    expect(lines).to.deep.equal([]);
    const silent = createClientCertAuth({ logger: false, source: 'xfcc', ca: root.cert });
    expect((silent.authenticate(from('127.0.0.1')) as { ok: boolean }).ok).to.equal(false);
  });

  it("source: 'tls' on a plain-HTTP connection says so once, with the fix", () => {
    const { auth, lines } = logged({ source: 'tls', ca: root.cert, warnings: { request_rejected: false } });
    for (let i = 0; i < 3; i++) auth.authenticate(from('10.0.0.7'));
    expect(lines).to.have.length(1);
    expect(lines[0])
      .to.include(
        "source 'tls' reads the client certificate of a TLS connection, but a request came over plain HTTP (from 10.0.0.7)",
      )
      .and.include('requestCert: true')
      .and.include('name it with proxy')
      .and.include('tls_source_plain_http');
  });
});
