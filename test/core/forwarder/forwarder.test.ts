import { execFileSync } from 'node:child_process';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { rfc2253Subject } from '../../../packages/core/src/forwarder/forwarder.js';
import {
  createClientCertAuth,
  createXfccForwarder,
  parseXfcc,
  type XfccDetail,
  type XfccForwardMode,
  xfccHashMatches,
} from '../../../packages/core/src/index.js';
import {
  createCA,
  createSelfSigned,
  envoyXfcc,
  type JsonName,
  type TestCA,
  type TestCertificate,
} from '../../../packages/core/src/testkit/index.js';
import { expectClientCertError } from '../../helpers/errors.js';
import { request } from '../../helpers/http-client.js';

const XFCC = 'x-forwarded-client-cert';
/** A value a client might send itself (Envoy's own integration test uses it as the "previous" hop). */
const SENT = 'By=spiffe://lyft.com/frontend;Hash=123456;URI=spiffe://lyft.com/testclient';
const GATEWAY_URIS = ['spiffe://gateway.test/ns/edge/sa/front', 'spiffe://gateway.test/ns/edge/sa/any'];

type Probe = (req: IncomingMessage) => unknown;

function listen(server: Server, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      resolve(`${server instanceof https.Server ? 'https' : 'http'}://127.0.0.1:${port}`);
    }),
  );
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Servers whose handler runs the current probe on the real request and answers its result as JSON. */
function probeHandler(current: () => Probe) {
  return (req: IncomingMessage, res: http.ServerResponse): void => {
    let body: string;
    try {
      body = JSON.stringify(current()(req) ?? null);
    } catch (error) {
      res.writeHead(500).end(String(error));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  };
}

/** The DER of a subjectAltName extension value with one GeneralName of this context tag and bytes. */
function sanExtension(tag: number, bytes: Buffer): { oid: string; value: Uint8Array } {
  const name = Buffer.concat([Buffer.from([tag, bytes.length]), bytes]);
  return { oid: '2.5.29.17', value: Buffer.concat([Buffer.from([0x30, name.length]), name]) };
}

const DETAIL_NAMES: readonly XfccDetail[] = ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];

/** Detail set number `set` (0-31): bit i selects DETAIL_NAMES[i]. */
function detailSet(set: number): XfccDetail[] {
  return DETAIL_NAMES.filter((_, bit) => (set & (1 << bit)) !== 0);
}

/** A socket as readPeer sees it, for cases a real handshake cannot produce. */
/** A socket whose `getPeerX509Certificate()` returns `peer()`: an object with the DER as `raw` and no issuer. */
function fakeTlsSocket(peer: () => { raw: Buffer } | undefined, extra: Record<string, unknown> = {}): Socket {
  return {
    encrypted: true,
    authorized: false,
    authorizationError: null,
    getPeerX509Certificate: peer,
    ...extra,
  } as unknown as Socket;
}

describe('XFCC forwarder (createXfccForwarder)', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let otherCA: TestCA;
  let serverCert: TestCertificate;
  let alice: TestCertificate; // root-issued, URI + DNS SANs
  let bob: TestCertificate; // issued by an intermediate, presents leaf + intermediate
  let carol: TestCertificate; // no SAN at all: bare `URI=`
  let dave: TestCertificate; // DN that needs RFC 2253 escaping, several URIs and DNS names
  let selfSigned: TestCertificate;
  let mallory: TestCertificate; // from a CA the server does not trust

  let probe: Probe = () => null;
  let tlsServer: https.Server;
  let plainServer: http.Server;
  let tlsUrl: string;
  let plainUrl: string;

  before(async () => {
    root = await createCA({ subject: 'CN=forwarder test root' });
    intermediate = await root.intermediate({ subject: 'CN=forwarder test intermediate' });
    otherCA = await createCA({ subject: 'CN=somebody else' });
    serverCert = await root.issue({
      subject: 'CN=localhost',
      eku: ['serverAuth'],
      san: { dns: ['localhost'], ip: ['127.0.0.1'], uri: GATEWAY_URIS },
    });
    alice = await root.issue({
      subject: 'CN=alice,OU=payments,O=clientcert test',
      san: { uri: ['spiffe://example.test/ns/pay/sa/alice'], dns: ['alice.example.test'] },
    });
    bob = await intermediate.issue({
      subject: 'CN=bob,O=clientcert test',
      san: { uri: ['spiffe://example.test/ns/web/sa/bob'] },
    });
    carol = await root.issue({ subject: 'CN=carol' });
    const daveName: JsonName = [
      { C: ['US'] },
      { O: [{ utf8String: 'Acme "Labs"; Inc.' }] },
      { OU: [{ utf8String: 'R+D <east>' }] },
      { CN: [{ utf8String: 'Doe, John' }] },
      { E: ['dave@example.test'] },
    ];
    dave = await root.issue({
      subject: daveName,
      san: {
        uri: ['spiffe://example.test/a', 'https://example.test/dave?x=1'],
        dns: ['dave.example.test', 'www.dave.example.test'],
      },
    });
    selfSigned = await createSelfSigned({ subject: 'CN=self', san: { uri: ['urn:self'] } });
    mallory = await otherCA.issue({ subject: 'CN=mallory' });

    const tlsOptions = {
      key: serverCert.key,
      cert: serverCert.cert,
      ca: root.cert,
      requestCert: true,
      rejectUnauthorized: false,
    };
    tlsServer = https.createServer(
      tlsOptions,
      probeHandler(() => probe),
    );
    plainServer = http.createServer(probeHandler(() => probe));
    tlsUrl = await listen(tlsServer);
    plainUrl = await listen(plainServer);
  });

  after(async () => {
    await Promise.all([close(tlsServer), close(plainServer)]);
  });

  /** One request; the probe's result on the server side. */
  async function run<T>(
    fn: (req: IncomingMessage) => T,
    via: {
      tls?: boolean;
      client?: TestCertificate;
      chain?: boolean;
      headers?: OutgoingHttpHeaders;
    } = {},
  ): Promise<T> {
    probe = fn;
    const tls = via.tls ?? true;
    const answer = await request({
      url: tls ? tlsUrl : plainUrl,
      headers: via.headers ?? {},
      ...(tls ? { ca: root.cert } : {}),
      ...(tls && via.client
        ? { cert: via.chain === false ? via.client.cert : via.client.fullChain, key: via.client.key }
        : {}),
    });
    expect(answer.status, answer.text).to.equal(200);
    return JSON.parse(answer.text) as T;
  }

  describe("Envoy's mode table, over real connections", () => {
    type Transport = 'plain HTTP' | 'TLS without a client certificate' | 'mTLS';
    type Outcome = 'absent' | 'unchanged' | 'appended' | 'replaced';
    // headers.rst / mutateXfccRequestHeader, written out rather than computed.
    const TABLE: Record<XfccForwardMode, Record<Transport, Outcome>> = {
      SANITIZE: { 'plain HTTP': 'absent', 'TLS without a client certificate': 'absent', mTLS: 'absent' },
      FORWARD_ONLY: { 'plain HTTP': 'absent', 'TLS without a client certificate': 'absent', mTLS: 'unchanged' },
      APPEND_FORWARD: { 'plain HTTP': 'absent', 'TLS without a client certificate': 'absent', mTLS: 'appended' },
      SANITIZE_SET: { 'plain HTTP': 'absent', 'TLS without a client certificate': 'absent', mTLS: 'replaced' },
      ALWAYS_FORWARD_ONLY: {
        'plain HTTP': 'unchanged',
        'TLS without a client certificate': 'unchanged',
        mTLS: 'unchanged',
      },
    };

    for (const [mode, row] of Object.entries(TABLE) as Array<[XfccForwardMode, Record<Transport, Outcome>]>) {
      for (const [transport, outcome] of Object.entries(row) as Array<[Transport, Outcome]>) {
        for (const sent of [true, false]) {
          const title = `${mode}, ${transport}, ${sent ? 'client sent an XFCC header' : 'no XFCC header'}: ${outcome}`;
          it(title, async () => {
            const forwarder = createXfccForwarder({ mode });
            const result = await run(
              (req) => {
                const value = forwarder.headerFor(req.socket, req.headers[XFCC]);
                // apply() on the object a gateway sends on, with a stale copy in another letter case
                const outgoing: OutgoingHttpHeaders = {
                  ...req.headers,
                  'X-Forwarded-Client-Cert': 'stale',
                  host: 'upstream',
                };
                forwarder.apply(req, outgoing);
                const copies = Object.keys(outgoing).filter((key) => key.toLowerCase() === XFCC);
                return {
                  value: value ?? null,
                  applied: outgoing[XFCC] ?? null,
                  copies: copies.length,
                  host: outgoing.host,
                };
              },
              {
                tls: transport !== 'plain HTTP',
                ...(transport === 'mTLS' ? { client: alice } : {}),
                headers: sent ? { [XFCC]: SENT } : {},
              },
            );
            const element = envoyXfcc(alice);
            const expected = {
              absent: null,
              unchanged: sent ? SENT : null,
              appended: sent ? envoyXfcc(alice, { appendTo: SENT }) : element,
              replaced: element,
            }[outcome];
            expect(result.value).to.equal(expected);
            expect(result.applied).to.equal(expected);
            expect(result.copies).to.equal(expected === null ? 0 : 1);
            expect(result.host).to.equal('upstream');
          });
        }
      }
    }

    it('repeated header lines are joined with "," (as Envoy joins them) before forwarding or appending', async () => {
      const always = createXfccForwarder({ mode: 'ALWAYS_FORWARD_ONLY' });
      const append = createXfccForwarder({ mode: 'APPEND_FORWARD' });
      const result = await run(
        (req) => {
          const forwarded: OutgoingHttpHeaders = {};
          const appended: OutgoingHttpHeaders = {};
          always.apply(req, forwarded);
          append.apply(req, appended);
          return { forwarded: forwarded[XFCC], appended: appended[XFCC] };
        },
        { client: alice, headers: { [XFCC]: ['By=a;Hash=1', 'By=b;Hash=2'] } },
      );
      expect(result.forwarded).to.equal('By=a;Hash=1,By=b;Hash=2');
      expect(result.appended).to.equal(envoyXfcc(alice, { appendTo: 'By=a;Hash=1,By=b;Hash=2' }));
    });

    it('APPEND_FORWARD after an empty value writes no leading ","', async () => {
      const forwarder = createXfccForwarder({ mode: 'APPEND_FORWARD' });
      const value = await run((req) => forwarder.headerFor(req.socket, ''), { client: alice });
      expect(value).to.equal(envoyXfcc(alice));
    });
  });

  describe('byte-identical to what Envoy writes (testkit envoyXfcc)', () => {
    const COMBINATIONS: XfccDetail[][] = [
      [],
      ['Cert'],
      ['Chain'],
      ['Subject'],
      ['URI'],
      ['DNS'],
      ['Cert', 'Chain'],
      ['Subject', 'URI', 'DNS'],
      ['Cert', 'Subject', 'DNS'],
      ['Cert', 'Chain', 'Subject', 'URI', 'DNS'],
    ];
    const clients: Array<[string, () => TestCertificate]> = [
      ['alice (URI and DNS SANs)', () => alice],
      ['bob (presents an intermediate: Chain has it, not the root Node adds)', () => bob],
      ['carol (no SAN: a bare URI=)', () => carol],
      ['dave (RFC 2253 escaping, emailAddress, several URIs and DNS names)', () => dave],
      ['a self-signed client (nothing after the leaf)', () => selfSigned],
      ['mallory (from a CA the gateway does not trust)', () => mallory],
    ];

    for (const [label, clientOf] of clients) {
      it(`every detail combination, with and without By: ${label}`, async () => {
        const client = clientOf();
        const forwarders = COMBINATIONS.flatMap((details) => [
          { details, by: [] as string[], forwarder: createXfccForwarder({ details }) },
          { details, by: GATEWAY_URIS, forwarder: createXfccForwarder({ details, by: GATEWAY_URIS }) },
        ]);
        const values = await run(
          (req) => forwarders.map(({ forwarder }) => forwarder.headerFor(req.socket, undefined)),
          { client },
        );
        forwarders.forEach(({ details, by }, i) => {
          expect(values[i], `details ${JSON.stringify(details)}, by ${by.length}`).to.equal(
            envoyXfcc(client, { details, by }),
          );
        });
      });
    }

    it('the default details are all five, in Envoy order whatever order they are given in', async () => {
      const byDefault = createXfccForwarder();
      const reversed = createXfccForwarder({ details: ['DNS', 'URI', 'Subject', 'Chain', 'Cert'] });
      expect(byDefault.details).to.deep.equal(['Cert', 'Chain', 'Subject', 'URI', 'DNS']);
      expect(reversed.details).to.deep.equal(['Cert', 'Chain', 'Subject', 'URI', 'DNS']);
      expect(byDefault.mode).to.equal('SANITIZE_SET');
      const values = await run((req) => [byDefault, reversed].map((f) => f.headerFor(req.socket, SENT)), {
        client: dave,
      });
      expect(values).to.deep.equal([envoyXfcc(dave), envoyXfcc(dave)]);
    });

    it("by: 'auto' writes one By per URI SAN of the gateway's own certificate (serverCert, or the connection's)", async () => {
      const fromOption = createXfccForwarder({ by: 'auto', serverCert: serverCert.fullChain });
      const fromDer = createXfccForwarder({ by: 'auto', serverCert: serverCert.der });
      const fromConnection = createXfccForwarder({ by: 'auto' });
      const values = await run(
        (req) => [fromOption, fromDer, fromConnection].map((f) => f.headerFor(req.socket, undefined)),
        { client: alice },
      );
      const expected = envoyXfcc(alice, { by: GATEWAY_URIS });
      expect(expected.startsWith(`By=${GATEWAY_URIS[0]};By=${GATEWAY_URIS[1]};Hash=`)).to.equal(true);
      expect(values).to.deep.equal([expected, expected, expected]);
    });

    it('a client that sends only its leaf although it has an intermediate: Chain is the leaf alone', async () => {
      // The server's `ca` holds only the root, so Node cannot fill the gap from its store.
      const value = await run((req) => createXfccForwarder().headerFor(req.socket, undefined), {
        client: bob,
        chain: false,
      });
      expect(value).to.equal(envoyXfcc(bob, { presentedChain: [] }));
    });

    it('Subject is what OpenSSL prints with -nameopt RFC2253 (checked against the openssl binary)', async () => {
      const names: JsonName[] = [
        [
          { C: ['US'] },
          { ST: ['California'] },
          { O: ['Lyft'] },
          { OU: ['Lyft Engineering'] },
          { CN: ['Test Frontend Team'] },
          { E: ['frontend-team@lyft.com'] },
        ],
        [{ O: [{ utf8String: 'A+B <x> "q";z' }] }, { CN: [{ utf8String: 'Doe, John' }] }],
        [{ OU: [{ utf8String: 'trailing ' }] }, { O: [{ utf8String: ' leading' }] }, { CN: [{ utf8String: '#hash' }] }],
        [{ CN: [{ utf8String: 'é ü 日本 😀' }] }, { O: [{ bmpString: 'bmp é' }] }, { L: ['#1404636166e9'] }], // T61String as Latin-1
        [{ CN: ['x', 'y'], O: ['z'] }], // a multi-valued RDN
        [{ CN: [{ utf8String: 'back\\slash' }] }, { CN: ['a\u0001b\u007f'] }], // control characters as \XX
        [
          { '2.5.4.4': ['Sur'], '2.5.4.42': ['Giv'] },
          { '2.5.4.5': ['123'] },
          { '2.5.4.9': ['Main St'] },
          { '2.5.4.12': ['t'] },
        ],
        [
          { DC: ['test'] },
          { DC: ['example'] },
          { '0.9.2342.19200300.100.1.1': ['uid'] },
          { '2.5.4.65': ['ps'] },
          { '2.5.4.46': ['dq'] },
        ],
        [{ '1.2.3.4.5': ['private'] }, { '2.5.4.45': ['#030100'] }], // unknown type: OID and #DER; a BIT STRING value: #DER
        [],
      ];
      for (const subject of names) {
        const certificate = await createSelfSigned({ subject });
        const openssl = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], {
          input: certificate.cert,
        })
          .toString('utf8')
          .replace(/^subject=/, '')
          .replace(/\n$/, '');
        expect(rfc2253Subject(certificate.der), JSON.stringify(subject)).to.equal(openssl);
      }
      // Where OpenSSL 3 and BoringSSL (Envoy) differ, Envoy's BoringSSL is followed: a value that is
      // just "#" is first AND last character, and BoringSSL escapes a leading "#" either way.
      const hash = await createSelfSigned({ subject: [{ CN: [{ utf8String: '#' }] }] });
      expect(rfc2253Subject(hash.der)).to.equal('CN=\\#');
      // Types this table does not name are printed as OID=#DER (what BoringSSL does for unknown NIDs).
      const unknown = await createSelfSigned({ subject: [{ '1.3.6.1.4.1.99999.1': ['x'] }] });
      expect(rfc2253Subject(unknown.der)).to.equal('1.3.6.1.4.1.99999.1=#130178');
    });

    it('the Subject of the element is the RFC 2253 subject, even when empty', async () => {
      const empty = await root.issue({ subject: [], san: { dns: ['nameless.example.test'] } });
      const values = await run(
        (req) => createXfccForwarder({ details: ['Subject'] }).headerFor(req.socket, undefined),
        { client: empty },
      );
      expect(values).to.equal(`Hash=${empty.sha256};Subject=""`);
    });
  });

  describe('what the app behind reads back', () => {
    it('round-trips through parseXfcc, and its Hash matches the certificate', async () => {
      for (const client of [alice, bob, carol, dave, selfSigned]) {
        const value = await run((req) => createXfccForwarder({ by: GATEWAY_URIS }).headerFor(req.socket, SENT), {
          client,
        });
        const elements = parseXfcc(value as string);
        expect(elements).to.have.length(1);
        const [element] = elements;
        expect(element!.hash).to.equal(client.sha256);
        expect(xfccHashMatches(element!, client.der)).to.equal(true);
        expect(element!.by).to.deep.equal(GATEWAY_URIS);
        expect(element!.cert).to.equal(client.cert);
        expect(element!.chain).to.deep.equal([client.cert, ...client.chain]);
        // Envoy puts the RFC 2253 text inside quotes unescaped, so XFCC unquoting (Envoy's parser and
        // parseXfcc alike) turns its \" and \\ into " and \ (Envoy's quoting rule).
        expect(element!.subject).to.equal(rfc2253Subject(client.der).replace(/\\(["\\])/g, '$1'));
        expect(element!.uri).to.deep.equal(
          client.x509.subjectAltName
            ?.split(', ')
            .filter((s) => s.startsWith('URI:'))
            .map((s) => s.slice(4)) ?? [],
        );
        expect(element!.dns).to.deep.equal(
          client.x509.subjectAltName
            ?.split(', ')
            .filter((s) => s.startsWith('DNS:'))
            .map((s) => s.slice(4)) ?? [],
        );
      }
    });

    it("APPEND_FORWARD: the new element is the last one, after the client's", async () => {
      const value = await run((req) => createXfccForwarder({ mode: 'APPEND_FORWARD' }).headerFor(req.socket, SENT), {
        client: bob,
      });
      const elements = parseXfcc(value as string);
      expect(elements).to.have.length(2);
      expect(elements[0]!.hash).to.equal('123456');
      expect(elements[1]!.hash).to.equal(bob.sha256);
      expect(xfccHashMatches(elements[1]!, bob.der)).to.equal(true);
    });
  });

  describe('requireVerified', () => {
    it('false (default): a presented but unverified certificate counts, as in Envoy with ACCEPT_UNTRUSTED', async () => {
      const value = await run((req) => createXfccForwarder().headerFor(req.socket, undefined), { client: mallory });
      expect(value).to.equal(envoyXfcc(mallory));
    });

    it('true: only certificates Node verified against the server ca count; others are "no mTLS"', async () => {
      const modes: XfccForwardMode[] = ['FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'];
      const forwarders = modes.map((mode) => createXfccForwarder({ mode, requireVerified: true }));
      const probeAll = (req: IncomingMessage): Array<string | null> =>
        forwarders.map((f) => f.headerFor(req.socket, SENT) ?? null);
      expect(await run(probeAll, { client: mallory })).to.deep.equal([null, null, null, SENT]);
      expect(await run(probeAll, { client: selfSigned })).to.deep.equal([null, null, null, SENT]);
      expect(await run(probeAll, { client: alice })).to.deep.equal([
        SENT,
        envoyXfcc(alice, { appendTo: SENT }),
        envoyXfcc(alice),
        SENT,
      ]);
    });
  });

  describe('weird peer certificates never throw', () => {
    it('a URI SAN that would inject pairs or an element is quoted, and reads back as one URI', async () => {
      const forged = `spiffe://evil.test/x;Hash=${alice.sha256},By=spiffe://gateway.test;URI="a"`;
      const eve = await root.issue({ subject: 'CN=eve', san: { uri: [forged], dns: ['eve.example.test'] } });
      const value = (await run((req) => createXfccForwarder({ by: GATEWAY_URIS }).headerFor(req.socket, undefined), {
        client: eve,
      })) as string;
      expect(value).to.contain(
        `;URI="spiffe://evil.test/x;Hash=${alice.sha256},By=spiffe://gateway.test;URI=\\"a\\"";DNS=eve.example.test`,
      );
      const elements = parseXfcc(value);
      expect(elements).to.have.length(1);
      expect(elements[0]!.hash).to.equal(eve.sha256);
      expect(elements[0]!.uri).to.deep.equal([forged]);
      expect(elements[0]!.by).to.deep.equal(GATEWAY_URIS);
    });

    it('a SAN with a control character: treated as no certificate when URI is forwarded', async () => {
      const crlf = await createSelfSigned({
        subject: 'CN=crlf',
        extensions: [sanExtension(0x86, Buffer.from('urn:a\r\nx-injected: 1'))],
      });
      const results = await run(
        (req) => ({
          set: createXfccForwarder().headerFor(req.socket, SENT) ?? null,
          forward: createXfccForwarder({ mode: 'FORWARD_ONLY' }).headerFor(req.socket, SENT) ?? null,
          always: createXfccForwarder({ mode: 'ALWAYS_FORWARD_ONLY' }).headerFor(req.socket, SENT) ?? null,
          certOnly: createXfccForwarder({ details: ['Cert'] }).headerFor(req.socket, SENT) ?? null,
        }),
        { client: crlf },
      );
      expect(results).to.deep.equal({
        set: null,
        forward: null,
        always: SENT,
        certOnly: envoyXfcc(crlf, { details: ['Cert'] }),
      });
    });

    it('a certificate the TLS stack accepts but the core cannot parse (non-ASCII DNS SAN) is "no certificate"', async () => {
      const odd = await createSelfSigned({
        subject: 'CN=odd',
        extensions: [sanExtension(0x82, Buffer.from([0x63, 0x61, 0x66, 0xe9]))],
      });
      const results = await run(
        (req) =>
          (['FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const).map(
            (mode) => createXfccForwarder({ mode }).headerFor(req.socket, SENT) ?? null,
          ),
        { client: odd },
      );
      expect(results).to.deep.equal([null, null, null, SENT]);
    });

    it('a socket whose peer certificate is garbage, or whose getPeerX509Certificate throws', () => {
      const forwarder = createXfccForwarder({ mode: 'APPEND_FORWARD' });
      const garbage = fakeTlsSocket(() => ({ raw: Buffer.from('not a certificate') }));
      const throwing = fakeTlsSocket(() => {
        throw new Error('boom');
      });
      expect(forwarder.headerFor(garbage, SENT)).to.equal(undefined);
      expect(forwarder.headerFor(throwing, SENT)).to.equal(undefined);
      expect(createXfccForwarder({ mode: 'ALWAYS_FORWARD_ONLY' }).headerFor(throwing, SENT)).to.equal(SENT);
      expect(forwarder.headerFor(null as unknown as Socket, SENT)).to.equal(undefined); // a request whose socket is gone
    });

    it('a plain TCP socket is never mTLS', () => {
      const plain = { encrypted: false } as unknown as Socket;
      expect(createXfccForwarder().headerFor(plain, SENT)).to.equal(undefined);
      expect(createXfccForwarder({ mode: 'FORWARD_ONLY' }).headerFor(plain, SENT)).to.equal(undefined);
      expect(createXfccForwarder({ mode: 'ALWAYS_FORWARD_ONLY' }).headerFor(plain, [SENT])).to.equal(SENT);
      expect(createXfccForwarder({ mode: 'ALWAYS_FORWARD_ONLY' }).headerFor(plain, [])).to.equal(undefined);
    });
  });

  describe('per connection', () => {
    it('the element is computed once per connection (WeakMap keyed by socket)', () => {
      let localReads = 0;
      const socket = fakeTlsSocket(() => ({ raw: alice.der }), {
        getCertificate: () => {
          localReads += 1;
          return { raw: serverCert.der };
        },
      }) as TLSSocket;
      const forwarder = createXfccForwarder({ by: 'auto' });
      const values = [1, 2, 3].map(() => forwarder.headerFor(socket, undefined));
      expect(values).to.deep.equal(Array(3).fill(envoyXfcc(alice, { by: GATEWAY_URIS, presentedChain: [] })));
      expect(localReads).to.equal(1);
      // another forwarder keeps its own cache; another socket is computed afresh
      createXfccForwarder({ by: 'auto' }).headerFor(socket, undefined);
      expect(localReads).to.equal(2);
    });

    it('several requests over one kept-alive TLS connection get the same element', async () => {
      const forwarder = createXfccForwarder({ mode: 'APPEND_FORWARD' });
      const sockets = new Set<unknown>();
      probe = (req) => {
        sockets.add(req.socket);
        return forwarder.headerFor(req.socket, req.headers[XFCC]) ?? null;
      };
      const agent = new https.Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: root.cert,
        cert: alice.cert,
        key: alice.key,
      });
      const { port } = tlsServer.address() as AddressInfo;
      try {
        const values: unknown[] = [];
        for (const sent of [undefined, SENT, undefined]) {
          values.push(
            await new Promise((resolve, reject) => {
              https
                .get(
                  { host: '127.0.0.1', port, servername: 'localhost', agent, headers: sent ? { [XFCC]: sent } : {} },
                  (res) => {
                    let body = '';
                    res
                      .setEncoding('utf8')
                      .on('data', (chunk: string) => (body += chunk))
                      .on('end', () => resolve(JSON.parse(body)));
                  },
                )
                .on('error', reject);
            }),
          );
        }
        expect(sockets.size).to.equal(1);
        expect(values).to.deep.equal([envoyXfcc(alice), envoyXfcc(alice, { appendTo: SENT }), envoyXfcc(alice)]);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('options are validated once, naming the option', () => {
    const bad: Array<[string, unknown]> = [
      ['mode', { mode: 'sanitize_set' }],
      ['details', { details: ['cert'] }],
      ['details', { details: 'Cert' }],
      ['details', { details: ['Cert', 'Cert'] }],
      ['by', { by: 'spiffe://gateway.test' }],
      ['by', { by: [''] }],
      ['by', { by: ['spiffe://a b'] }],
      ['by', { by: ['spiffe://a\r\nx: y'] }],
      ['serverCert', { serverCert: 'not a certificate', by: 'auto' }],
      ['serverCert', { serverCert: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', by: 'auto' }],
      ['serverCert', { by: ['spiffe://a'], serverCert: 'x' }],
      ['header', { header: 'x forwarded' }],
      ['header', { header: '' }],
      ['requireVerified', { requireVerified: 'yes' }],
      ['detail', { detail: ['Cert'] }],
      ['options', null],
    ];
    for (const [option, options] of bad) {
      it(`${option}: ${JSON.stringify(options)}`, () => {
        expectClientCertError(() => createXfccForwarder(options as never), 'invalid_option');
        try {
          createXfccForwarder(options as never);
        } catch (error) {
          expect((error as Error).message).to.contain(`"${option}"`);
        }
      });
    }

    it('a custom header name: read and written case-insensitively, written lower-case', async () => {
      const forwarder = createXfccForwarder({ header: 'X-Client-Cert' });
      expect(forwarder.header).to.equal('x-client-cert');
      const result = await run(
        (req) => {
          const outgoing: OutgoingHttpHeaders = { ...req.headers, 'X-Client-Cert': 'stale', [XFCC]: 'untouched' };
          forwarder.apply(req, outgoing);
          return outgoing;
        },
        { client: carol, headers: { 'x-client-cert': 'forged' } },
      );
      expect(result['x-client-cert']).to.equal(envoyXfcc(carol));
      expect(result['X-Client-Cert']).to.equal(undefined);
      expect(result[XFCC]).to.equal('untouched');
    });
  });

  describe('a Node reverse proxy using apply() in front of an app using createClientCertAuth', () => {
    let app: http.Server;
    let gateway: https.Server;
    let gatewayUrl: string;
    let appUrl: string;

    before(async () => {
      const auth = createClientCertAuth({ ca: root.cert, trustProxy: '127.0.0.1', logger: false });
      app = http.createServer(async (req, res) => {
        const result = await auth.authenticate(req);
        const body = result.ok
          ? {
              ok: true,
              sha256: result.certificate?.fingerprints.sha256 ?? null,
              pem: result.certificate?.pem ?? null,
              source: result.certificate?.source ?? null,
              chain: result.certificate?.chain.length ?? 0,
            }
          : { ok: false, code: result.error.code };
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      });
      appUrl = await listen(app);
      const upstreamPort = Number(new URL(appUrl).port);
      const forwarder = createXfccForwarder({ mode: 'SANITIZE_SET', by: 'auto', serverCert: serverCert.cert });
      // `/details/<set>`: a forwarder writing that detail set (bit i: DETAIL_NAMES[i]).
      const bySet = Array.from({ length: 32 }, (_, set) =>
        createXfccForwarder({ details: detailSet(set), by: 'auto', serverCert: serverCert.cert }),
      );
      gateway = https.createServer(
        { key: serverCert.key, cert: serverCert.cert, ca: root.cert, requestCert: true, rejectUnauthorized: false },
        (req, res) => {
          const headers: OutgoingHttpHeaders = { ...req.headers };
          const set = /^\/details\/(\d+)$/.exec(req.url ?? '')?.[1];
          (set === undefined ? forwarder : bySet[Number(set)]!).apply(req, headers);
          const upstream = http.request(
            {
              host: '127.0.0.1',
              port: upstreamPort,
              localAddress: '127.0.0.1',
              method: req.method,
              path: req.url,
              headers,
              agent: false,
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
            },
          );
          upstream.on('error', () => res.writeHead(502).end());
          req.pipe(upstream);
        },
      );
      gatewayUrl = await listen(gateway);
    });

    after(async () => {
      await Promise.all([close(gateway), close(app)]);
    });

    async function through(
      client?: TestCertificate,
      headers: OutgoingHttpHeaders = {},
      path = '/',
    ): Promise<Record<string, unknown>> {
      const answer = await request({
        url: gatewayUrl,
        path,
        ca: root.cert,
        headers,
        ...(client ? { cert: client.fullChain, key: client.key } : {}),
      });
      expect(answer.status, answer.text).to.equal(200);
      return JSON.parse(answer.text) as Record<string, unknown>;
    }

    const forgedFor = (who: TestCertificate): string => envoyXfcc(who);

    it('the app sees exactly the certificate the client presented', async () => {
      expect(await through(alice)).to.deep.equal({
        ok: true,
        sha256: alice.sha256,
        pem: alice.cert,
        source: 'xfcc',
        chain: 0,
      });
    });

    it('a client with an intermediate is verified by the app from the forwarded Chain', async () => {
      expect(await through(bob)).to.deep.equal({
        ok: true,
        sha256: bob.sha256,
        pem: bob.cert,
        source: 'xfcc',
        chain: 1,
      });
    });

    it('every detail set round-trips: the leaf from Cert, else from the first of Chain; neither is no certificate', async () => {
      const seen: Record<string, unknown> = {};
      const expected: Record<string, unknown> = {};
      for (let set = 0; set < 32; set++) {
        const details = detailSet(set);
        for (const client of [alice, bob]) {
          const label = `${client === alice ? 'alice' : 'bob'} ${details.join('+') || 'none'}`;
          seen[label] = await through(client, {}, `/details/${set}`);
          const leaf = details.includes('Cert') || details.includes('Chain');
          // bob's intermediate comes only with Chain: from Cert alone the app (ca: the root) finds no path.
          expected[label] = !leaf
            ? { ok: false, code: 'client_certificate_required' }
            : client === bob && !details.includes('Chain')
              ? { ok: false, code: 'client_certificate_untrusted' }
              : { ok: true, sha256: client.sha256, pem: client.cert, source: 'xfcc', chain: client === bob ? 1 : 0 };
        }
      }
      expect(seen).to.deep.equal(expected);
    });

    it('no certificate plus a forged XFCC: the header is stripped, the app sees nobody', async () => {
      expect(await through(undefined, { [XFCC]: forgedFor(alice) })).to.deep.equal({
        ok: false,
        code: 'client_certificate_required',
      });
    });

    it('an untrusted certificate plus a forged XFCC for alice: the app sees the untrusted one, never alice', async () => {
      expect(await through(mallory, { [XFCC]: forgedFor(alice) })).to.deep.equal({
        ok: false,
        code: 'client_certificate_untrusted',
      });
    });

    it("alice's certificate plus forged XFCC lines for bob (two lines, mixed case): the app sees alice", async () => {
      const answer = await request({
        url: gatewayUrl,
        ca: root.cert,
        cert: alice.fullChain,
        key: alice.key,
        headers: { [XFCC]: [forgedFor(bob), `Hash=${bob.sha256}`], 'X-Forwarded-Client-Cert': forgedFor(bob) },
      });
      expect(JSON.parse(answer.text)).to.deep.equal({
        ok: true,
        sha256: alice.sha256,
        pem: alice.cert,
        source: 'xfcc',
        chain: 0,
      });
    });

    it('the same forged header straight to the app from an untrusted address is ignored', async () => {
      const answer = await request({ url: appUrl, localAddress: '127.0.0.2', headers: { [XFCC]: forgedFor(alice) } });
      expect(JSON.parse(answer.text)).to.deep.equal({ ok: false, code: 'client_certificate_required' });
    });
  });
});
