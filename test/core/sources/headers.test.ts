import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { expect } from 'chai';
import { ClientCertError } from '../../../packages/core/src/errors.js';
import {
  type CompiledHeaderSource,
  compileHeaderSource,
  DEFAULT_HEADER_SOURCE_LIMITS,
  FORWARDED_HEADER_CHECK,
  FORWARDED_HEADER_ERROR_CODE,
  type ForwardedCertificate,
  forwardedHeaderError,
  HEADER_SOURCE_NAMES,
  type HeaderSourceOptions,
  isForwardedHeaderError,
  PROXY_DESCRIPTION_CHECK,
  parseTraefikInfo,
  readHeaderSource,
  readProxyVerdict,
  readTraefikInfo,
  type TraefikCertInfo,
} from '../../../packages/core/src/sources/headers.js';
import { descriptionMismatch } from '../../../packages/core/src/sources/proxy-description.js';
import { createCA, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { parseCertificate } from '../../../packages/core/src/x509/certificate.js';
import * as F from '../../fixtures/header-formats.js';
import { albEscape, apacheFold, b64, goQueryEscape, nginxEscape, traefikNginxEscape } from '../../helpers/encodings.js';
import { thrown } from '../../helpers/errors.js';

// ---------------------------------------------------------------------------------------------
// helpers

const sha256 = (der: Buffer): string => createHash('sha256').update(der).digest('hex');

/** Node's one-attribute-per-line subject, as the reference quotes it. */
const subjectOf = (der: Buffer): string => new X509Certificate(der).subject;

/** Expects this module's typed error; optionally part of the message. */
function expectHeaderError(fn: () => unknown, messagePart?: string): ClientCertError {
  const error = thrown(fn);
  expect(error.code, error.message).to.equal(FORWARDED_HEADER_ERROR_CODE);
  expect(error.check).to.equal(FORWARDED_HEADER_CHECK);
  expect(isForwardedHeaderError(error)).to.equal(true);
  if (messagePart !== undefined) expect(error.message).to.include(messagePart);
  return error;
}

function expectInvalidOption(fn: () => unknown, option: string): ClientCertError {
  const error = thrown(fn);
  expect(error.code).to.equal('invalid_option');
  expect(error.message).to.include(`"${option}"`);
  return error;
}

function read(options: HeaderSourceOptions, headers: IncomingHttpHeaders): ForwardedCertificate | undefined {
  return readHeaderSource(compileHeaderSource(options), headers);
}

function must(result: ForwardedCertificate | undefined): ForwardedCertificate {
  expect(result, 'expected a certificate').to.not.equal(undefined);
  return result!;
}

function at<T>(list: readonly T[], index: number): T {
  expect(list.length).to.be.greaterThan(index);
  return list[index]!;
}

/** A value that must never appear in an error message (headers are attacker-controlled). */
const SENTINEL = 'SeNtInEl';

// The RFC 9440 Appendix A certificates, from the §13.5 vector (checked against the digest below).
const RFC_LEAF = Buffer.from(F.DERIVED_BASE64_DER_LEAF, 'base64');
const RFC_INTERMEDIATE_SUBJECT = "O=Let's Authenticate\nCN=LA Intermediate CA";
const RFC_ROOT_SUBJECT = "C=US\nO=Let's Authenticate\nCN=Let's Authenticate Root Authority";

function expectRfcLeaf(result: ForwardedCertificate | undefined): ForwardedCertificate {
  const forwarded = must(result);
  expect(sha256(forwarded.leaf)).to.equal(F.LEAF_SHA256);
  expect(subjectOf(forwarded.leaf)).to.equal('CN=BC');
  return forwarded;
}

// ---------------------------------------------------------------------------------------------
// generated certificates

let root: TestCA;
let intermediate: TestCA;
let ecLeaf: TestCertificate;
let rsaLeaf: TestCertificate;

function expectGenerated(result: ForwardedCertificate | undefined, leaf: TestCertificate, chain: Buffer[]): void {
  const forwarded = must(result);
  expect(forwarded.leaf.equals(leaf.der)).to.equal(true);
  expect(forwarded.chain.map((der) => der.toString('hex'))).to.deep.equal(chain.map((der) => der.toString('hex')));
}

describe('header sources', () => {
  before(async () => {
    root = await createCA({ subject: 'CN=Header Sources Root' });
    intermediate = await root.intermediate({ subject: 'CN=Header Sources Intermediate' });
    ecLeaf = await intermediate.issue({
      subject: 'CN=alice,O=Acme',
      san: { dns: ['alice.example'], uri: ['spiffe://acme/alice'] },
    });
    rsaLeaf = await intermediate.issue({ subject: 'CN=bob', keyType: 'rsa' });
  });

  // ---------------------------------------------------------------------------------------------

  describe('header sources: fixtures', () => {
    it('the §13.5 base64 DER is the RFC 9440 leaf with the digest the reference states', () => {
      expect(sha256(RFC_LEAF)).to.equal('bfaf1f7e070f9fa8dd62905f158da73f84a1136624fbafcc9393c8f7287a69eb');
      expect(F.LEAF_SHA256).to.equal(sha256(RFC_LEAF));
    });

    it("the §11 figures, unwrapped, are the §13.3/§13.4 values (the reference's own check)", () => {
      expect(F.RFC9440_FIGURE_CLIENT_CERT.replace(/\n /g, '')).to.equal(F.DERIVED_RFC9440_CLIENT_CERT);
      expect(F.RFC9440_FIGURE_CLIENT_CERT_CHAIN.replace(/\n /g, '')).to.equal(F.DERIVED_RFC9440_CLIENT_CERT_CHAIN);
    });

    it("the test encoders reproduce the reference's derived vectors", () => {
      const pem = new X509Certificate(RFC_LEAF).toString();
      expect(nginxEscape(pem)).to.equal(F.DERIVED_URL_PEM_LEAF);
      expect(goQueryEscape(F.DERIVED_TRAEFIK_INFO_READABLE)).to.equal(F.DERIVED_TRAEFIK_INFO_WIRE);
      expect(goQueryEscape(F.TRAEFIK_INFO_TEST_ALL_UNESCAPED)).to.equal(F.TRAEFIK_INFO_TEST_ALL_WIRE);
      expect(apacheFold(pem)).to.equal(F.DERIVED_APACHE_PEM.trim());
    });
  });

  describe('header sources: rfc9440 (Client-Cert / Client-Cert-Chain)', () => {
    it('decodes §13.3 Client-Cert to the RFC 9440 leaf (SHA-256 bfaf1f7e…) with no chain and no verdict', () => {
      const forwarded = expectRfcLeaf(read({ source: 'rfc9440' }, { 'client-cert': F.DERIVED_RFC9440_CLIENT_CERT }));
      expect(forwarded.source).to.equal('rfc9440');
      expect(forwarded.chain).to.deep.equal([]);
      expect(forwarded.proxyVerdict).to.equal(null);
    });

    it('decodes §13.4 Client-Cert-Chain to the intermediate and the root, in order', () => {
      const forwarded = expectRfcLeaf(
        read(
          { source: 'rfc9440' },
          {
            'client-cert': F.DERIVED_RFC9440_CLIENT_CERT,
            'client-cert-chain': F.DERIVED_RFC9440_CLIENT_CERT_CHAIN,
          },
        ),
      );
      expect(forwarded.chain.map(subjectOf)).to.deep.equal([RFC_INTERMEDIATE_SUBJECT, RFC_ROOT_SUBJECT]);
    });

    it('rejects the §11 figure as displayed (line-wrapped: the newline is a control character)', () => {
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': F.RFC9440_FIGURE_CLIENT_CERT }), 'control');
    });

    it('rejects the Cloudflare docs examples, which the docs elided with dots', () => {
      expectHeaderError(
        () => read({ source: 'rfc9440' }, { 'client-cert': F.CLOUDFLARE_RFC9440_DOCS_EXAMPLE }),
        'base64',
      );
      expectHeaderError(
        () =>
          read(
            { source: 'rfc9440' },
            {
              'client-cert': F.DERIVED_RFC9440_CLIENT_CERT,
              'client-cert-chain': F.CLOUDFLARE_RFC9440_CHAIN_DOCS_EXAMPLE,
            },
          ),
        'base64',
      );
    });

    it('round-trips generated certificates (EC and RSA) with the chain in a separate header', () => {
      const headers = {
        'client-cert': `:${b64(rsaLeaf.der)}:`,
        'client-cert-chain': `:${b64(intermediate.der)}:, :${b64(root.der)}:`,
      };
      expectGenerated(read({ source: 'rfc9440' }, headers), rsaLeaf, [intermediate.der, root.der]);
      expectGenerated(read({ source: 'rfc9440' }, { 'client-cert': `:${b64(ecLeaf.der)}:` }), ecLeaf, []);
    });

    it('accepts a byte sequence without base64 padding (RFC 8941 §4.2.7: parsers should not fail on it)', () => {
      const unpadded = b64(RFC_LEAF).replace(/=+$/, '');
      expect(unpadded.length % 4).to.not.equal(0);
      expectRfcLeaf(read({ source: 'rfc9440' }, { 'client-cert': `:${unpadded}:` }));
    });

    it('accepts Client-Cert-Chain that occurred several times (Node joins with ", ", list syntax) and list OWS', () => {
      const chain = `:${b64(intermediate.der)}:,\t:${b64(root.der)}:`;
      expectGenerated(
        read({ source: 'rfc9440' }, { 'client-cert': `:${b64(ecLeaf.der)}:`, 'client-cert-chain': chain }),
        ecLeaf,
        [intermediate.der, root.der],
      );
      const distinct = [`:${b64(intermediate.der)}:`, `:${b64(root.der)}:`];
      expectGenerated(
        read({ source: 'rfc9440' }, { 'client-cert': `:${b64(ecLeaf.der)}:`, 'client-cert-chain': distinct }),
        ecLeaf,
        [intermediate.der, root.der],
      );
    });

    it('drops a copy of the leaf from the chain (the chain excludes the end-entity certificate)', () => {
      const headers = {
        'client-cert': `:${b64(ecLeaf.der)}:`,
        'client-cert-chain': `:${b64(ecLeaf.der)}:, :${b64(intermediate.der)}:`,
      };
      expectGenerated(read({ source: 'rfc9440' }, headers), ecLeaf, [intermediate.der]);
    });

    it('rejects a Client-Cert that arrived twice (:a:, :b:), as Node delivers it', () => {
      const a = `:${b64(ecLeaf.der)}:`;
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': `${a}, ${a}` }), 'more than one value');
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': [a, a] }), 'more than one value');
    });

    it('a repeated Client-Cert line really reaches the app as ":a:, :b:" and is rejected', async () => {
      let seen: IncomingHttpHeaders | undefined;
      const server = createServer((req, res) => {
        seen = req.headers;
        res.end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const a = `:${b64(ecLeaf.der)}:`;
        const b = `:${b64(rsaLeaf.der)}:`;
        await new Promise<void>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => {
            socket.end(
              `GET / HTTP/1.1\r\nHost: x\r\nClient-Cert: ${a}\r\nClient-Cert: ${b}\r\nConnection: close\r\n\r\n`,
            );
          });
          socket.on('data', () => undefined);
          socket.on('end', resolve);
          socket.on('error', reject);
        });
        expect(seen?.['client-cert']).to.equal(`${a}, ${b}`);
        expectHeaderError(() => read({ source: 'rfc9440' }, seen!), 'more than one value');
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('rejects parameters, inner lists, other item types and bad list syntax', () => {
      const a = `:${b64(ecLeaf.der)}:`;
      const with_ = (cert: string, chain?: string) => () =>
        read(
          { source: 'rfc9440' },
          chain === undefined ? { 'client-cert': cert } : { 'client-cert': a, 'client-cert-chain': chain },
        );
      expectHeaderError(with_(`${a};foo=1`), 'parameters');
      expectHeaderError(with_(`${a};x`), 'parameters');
      expectHeaderError(with_(a, `${a};x`), 'parameters');
      expectHeaderError(with_(a, `(${a})`), 'inner lists');
      expectHeaderError(with_(a, `${a},`), 'trailing comma');
      expectHeaderError(with_(a, `${a} ${a}`), 'expected ","');
      expectHeaderError(with_(a, `"text"`), 'byte sequence');
      expectHeaderError(with_(b64(ecLeaf.der)), 'byte sequence'); // bare base64, no colons
      expectHeaderError(with_(`:${b64(ecLeaf.der)}`), 'unterminated');
      expectHeaderError(with_(`${a}x`), 'unexpected character');
    });

    it('rejects bad base64: other alphabets, padding in the middle, impossible lengths', () => {
      const urlSafe = `:${b64(rsaLeaf.der).replace(/\+/g, '-').replace(/\//g, '_')}:`;
      expect(urlSafe).to.match(/[-_]/);
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': urlSafe }), 'invalid base64 character');
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': ':AA==AA==:' }), 'padding before the end');
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': ':AAAAA:' }), 'truncated base64');
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': ':AAA===:' }), 'base64');
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': '::' }), 'empty base64');
    });

    it('rejects bytes that are not one DER certificate: garbage, truncated, trailing data', () => {
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': ':AAAA:' }), 'not a DER certificate');
      const truncated = b64(RFC_LEAF.subarray(0, 300));
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': `:${truncated}:` }), 'not DER');
      const trailing = b64(Buffer.concat([RFC_LEAF, Buffer.from([0x05, 0x00])]));
      expectHeaderError(() => read({ source: 'rfc9440' }, { 'client-cert': `:${trailing}:` }), 'trailing data');
    });

    it('rejects Client-Cert-Chain without Client-Cert (RFC 9440: MUST NOT appear unless Client-Cert is present)', () => {
      expectHeaderError(
        () => read({ source: 'rfc9440' }, { 'client-cert-chain': F.DERIVED_RFC9440_CLIENT_CERT_CHAIN }),
        'without the certificate header',
      );
    });

    it('ignores the chain header with chainHeader: false, and reads renamed headers', () => {
      const headers = { 'client-cert': F.DERIVED_RFC9440_CLIENT_CERT, 'client-cert-chain': 'garbage' };
      expect(must(read({ source: 'rfc9440', chainHeader: false }, headers)).chain).to.deep.equal([]);
      const renamed = {
        'x-client-cert-leaf': F.DERIVED_RFC9440_CLIENT_CERT,
        'x-client-cert-chain': F.DERIVED_RFC9440_CLIENT_CERT_CHAIN,
      };
      const forwarded = expectRfcLeaf(
        read({ source: 'rfc9440', header: 'X-Client-Cert-Leaf', chainHeader: 'x-client-cert-chain' }, renamed),
      );
      expect(forwarded.chain).to.have.length(2);
    });

    it('rejects a chain longer than maxChainLength', () => {
      const a = `:${b64(intermediate.der)}:`;
      const headers = { 'client-cert': `:${b64(ecLeaf.der)}:`, 'client-cert-chain': Array(11).fill(a).join(', ') };
      expectHeaderError(() => read({ source: 'rfc9440' }, headers), 'maxChainLength (10)');
      headers['client-cert-chain'] = Array(3).fill(a).join(', ');
      expectHeaderError(
        () => read({ source: 'rfc9440', limits: { maxChainLength: 2 } }, headers),
        'maxChainLength (2)',
      );
      expect(must(read({ source: 'rfc9440', limits: { maxChainLength: 3 } }, headers)).chain).to.have.length(3);
    });
  });

  describe('header sources: traefik (X-Forwarded-Tls-Client-Cert)', () => {
    it('decodes Traefik\'s own Test_sanitize value (§4.2, real) to the test\'s "minimal cheese" certificate', () => {
      const forwarded = must(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': F.TRAEFIK_TEST_SANITIZE }));
      expect(subjectOf(forwarded.leaf)).to.equal('C=FR\nST=Some-State\nO=Cheese');
      expect(forwarded.chain).to.deep.equal([]);
      // The same test suite's -Info expectation describes this certificate (§4.3): cross-check.
      const info = at(parseTraefikInfo(F.TRAEFIK_INFO_TEST_ALL_WIRE), 0);
      const x509 = new X509Certificate(forwarded.leaf);
      expect(info.serialNumber).to.equal('481535886039632329873080491016862977516759989652');
      expect(info.serialNumberHex).to.equal(x509.serialNumber);
      expect(info.notBefore?.toISOString()).to.equal(new Date(x509.validFrom).toISOString());
      expect(info.notAfter?.toISOString()).to.equal(new Date(x509.validTo).toISOString());
    });

    it('decodes §13.6 (leaf + intermediate, ≥ v2.9.2) leaf first', () => {
      const forwarded = expectRfcLeaf(
        read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': F.DERIVED_TRAEFIK_CHAIN }),
      );
      expect(forwarded.chain.map(subjectOf)).to.deep.equal([RFC_INTERMEDIATE_SUBJECT]);
    });

    it('decodes §13.7 (≤ v2.9.1, each certificate query-escaped) to exactly the same certificates', () => {
      const escaped = must(
        read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': F.DERIVED_TRAEFIK_CHAIN_ESCAPED }),
      );
      const plain = must(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': F.DERIVED_TRAEFIK_CHAIN }));
      expect(F.DERIVED_TRAEFIK_CHAIN_ESCAPED).to.include('%2B');
      expect(escaped).to.deep.equal(plain);
    });

    it('round-trips generated chains in both the current and the old escaped form', () => {
      const ders = [rsaLeaf.der, intermediate.der, root.der];
      const current = ders.map(b64).join(',');
      const old = ders.map((der) => goQueryEscape(b64(der))).join(',');
      expect(old).to.include('%');
      expectGenerated(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': current }), rsaLeaf, [
        intermediate.der,
        root.der,
      ]);
      expectGenerated(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': old }), rsaLeaf, [
        intermediate.der,
        root.der,
      ]);
    });

    it('regression: + stays + in base64 (never form-decoded into a space)', () => {
      const value = b64(RFC_LEAF);
      expect(value).to.include('+');
      expectRfcLeaf(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': value }));
    });

    it('rejects a repeated header (Node\'s ", " join), empty pieces and bad escapes', () => {
      const one = b64(ecLeaf.der);
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one}, ${one}` }),
        'invalid base64 character',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one},,${one}` }),
        'empty base64',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one},` }),
        'empty base64',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one.slice(0, 8)}%ZZ${one.slice(8)}` }),
        'invalid percent-encoding',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one}%2` }),
        'invalid percent-encoding',
      );
      // %2C would smuggle a separator into a piece: after unescaping it is not base64.
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one}%2C${one}` }),
        'not valid base64 after unescaping',
      );
    });

    it('rejects unpadded base64, other alphabets and non-DER pieces', () => {
      const one = b64(RFC_LEAF);
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': one.replace(/=+$/, '') }),
        'multiple of 4',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': one.replace(/\+/g, '-') }),
        'invalid base64 character',
      );
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': `${one},AAAA` }),
        'certificate 2 is not a DER certificate',
      );
    });

    it('rejects more certificates than maxChainLength + 1', () => {
      const value = (count: number) => [b64(ecLeaf.der), ...Array(count).fill(b64(intermediate.der))].join(',');
      expectHeaderError(
        () => read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': value(11) }),
        'maxChainLength (10)',
      );
      expect(must(read({ source: 'traefik' }, { 'x-forwarded-tls-client-cert': value(10) })).chain).to.have.length(10);
    });

    it('with only the -Info header there is no certificate: readHeaderSource is undefined, readTraefikInfo has the info', () => {
      const source = compileHeaderSource({ source: 'traefik' });
      const headers = { 'x-forwarded-tls-client-cert-info': F.DERIVED_TRAEFIK_INFO_WIRE };
      expect(readHeaderSource(source, headers)).to.equal(undefined);
      expect(at(readTraefikInfo(source, headers)!, 0).subject).to.equal('CN=BC');
      expect(readTraefikInfo(source, {})).to.equal(undefined);
      expect(readTraefikInfo(compileHeaderSource({ source: 'traefik', infoHeader: false }), headers)).to.equal(
        undefined,
      );
    });
  });

  describe('header sources: parseTraefikInfo (X-Forwarded-Tls-Client-Cert-Info)', () => {
    it("parses §13.8 (wire form) into the RFC 9440 leaf's facts", () => {
      const [info, ...rest] = parseTraefikInfo(F.DERIVED_TRAEFIK_INFO_WIRE);
      expect(rest).to.deep.equal([]);
      const x509 = new X509Certificate(RFC_LEAF);
      expect(info).to.deep.equal({
        subject: 'CN=BC',
        issuer: "O=Let's Authenticate,CN=LA Intermediate CA",
        serialNumber: '7',
        serialNumberHex: x509.serialNumber,
        notBefore: new Date('2020-01-14T22:55:33Z'),
        notAfter: new Date('2021-01-23T22:55:33Z'),
        san: ['bdc@example.com'],
      } satisfies TraefikCertInfo);
    });

    it('parses the Traefik docs example (§4.3, real; sent query-escaped): "+" means a space in this header', () => {
      const wire = goQueryEscape(F.TRAEFIK_INFO_DOCS_UNESCAPED);
      expect(wire).to.include('Cheese+org+state');
      const info = at(parseTraefikInfo(wire), 0);
      expect(info.subject).to.equal(
        'DC=org,DC=cheese,C=FR,C=US,ST=Cheese org state,ST=Cheese com state,L=TOULOUSE,L=LYON,O=Cheese,O=Cheese 2,CN=*.example.com',
      );
      expect(info.issuer).to.include('CN=Simple Signing CA 2');
      expect(info.serialNumber).to.equal('1');
      expect(info.serialNumberHex).to.equal('01');
      expect(info.notBefore?.getTime()).to.equal(1747282426000);
      expect(info.notAfter?.getTime()).to.equal(1778818426000);
      expect(info.san).to.deep.equal([
        '*.example.org',
        '*.example.net',
        '*.example.com',
        'test@example.org',
        'test@example.net',
        '10.0.1.0',
        '10.0.1.2',
      ]);
    });

    it('parses the Traefik test expectation with only some fields (§4.3, real)', () => {
      expect(parseTraefikInfo(goQueryEscape(F.TRAEFIK_INFO_TEST_PARTIAL_UNESCAPED))).to.deep.equal([
        { subject: 'O=Cheese', issuer: 'C=FR,C=US', notAfter: new Date(1632568236000), san: [] },
      ]);
    });

    it('splits certificates on "," outside quotes only (subjects are full of commas)', () => {
      const two = `${F.TRAEFIK_INFO_TEST_ALL_UNESCAPED},${F.DERIVED_TRAEFIK_INFO_READABLE}`;
      const infos = parseTraefikInfo(goQueryEscape(two));
      expect(infos.map((i) => i.subject)).to.deep.equal(['C=FR,ST=Some-State,O=Cheese', 'CN=BC']);
    });

    it('rejects the unescaped form, unknown/repeated/reordered fields, bad numbers, bad escapes and control characters', () => {
      const bad = (value: string, part: string) => expectHeaderError(() => parseTraefikInfo(value), part);
      bad(F.DERIVED_TRAEFIK_INFO_READABLE, 'not produced by query escaping');
      bad(goQueryEscape('Foo="x"'), 'unknown field');
      bad(goQueryEscape('Subject="a";Subject="b"'), 'repeated or out-of-order');
      bad(goQueryEscape('Issuer="a";Subject="b"'), 'repeated or out-of-order');
      bad(goQueryEscape('Subject="O=x";SerialNumber="1";Issuer="y"'), 'repeated or out-of-order'); // an injected `";…` looks like this
      bad(goQueryEscape('Subject=x'), 'unquoted value');
      bad(goQueryEscape('Subject="x'), 'unterminated value');
      bad(goQueryEscape('Subject="x"junk'), 'unexpected character');
      bad(goQueryEscape('Subject'), 'without "="');
      bad(goQueryEscape('SerialNumber="0x1F"'), 'SerialNumber is not a decimal number');
      bad(goQueryEscape('NB="-5"'), 'NB is not Unix seconds');
      bad('Subject%3D%22%ZZ%22', 'invalid percent-encoding');
      bad('Subject%3D%22%FF%22', 'invalid UTF-8');
      bad('Subject%3D%22a%0Ab%22', 'control character');
    });

    it('accepts UTF-8 values and rejects more certificates than maxChainLength + 1', () => {
      expect(at(parseTraefikInfo(goQueryEscape('Subject="CN=Zoë"')), 0).subject).to.equal('CN=Zoë');
      const many = Array(4).fill('Subject="CN=x"').join(',');
      expectHeaderError(() => parseTraefikInfo(goQueryEscape(many), { maxChainLength: 2 }), 'maxChainLength (2)');
      expect(parseTraefikInfo(goQueryEscape(many), { maxChainLength: 3 })).to.have.length(4);
    });

    it('an empty value is no certificate; readTraefikInfo names the configured header in errors', () => {
      expect(parseTraefikInfo('')).to.deep.equal([]);
      const source = compileHeaderSource({ source: 'traefik', infoHeader: 'x-info' });
      const error = expectHeaderError(() => readTraefikInfo(source, { 'x-info': 'a"b' }));
      expect(error.message).to.include('"x-info"');
    });
  });

  describe('header sources: url-pem (nginx, ingress-nginx, Apache)', () => {
    it('decodes §13.1 ($ssl_client_escaped_cert / ingress-nginx ssl-client-cert) to the RFC 9440 leaf', () => {
      const forwarded = expectRfcLeaf(read({ source: 'url-pem' }, { 'ssl-client-cert': F.DERIVED_URL_PEM_LEAF }));
      expect(forwarded.chain).to.deep.equal([]);
      expect(forwarded.proxyVerdict).to.equal(null);
    });

    it('decodes §13.10 Apache %{SSL_CLIENT_CERT}s (line breaks folded into spaces), trimmed by Node or not', () => {
      expectRfcLeaf(read({ source: 'url-pem' }, { 'ssl-client-cert': F.DERIVED_APACHE_PEM.trim() }));
      expectRfcLeaf(read({ source: 'url-pem' }, { 'ssl-client-cert': F.DERIVED_APACHE_PEM }));
    });

    it('treats Apache\'s "(null)" and an empty value as no certificate', () => {
      expect(read({ source: 'url-pem' }, { 'ssl-client-cert': '(null)' })).to.equal(undefined);
      expect(read({ source: 'url-pem' }, { 'ssl-client-cert': '' })).to.equal(undefined);
      expect(read({ source: 'url-pem' }, {})).to.equal(undefined);
    });

    it("round-trips generated certificates in nginx's, Traefik-compat's and Apache's encodings", () => {
      for (const leaf of [ecLeaf, rsaLeaf]) {
        for (const value of [
          nginxEscape(leaf.cert),
          traefikNginxEscape(leaf.cert),
          apacheFold(leaf.cert),
          leaf.cert.replace(/\n/g, '  \t ').trim(),
        ]) {
          expectGenerated(read({ source: 'url-pem' }, { 'ssl-client-cert': value }), leaf, []);
        }
      }
    });

    it('regression: + stays + when percent-decoding (decodeURIComponent semantics, not form decoding)', () => {
      // Envoy/nginx encode "+" as %2B, AWS-style encoders leave it: both must give the same certificate.
      const pem = new X509Certificate(RFC_LEAF).toString();
      expect(pem).to.include('+');
      expectRfcLeaf(read({ source: 'url-pem' }, { 'ssl-client-cert': albEscape(pem) }));
      expectRfcLeaf(read({ source: 'url-pem' }, { 'ssl-client-cert': nginxEscape(pem) }));
    });

    it('maps ssl-client-verify to the proxy verdict (ingress-nginx vocabulary)', () => {
      const source = compileHeaderSource({ source: 'url-pem', verifyHeader: 'ssl-client-verify' });
      const cert = { 'ssl-client-cert': F.DERIVED_URL_PEM_LEAF };
      const verdict = (value?: string) =>
        readHeaderSource(source, value === undefined ? cert : { ...cert, 'ssl-client-verify': value })?.proxyVerdict;
      expect(verdict('SUCCESS')).to.equal('verified');
      expect(verdict('FAILED:certificate has expired')).to.equal('failed');
      expect(verdict('FAILED: certificate has expired')).to.equal('failed');
      expect(verdict('success')).to.equal('failed'); // exact match only
      expect(verdict('SUCCESS, SUCCESS')).to.equal('failed'); // a repeated header is not a verdict
      expect(verdict(undefined)).to.equal(null);
      expect(source.hasVerdict).to.equal(true);
    });

    it('rejects a certificate whose verify header says NONE (a client-sent header the proxy did not set)', () => {
      const source = compileHeaderSource({ source: 'url-pem', verifyHeader: 'ssl-client-verify' });
      expectHeaderError(
        () => readHeaderSource(source, { 'ssl-client-cert': F.DERIVED_URL_PEM_LEAF, 'ssl-client-verify': 'NONE' }),
        'says no certificate',
      );
      expect(readHeaderSource(source, { 'ssl-client-verify': 'NONE' })).to.equal(undefined);
      expect(readProxyVerdict(source, { 'ssl-client-verify': 'NONE' })).to.equal('none');
      // FAILED without the certificate header (pass-certificate-to-upstream off): the caller can still see it.
      expect(readHeaderSource(source, { 'ssl-client-verify': 'FAILED:x' })).to.equal(undefined);
      expect(readProxyVerdict(source, { 'ssl-client-verify': 'FAILED:x' })).to.equal('failed');
    });

    it('rejects the ingress-nginx docs example, which the docs shortened with "..."', () => {
      expectHeaderError(() => read({ source: 'url-pem' }, { 'ssl-client-cert': F.INGRESS_NGINX_DOCS_TRUNCATED }));
    });

    it('rejects bad percent-encoding, decoded control bytes, raw line breaks and non-ASCII', () => {
      const value = F.DERIVED_URL_PEM_LEAF;
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': value.replace('%0A', '%ZZ') }),
        'invalid percent-encoding',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': `${value}%0` }),
        'invalid percent-encoding',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': value.replace('%0A', '%00') }),
        'control or non-ASCII byte',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': value.replace('%0A', '%C3%A9') }),
        'control or non-ASCII byte',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': new X509Certificate(RFC_LEAF).toString() }),
        'control or non-ASCII character',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': `${apacheFold(ecLeaf.cert)}é` }),
        'control or non-ASCII character',
      );
    });

    it('rejects anything but exactly one PEM certificate (two joined headers, a chain, text, no END)', () => {
      const one = nginxEscape(ecLeaf.cert);
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': `${one}, ${one}` }),
        'expected a "-----BEGIN CERTIFICATE-----" line',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': nginxEscape(ecLeaf.fullChain) }),
        'more than 1 certificate',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': `x${one}` }),
        'expected a "-----BEGIN CERTIFICATE-----" line',
      );
      expectHeaderError(
        () =>
          read(
            { source: 'url-pem' },
            { 'ssl-client-cert': nginxEscape(ecLeaf.cert.replace('CERTIFICATE', 'PRIVATE KEY')) },
          ),
        'expected a',
      );
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': one.slice(0, one.indexOf('-----END')) }),
        'without an END line',
      );
      expectHeaderError(() => read({ source: 'url-pem' }, { 'ssl-client-cert': '   ' }), 'no certificate');
      expectHeaderError(
        () => read({ source: 'url-pem' }, { 'ssl-client-cert': apacheFold(ecLeaf.cert).replace('M', '*') }),
        'invalid base64 in PEM',
      );
      expectHeaderError(
        () =>
          read(
            { source: 'url-pem' },
            { 'ssl-client-cert': '-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----' },
          ),
        'not a DER certificate',
      );
    });
  });

  describe('header sources: base64-der (App Service, ASP.NET, Cloudflare, Caddy, HAProxy)', () => {
    it("decodes §13.5 to the RFC 9440 leaf under each proxy's header name", () => {
      for (const header of [
        'x-client-cert',
        'x-arr-clientcert',
        'cf-client-cert-der-base64',
        'x-ssl-client-cert',
        'x-forwarded-client-cert',
      ]) {
        expectRfcLeaf(read({ source: 'base64-der', header }, { [header]: F.DERIVED_BASE64_DER_LEAF }));
      }
    });

    it('round-trips generated certificates, and a HAProxy ssl_c_chain_der chain (concatenated DER)', () => {
      expectGenerated(read({ source: 'base64-der' }, { 'x-client-cert': b64(rsaLeaf.der) }), rsaLeaf, []);
      const headers = {
        'x-ssl-client-cert': b64(ecLeaf.der),
        'x-ssl-client-chain': b64(Buffer.concat([intermediate.der, root.der])),
      };
      const options = { source: 'base64-der', header: 'x-ssl-client-cert', chainHeader: 'x-ssl-client-chain' } as const;
      expectGenerated(read(options, headers), ecLeaf, [intermediate.der, root.der]);
      // A chain that (unlike OpenSSL's server side) includes the leaf: the leaf is dropped.
      const withLeaf = { ...headers, 'x-ssl-client-chain': b64(Buffer.concat([ecLeaf.der, intermediate.der])) };
      expectGenerated(read(options, withLeaf), ecLeaf, [intermediate.der]);
    });

    it('rejects bad base64: unpadded, URL-safe alphabet, whitespace, a repeated header', () => {
      const value = b64(RFC_LEAF);
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': value.replace(/=+$/, '') }),
        'multiple of 4',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': value.replace(/\+/g, '-') }),
        'invalid base64 character',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': `${value.slice(0, 64)} ${value.slice(64)}` }),
        'invalid base64 character',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': `${value}, ${value}` }),
        'padding before the end',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': [value, value] }),
        'padding before the end',
      );
    });

    it('rejects non-DER, truncated DER and trailing bytes; and a bad or oversized chain', () => {
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': b64(Buffer.from('hello world!')) }),
        'not',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': b64(RFC_LEAF.subarray(0, RFC_LEAF.length - 3)) }),
        'not DER',
      );
      expectHeaderError(
        () => read({ source: 'base64-der' }, { 'x-client-cert': b64(Buffer.concat([RFC_LEAF, Buffer.alloc(1)])) }),
        'trailing data',
      );
      const options = { source: 'base64-der', chainHeader: 'x-chain' } as const;
      const leaf = b64(ecLeaf.der);
      expectHeaderError(
        () => read(options, { 'x-client-cert': leaf, 'x-chain': b64(intermediate.der.subarray(0, 100)) }),
        'x-chain',
      );
      expectHeaderError(
        () => read(options, { 'x-client-cert': leaf, 'x-chain': b64(Buffer.from([0x02, 0x01, 0x00])) }),
        'not a DER certificate',
      );
      expectHeaderError(
        () => read(options, { 'x-client-cert': leaf, 'x-chain': b64(Buffer.concat(Array(11).fill(intermediate.der))) }),
        'maxChainLength (10)',
      );
      expectHeaderError(() => read(options, { 'x-chain': b64(intermediate.der) }), 'without the certificate header');
    });
  });

  describe('header sources: aws-alb (X-Amzn-Mtls-Clientcert)', () => {
    it('decodes §13.9 passthrough (URL-encoded PEM chain, "+=/" unencoded) to leaf + intermediate, no verdict', () => {
      const forwarded = expectRfcLeaf(
        read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': F.DERIVED_AWS_PASSTHROUGH_CHAIN }),
      );
      expect(forwarded.chain.map(subjectOf)).to.deep.equal([RFC_INTERMEDIATE_SUBJECT]);
      expect(forwarded.proxyVerdict).to.equal(null);
    });

    it('decodes verify mode\'s -Leaf (§13.1 encoding) with the verdict "verified"', () => {
      const source = compileHeaderSource({ source: 'aws-alb', mode: 'verify' });
      expect(source.header).to.equal('x-amzn-mtls-clientcert-leaf');
      expect(source.hasVerdict).to.equal(true);
      const forwarded = expectRfcLeaf(
        readHeaderSource(source, { 'x-amzn-mtls-clientcert-leaf': F.DERIVED_URL_PEM_LEAF }),
      );
      expect(forwarded.proxyVerdict).to.equal('verified');
    });

    it('each mode reads only its own header', () => {
      expect(
        read({ source: 'aws-alb', mode: 'verify' }, { 'x-amzn-mtls-clientcert': F.DERIVED_AWS_PASSTHROUGH_CHAIN }),
      ).to.equal(undefined);
      expect(read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert-leaf': F.DERIVED_URL_PEM_LEAF })).to.equal(
        undefined,
      );
    });

    it('regression: + stays + (AWS leaves "+=/" unencoded; form decoding would corrupt the base64)', () => {
      const value = albEscape(rsaLeaf.fullChain);
      expect(value).to.include('+');
      expectGenerated(read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': value }), rsaLeaf, [intermediate.der]);
      // The docs example encodes "=" as %3D; fully encoded works the same.
      expectGenerated(
        read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': nginxEscape(rsaLeaf.fullChain) }),
        rsaLeaf,
        [intermediate.der],
      );
    });

    it('rejects the AWS docs examples, which AWS shortened with <...reduced...>', () => {
      expectHeaderError(
        () => read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': F.AWS_PASSTHROUGH_DOCS_REDUCED }),
        'invalid base64 in PEM',
      );
      expectHeaderError(
        () =>
          read(
            { source: 'aws-alb', mode: 'verify' },
            { 'x-amzn-mtls-clientcert-leaf': F.AWS_VERIFY_LEAF_DOCS_REDUCED },
          ),
        'invalid base64 in PEM',
      );
    });

    it('rejects two joined headers, a chain in verify mode, and too many certificates', () => {
      const chain = albEscape(ecLeaf.fullChain);
      expectHeaderError(
        () => read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': `${chain}, ${chain}` }),
        'expected a "-----BEGIN',
      );
      expectHeaderError(
        () => read({ source: 'aws-alb', mode: 'verify' }, { 'x-amzn-mtls-clientcert-leaf': chain }),
        'more than 1 certificate',
      );
      const many = albEscape(Array(12).fill(intermediate.cert).join(''));
      expectHeaderError(
        () => read({ source: 'aws-alb' }, { 'x-amzn-mtls-clientcert': many }),
        'more than 11 certificate',
      );
    });
  });

  describe('header sources: custom decoder', () => {
    const hex = { header: 'x-my-cert', decode: (value: string) => Buffer.from(value, 'hex') };

    it('decodes with the given function (one Buffer, or leaf + chain), under source "custom"', () => {
      const forwarded = expectRfcLeaf(read(hex, { 'x-my-cert': RFC_LEAF.toString('hex') }));
      expect(forwarded.source).to.equal('custom');
      const list = {
        source: 'custom',
        header: 'x-my-cert',
        decode: (v: string) => v.split('.').map((p) => Buffer.from(p, 'base64')),
      } as const;
      expectGenerated(read(list, { 'x-my-cert': [ecLeaf.der, intermediate.der].map(b64).join('.') }), ecLeaf, [
        intermediate.der,
      ]);
      const u8 = { header: 'x-my-cert', decode: (v: string) => new Uint8Array(Buffer.from(v, 'hex')) };
      expectRfcLeaf(read(u8, { 'x-my-cert': RFC_LEAF.toString('hex') }));
    });

    it('undefined, null or [] from the decoder means no certificate', () => {
      for (const result of [undefined, null, []]) {
        expect(read({ header: 'x-my-cert', decode: () => result }, { 'x-my-cert': 'x' })).to.equal(undefined);
      }
    });

    it('a throwing decoder becomes the typed error, without its message (it may quote the header)', () => {
      const error = expectHeaderError(
        () =>
          read(
            {
              header: 'x-my-cert',
              decode: (v) => {
                throw new Error(`bad ${v}`);
              },
            },
            { 'x-my-cert': SENTINEL },
          ),
        'custom decoder failed',
      );
      expect(error.message).to.not.include(SENTINEL);
      expect((error.cause as Error).message).to.include(SENTINEL);
    });

    it('checks what the decoder returns: Buffers, DER framing, chain length; and the value first', () => {
      expectHeaderError(
        () => read({ header: 'x-my-cert', decode: () => 'text' as unknown as Buffer }, { 'x-my-cert': 'x' }),
        'non-Buffer',
      );
      expectHeaderError(
        () => read({ header: 'x-my-cert', decode: () => Buffer.from('nope') }, { 'x-my-cert': 'x' }),
        'not',
      );
      expectHeaderError(
        () => read({ header: 'x-my-cert', decode: () => Array(12).fill(RFC_LEAF) }, { 'x-my-cert': 'x' }),
        'maxChainLength',
      );
      let called = false;
      expectHeaderError(
        () =>
          read(
            {
              header: 'x-my-cert',
              decode: () => {
                called = true;
                return RFC_LEAF;
              },
            },
            { 'x-my-cert': 'a\rb' },
          ),
        'control',
      );
      expect(called).to.equal(false);
    });
  });

  describe('header sources: limits, characters and error hygiene (every source)', () => {
    const certificateHeaders: Array<[HeaderSourceOptions, string, string]> = [
      [{ source: 'rfc9440' }, 'client-cert', F.DERIVED_RFC9440_CLIENT_CERT],
      [{ source: 'traefik' }, 'x-forwarded-tls-client-cert', F.DERIVED_TRAEFIK_CHAIN],
      [{ source: 'url-pem' }, 'ssl-client-cert', F.DERIVED_URL_PEM_LEAF],
      [{ source: 'base64-der' }, 'x-client-cert', F.DERIVED_BASE64_DER_LEAF],
      [{ source: 'aws-alb' }, 'x-amzn-mtls-clientcert', F.DERIVED_AWS_PASSTHROUGH_CHAIN],
      [{ header: 'x-my-cert', decode: (v) => Buffer.from(v, 'base64') }, 'x-my-cert', F.DERIVED_BASE64_DER_LEAF],
    ];

    it('covers every built-in source', () => {
      expect(certificateHeaders.map(([o]) => o.source).filter(Boolean)).to.deep.equal([...HEADER_SOURCE_NAMES]);
    });

    for (const [options, header, value] of certificateHeaders) {
      const name = options.source ?? 'custom';

      it(`${name}: decodes its reference value to the RFC 9440 leaf`, () => {
        expectRfcLeaf(read(options, { [header]: value }));
      });

      it(`${name}: rejects an oversized value before decoding it (maxLength)`, () => {
        expectHeaderError(
          () => read({ ...options, limits: { maxLength: value.length - 1 } }, { [header]: value }),
          `maxLength (${value.length - 1} characters)`,
        );
        expectRfcLeaf(read({ ...options, limits: { maxLength: value.length } }, { [header]: value }));
        const huge = 'A'.repeat(DEFAULT_HEADER_SOURCE_LIMITS.maxLength + 1);
        expectHeaderError(() => read(options, { [header]: huge }), 'maxLength (65536 characters)');
      });

      it(`${name}: rejects control characters (CR, LF, NUL, DEL) and obs-text with the position`, () => {
        for (const c of ['\r', '\n', '\0', '\x7f', '\xe9']) {
          expectHeaderError(
            () => read(options, { [header]: `${value.slice(0, 10)}${c}${value.slice(10)}` }),
            'position 10',
          );
        }
      });

      it(`${name}: error messages never contain header text`, () => {
        const hostile = [
          `${SENTINEL}`,
          `:${SENTINEL}:`,
          `${value.slice(0, 40)}${SENTINEL}`,
          `-----BEGIN CERTIFICATE-----${SENTINEL}`,
        ];
        for (const bad of hostile) {
          const error = expectHeaderError(() => read(options, { [header]: bad }));
          expect(error.message).to.not.include(SENTINEL);
          expect(error.message).to.include(`"${header}"`);
        }
      });

      it(`${name}: an absent or empty header is no certificate`, () => {
        expect(read(options, {})).to.equal(undefined);
        expect(read(options, { [header]: '' })).to.equal(undefined);
        expect(read(options, { 'some-other-header': value })).to.equal(undefined);
      });
    }

    it('a header name that is also an Object.prototype property is not read from the prototype', () => {
      expect(read({ source: 'base64-der', header: 'constructor' }, {})).to.equal(undefined);
      expect(read({ source: 'base64-der', header: '__proto__' }, {})).to.equal(undefined);
    });

    it('errors carry the code, check and safe message the pipeline maps to client_certificate_malformed', () => {
      const error = forwardedHeaderError('x-client-cert', 'something');
      expect(error.code).to.equal('forwarded_header_malformed');
      expect(error.check).to.equal('forwarded_header');
      expect(error.status).to.equal(403);
      expect(error.expose).to.equal(true);
      expect(error.message).to.equal('forwarded certificate header "x-client-cert": something');
      expect(isForwardedHeaderError(new ClientCertError('certificate_malformed', 'x'))).to.equal(false);
    });
  });

  describe("header sources: describedBy (the proxy's description of the certificate)", () => {
    const INGRESS = { subjectDn: 'ssl-client-subject-dn', issuerDn: 'ssl-client-issuer-dn', required: true };
    const NGINX_ALL = {
      subjectDn: 'ssl-client-subject-dn',
      issuerDn: 'ssl-client-issuer-dn',
      serial: 'ssl-client-serial',
      sha1: 'ssl-client-fingerprint',
    };
    const ingress = (): CompiledHeaderSource =>
      compileHeaderSource({ source: 'url-pem', verifyHeader: 'ssl-client-verify', describedBy: INGRESS });
    /** What nginx writes for `cert`: $ssl_client_escaped_cert, SUCCESS, $ssl_client_s_dn / _i_dn (RFC 2253). */
    const nginxHeaders = (cert: TestCertificate, subjectDn: string): IncomingHttpHeaders => ({
      'ssl-client-cert': nginxEscape(cert.cert),
      'ssl-client-verify': 'SUCCESS',
      'ssl-client-subject-dn': subjectDn,
      'ssl-client-issuer-dn': 'CN=Header Sources Intermediate',
    });

    it('compiles the header names lower-case and lists them among the headers the source reads', () => {
      const source = compileHeaderSource({
        source: 'url-pem',
        verifyHeader: 'ssl-client-verify',
        describedBy: {
          subjectDn: 'SSL-Client-Subject-DN',
          issuerDn: 'ssl-client-issuer-dn',
          serial: 'X-Serial',
          sha256: 'x-sha256',
          sha1: 'x-sha1',
        },
      });
      expect(source.describedBy).to.deep.equal({
        subjectDn: 'ssl-client-subject-dn',
        issuerDn: 'ssl-client-issuer-dn',
        serial: 'x-serial',
        sha256: 'x-sha256',
        sha1: 'x-sha1',
        required: false,
      });
      expect(source.headers).to.deep.equal([
        'ssl-client-cert',
        'ssl-client-verify',
        'ssl-client-subject-dn',
        'ssl-client-issuer-dn',
        'x-serial',
        'x-sha256',
        'x-sha1',
      ]);
      expect(source.description).to.equal(
        'url-pem (ssl-client-cert, ssl-client-verify, ssl-client-subject-dn, ssl-client-issuer-dn, x-serial, x-sha256, x-sha1)',
      );
      expect(Object.isFrozen(source.describedBy)).to.equal(true);
      expect(compileHeaderSource({ source: 'url-pem' }).describedBy).to.equal(null);
      expect(compileHeaderSource({ source: 'url-pem', describedBy: false }).describedBy).to.equal(null);
      expect(ingress().describedBy).to.include({ subjectDn: 'ssl-client-subject-dn', serial: null, required: true });
    });

    it('every source kind (custom too) lists its description headers in `headers`, which keys the per-connection memo of decisions', () => {
      // The pipeline (pipeline/forwarded.ts) keys the decision it remembers for a connection by the values of every name
      // in `source.headers`: a description header missing there would let a changed DN reuse an old decision.
      const kinds: HeaderSourceOptions[] = [
        { source: 'rfc9440' },
        { source: 'traefik' },
        { source: 'url-pem' },
        { source: 'base64-der' },
        { source: 'aws-alb', mode: 'verify' },
        { header: 'x-my-cert', decode: () => undefined },
      ];
      for (const options of kinds) {
        const source = compileHeaderSource({ ...options, describedBy: NGINX_ALL } as HeaderSourceOptions);
        expect(source.headers, source.source).to.include.members(Object.values(NGINX_ALL));
        const memoKey = (headers: IncomingHttpHeaders): string =>
          source.headers.map((name) => String(headers[name] ?? '')).join('\0');
        const base = { [source.header]: 'x', 'ssl-client-subject-dn': 'CN=alice' };
        expect(memoKey(base)).to.not.equal(memoKey({ ...base, 'ssl-client-subject-dn': 'CN=mallory' }));
        expect(memoKey(base)).to.not.equal(memoKey({ ...base, 'ssl-client-fingerprint': 'ab' }));
      }
    });

    it('names the option in every configuration error', () => {
      const describedBy = (value: unknown): HeaderSourceOptions =>
        ({ source: 'url-pem', describedBy: value }) as HeaderSourceOptions;
      expectInvalidOption(() => compileHeaderSource(describedBy('ssl-client-subject-dn')), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy(true)), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy(null)), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy([])), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy({})), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy({ required: true })), 'source.describedBy');
      expectInvalidOption(() => compileHeaderSource(describedBy({ subject: 'x-dn' })), 'source.describedBy.subject');
      expectInvalidOption(
        () => compileHeaderSource(describedBy({ subjectDn: 'bad header' })),
        'source.describedBy.subjectDn',
      );
      expectInvalidOption(() => compileHeaderSource(describedBy({ sha256: 42 })), 'source.describedBy.sha256');
      expectInvalidOption(
        () => compileHeaderSource(describedBy({ serial: 'x-serial', required: 'yes' })),
        'source.describedBy.required',
      );
      // One header name for two purposes.
      expectInvalidOption(() => compileHeaderSource(describedBy({ subjectDn: 'ssl-client-cert' })), 'source');
      expectInvalidOption(() => compileHeaderSource(describedBy({ subjectDn: 'x-dn', issuerDn: 'X-DN' })), 'source');
      expectInvalidOption(
        () => compileHeaderSource({ source: 'url-pem', verifyHeader: 'x-v', describedBy: { serial: 'x-v' } }),
        'source',
      );
    });

    it('returns the raw values the proxy sent, and no description when it sent none', () => {
      const source = compileHeaderSource({ source: 'url-pem', describedBy: NGINX_ALL });
      const cert = { 'ssl-client-cert': nginxEscape(ecLeaf.cert) };
      const forwarded = must(
        readHeaderSource(source, {
          ...cert,
          'ssl-client-subject-dn': 'CN=alice,O=Acme',
          'ssl-client-serial': '0A1B',
          'ssl-client-fingerprint': ['ab12'],
        }),
      );
      expect(forwarded.description).to.deep.equal({ subjectDn: 'CN=alice,O=Acme', serial: '0A1B', sha1: 'ab12' });
      expect(Object.isFrozen(forwarded.description)).to.equal(true);
      expect(must(readHeaderSource(source, cert))).to.not.have.property('description');
      expect(must(readHeaderSource(source, { ...cert, 'ssl-client-serial': '' }))).to.not.have.property('description');
      expect(must(read({ source: 'url-pem' }, { ...cert, 'ssl-client-subject-dn': 'CN=x' }))).to.not.have.property(
        'description',
      );
      // No certificate header: nothing to describe.
      expect(readHeaderSource(source, { 'ssl-client-subject-dn': 'CN=alice,O=Acme' })).to.equal(undefined);
    });

    it('rejects a description header sent more than once, with control characters, too long, or (hex fields) non-ASCII', () => {
      const source = compileHeaderSource({ source: 'url-pem', describedBy: NGINX_ALL, limits: { maxLength: 4096 } });
      const cert = { 'ssl-client-cert': nginxEscape(ecLeaf.cert) };
      expectHeaderError(
        () => readHeaderSource(source, { ...cert, 'ssl-client-subject-dn': ['CN=alice', 'CN=mallory'] }),
        '"ssl-client-subject-dn": sent more than once',
      );
      expectHeaderError(
        () => readHeaderSource(source, { ...cert, 'ssl-client-subject-dn': `CN=${SENTINEL}\r\nX: y` }),
        'control character at position',
      );
      expectHeaderError(
        () => readHeaderSource(source, { ...cert, 'ssl-client-issuer-dn': 'CN=a\x7f' }),
        'control character at position 4',
      );
      expectHeaderError(
        () => readHeaderSource(source, { ...cert, 'ssl-client-subject-dn': `CN=${'a'.repeat(4096)}` }),
        'maxLength (4096 characters)',
      );
      expectHeaderError(
        () => readHeaderSource(source, { ...cert, 'ssl-client-serial': '0A\xe9' }),
        'control or non-ASCII character at position 2',
      );
      // A DN header may carry UTF-8 bytes (Latin-1 characters as Node hands them over): compared later.
      const utf8Dn = Buffer.from('CN=José', 'utf8').toString('latin1');
      expect(must(readHeaderSource(source, { ...cert, 'ssl-client-subject-dn': utf8Dn })).description).to.deep.equal({
        subjectDn: utf8Dn,
      });
      const error = expectHeaderError(() =>
        readHeaderSource(source, { ...cert, 'ssl-client-subject-dn': `${SENTINEL}\0` }),
      );
      expect(error.message).to.not.include(SENTINEL);
    });

    it("required: a certificate header without the proxy's description did not come from the proxy, and is refused", () => {
      const source = ingress();
      const cert = { 'ssl-client-cert': nginxEscape(ecLeaf.cert), 'ssl-client-verify': 'SUCCESS' };
      for (const headers of [
        cert,
        { ...cert, 'ssl-client-subject-dn': 'CN=alice,O=Acme' },
        { ...cert, 'ssl-client-issuer-dn': '' },
      ]) {
        const error = thrown(() => readHeaderSource(source, headers));
        expect(error.code).to.equal('client_certificate_untrusted');
        expect(error.check).to.equal(PROXY_DESCRIPTION_CHECK);
        expect(error.check).to.equal('proxy.description');
        expect(error.status).to.equal(403);
        expect(error.message).to.equal(
          "The forwarded certificate came without the proxy's description of it (its subject, issuer, " +
            'serial or fingerprint headers), so the proxy did not write it.',
        );
      }
      // Without `required` the same request is read, with whatever description there is.
      const lenient = compileHeaderSource({ source: 'url-pem', describedBy: { ...INGRESS, required: false } });
      expect(must(readHeaderSource(lenient, cert))).to.not.have.property('description');
    });

    it('required: a missing subject header alone is an empty subject (nginx sends no empty header)', () => {
      const forwarded = must(
        readHeaderSource(ingress(), {
          'ssl-client-cert': nginxEscape(ecLeaf.cert),
          'ssl-client-verify': 'SUCCESS',
          'ssl-client-issuer-dn': 'CN=Header Sources Intermediate',
        }),
      );
      expect(forwarded.description).to.deep.equal({ issuerDn: 'CN=Header Sources Intermediate', subjectDn: '' });
      // …which the comparison then holds against the certificate's subject.
      expect(descriptionMismatch(parseCertificate(forwarded.leaf), forwarded.description!)).to.equal(
        "The proxy's subject DN does not match the forwarded certificate.",
      );
    });

    it("attack: ingress-nginx without pass-certificate-to-upstream — Mallory sends Alice's certificate, nginx describes Mallory's", () => {
      // Alice = ecLeaf (CN=alice,O=Acme), Mallory = rsaLeaf (CN=bob): both valid certificates of the same CA.
      const forged = must(readHeaderSource(ingress(), nginxHeaders(ecLeaf, 'CN=bob')));
      expect(forged.leaf.equals(ecLeaf.der)).to.equal(true);
      expect(descriptionMismatch(parseCertificate(forged.leaf), forged.description!)).to.equal(
        "The proxy's subject DN does not match the forwarded certificate.",
      );
      // Alice herself, through the same proxy: the description agrees.
      const honest = must(readHeaderSource(ingress(), nginxHeaders(ecLeaf, 'CN=alice,O=Acme')));
      expect(descriptionMismatch(parseCertificate(honest.leaf), honest.description!)).to.equal(null);
      // Mallory's header without any description (a host without auth-tls-secret): refused before any comparison.
      expect(thrown(() => readHeaderSource(ingress(), { 'ssl-client-cert': nginxEscape(ecLeaf.cert) })).code).to.equal(
        'client_certificate_untrusted',
      );
    });
  });

  describe('header sources: compileHeaderSource', () => {
    it("fills in each source's default headers and reports every header it reads", () => {
      const compiled = (options: HeaderSourceOptions): CompiledHeaderSource => compileHeaderSource(options);
      expect(compiled({ source: 'rfc9440' })).to.include({
        header: 'client-cert',
        chainHeader: 'client-cert-chain',
        hasVerdict: false,
      });
      expect(compiled({ source: 'traefik' }).headers).to.deep.equal([
        'x-forwarded-tls-client-cert',
        'x-forwarded-tls-client-cert-info',
      ]);
      expect(compiled({ source: 'url-pem' }).headers).to.deep.equal(['ssl-client-cert']);
      expect(compiled({ source: 'base64-der' }).headers).to.deep.equal(['x-client-cert']);
      expect(compiled({ source: 'aws-alb' })).to.include({
        header: 'x-amzn-mtls-clientcert',
        mode: 'passthrough',
        hasVerdict: false,
      });
      expect(compiled({ source: 'aws-alb', mode: 'verify', header: 'X-Renamed-Leaf' }).header).to.equal(
        'x-renamed-leaf',
      );
      const nginx = compiled({ source: 'url-pem', header: 'X-SSL-Client-Cert', verifyHeader: 'X-SSL-Client-Verify' });
      expect(nginx.headers).to.deep.equal(['x-ssl-client-cert', 'x-ssl-client-verify']);
      expect(nginx.verifyHeader).to.deep.equal({ name: 'x-ssl-client-verify', success: ['SUCCESS'], none: ['NONE'] });
      expect(nginx.description).to.equal('url-pem (x-ssl-client-cert, x-ssl-client-verify)');
      expect(compiled({ source: 'aws-alb', mode: 'verify' }).description).to.equal(
        'aws-alb verify (x-amzn-mtls-clientcert-leaf)',
      );
      expect(compiled({ header: 'x-my', decode: () => undefined }).source).to.equal('custom');
      expect(Object.isFrozen(nginx)).to.equal(true);
      expect(Object.isFrozen(nginx.headers)).to.equal(true);
    });

    it("takes a verify header with its own vocabulary (HAProxy's integer, Cloudflare's boolean)", () => {
      const haproxy = compileHeaderSource({
        source: 'base64-der',
        verifyHeader: { name: 'x-ssl-client-verify', success: ['0'] },
      });
      const headers = { 'x-client-cert': F.DERIVED_BASE64_DER_LEAF };
      expect(readHeaderSource(haproxy, { ...headers, 'x-ssl-client-verify': '0' })?.proxyVerdict).to.equal('verified');
      expect(readHeaderSource(haproxy, { ...headers, 'x-ssl-client-verify': '10' })?.proxyVerdict).to.equal('failed');
      expect(readHeaderSource(haproxy, headers)?.proxyVerdict).to.equal(null);
    });

    it('names the option in every configuration error', () => {
      expectInvalidOption(() => compileHeaderSource(null as unknown as HeaderSourceOptions), 'source');
      expectInvalidOption(
        () => compileHeaderSource({ source: 'xfcc' } as unknown as HeaderSourceOptions),
        'source.source',
      );
      expectInvalidOption(() => compileHeaderSource({ source: 'rfc9440', header: 'bad header' }), 'source.header');
      expectInvalidOption(
        () => compileHeaderSource({ source: 'rfc9440', header: 42 } as unknown as HeaderSourceOptions),
        'source.header',
      );
      expectInvalidOption(() => compileHeaderSource({ source: 'rfc9440', chainHeader: 'a:b' }), 'source.chainHeader');
      expectInvalidOption(
        () => compileHeaderSource({ source: 'url-pem', chainHeader: 'x' } as unknown as HeaderSourceOptions),
        'source.chainHeader',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'aws-alb', mode: 'off' } as unknown as HeaderSourceOptions),
        'source.mode',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'aws-alb', mode: 'verify', verifyHeader: 'x-v' }),
        'source.verifyHeader',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'url-pem', verifyHeader: { name: 'x-v', success: [] } }),
        'source.verifyHeader.success',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'url-pem', verifyHeader: { name: 'x-v', success: ['A'], none: ['A'] } }),
        'source.verifyHeader',
      );
      expectInvalidOption(
        () =>
          compileHeaderSource({
            source: 'url-pem',
            verifyHeader: { name: 'x-v', success: ['A'], extra: 1 } as unknown as string,
          }),
        'source.verifyHeader.extra',
      );
      expectInvalidOption(() => compileHeaderSource({ source: 'url-pem', verifyHeader: 'ssl-client-cert' }), 'source');
      expectInvalidOption(
        () => compileHeaderSource({ source: 'rfc9440', limits: { maxLength: 0 } }),
        'source.limits.maxLength',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'rfc9440', limits: { maxChainLength: 1.5 } }),
        'source.limits.maxChainLength',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'rfc9440', limits: { other: 1 } as HeaderSourceOptions['limits'] }),
        'source.limits.other',
      );
      expectInvalidOption(
        () => compileHeaderSource({ header: 'x-my', decode: 'hex' } as unknown as HeaderSourceOptions),
        'source.decode',
      );
      expectInvalidOption(
        () => compileHeaderSource({ decode: () => undefined } as unknown as HeaderSourceOptions),
        'source.header',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'base64-der', decode: () => undefined } as unknown as HeaderSourceOptions),
        'source.decode',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'traefik', infoHeader: 'x-forwarded-tls-client-cert' }),
        'source',
      );
      expectInvalidOption(
        () => compileHeaderSource({ source: 'rfc9440', header: 'x a' }, 'rfc9440Options'),
        'rfc9440Options.header',
      );
    });
  });
});
