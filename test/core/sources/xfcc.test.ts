import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { ClientCertError } from '../../../packages/core/src/errors.js';
import {
  DEFAULT_XFCC_LIMITS,
  formatXfcc,
  parseXfcc,
  selectXfccElement,
  type XfccElement,
  xfccHashMatches,
  xfccLeaf,
} from '../../../packages/core/src/sources/xfcc.js';
import { derToPem, parseCertificate, pemToDer } from '../../../packages/core/src/x509/certificate.js';
import {
  ACA_PLACEHOLDER,
  CONSUL_BETWEEN_PEERS,
  CONSUL_BETWEEN_SERVICES,
  DERIVED_APACHE_RAW_PEM,
  DERIVED_AWS_URL_PEM_CHAIN,
  DERIVED_ENVOY_ELEMENT,
  DERIVED_LEAF_URL_PEM,
  ENVOY_131_CAPTURE,
  ENVOY_DOCS_1,
  ENVOY_DOCS_2,
  ENVOY_DOCS_3,
  ENVOY_INTEGRATION_APPEND,
  ENVOY_UNIT_EMPTY_URI,
  ENVOY_UNIT_FAKE_CERT,
  ENVOY_UNIT_NO_BY,
  ISTIO_DECODED,
  ISTIO_JSON_LINE,
} from '../../fixtures/xfcc-real.js';
import { thrown } from '../../helpers/errors.js';

// ---------------------------------------------------------------------------------------------
// helpers

function expectMalformed(value: string, messagePart?: string): ClientCertError {
  const error = thrown(() => parseXfcc(value));
  expect(error.code).to.equal('xfcc_malformed');
  if (messagePart !== undefined) expect(error.message).to.include(messagePart);
  return error;
}

/** Parses and returns exactly one element. */
function one(value: string): XfccElement {
  const elements = parseXfcc(value);
  expect(elements).to.have.length(1);
  return elements[0] as XfccElement;
}

function at(elements: XfccElement[], index: number): XfccElement {
  const element = elements[index];
  if (element === undefined) expect.fail(`no element ${index}`);
  return element;
}

function sha256Hex(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

function certOf(element: XfccElement): string {
  if (element.cert === undefined) expect.fail('element has no cert');
  return element.cert;
}

/** Every field of an element, so that assertions pin the whole shape (nothing unexpected). */
function element(fields: Partial<XfccElement>): XfccElement {
  return { by: [], chain: [], uri: [], dns: [], extra: {}, ...fields };
}

/** Base64 body of a PEM on one line, for building raw-PEM (Azure Container Apps style) values. */
function base64Of(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '');
}

const LEAF_13_HASH = 'bfaf1f7e070f9fa8dd62905f158da73f84a1136624fbafcc9393c8f7287a69eb';
const LEAF_13_PEM = decodeURIComponent(DERIVED_LEAF_URL_PEM);

const ALL_PARSEABLE_REAL: Record<string, string> = {
  'Envoy docs 1 (§1.8.1)': ENVOY_DOCS_1,
  'Envoy docs 2 (§1.8.1)': ENVOY_DOCS_2,
  'Envoy docs 3 (§1.8.1)': ENVOY_DOCS_3,
  'Envoy integration append (§1.8.2)': ENVOY_INTEGRATION_APPEND,
  'Envoy unit test, fake Cert (§1.8.3)': ENVOY_UNIT_FAKE_CERT,
  'Envoy unit test, no By (§1.8.3)': ENVOY_UNIT_NO_BY,
  'Envoy unit test, empty URI (§1.8.3)': ENVOY_UNIT_EMPTY_URI,
  'Envoy 1.31 capture (§1.8.4)': ENVOY_131_CAPTURE,
  'Consul between services (§1.8.5)': CONSUL_BETWEEN_SERVICES,
  'Consul between peers (§1.8.5)': CONSUL_BETWEEN_PEERS,
  'Istio (§3)': ISTIO_DECODED,
  'derived Envoy element (§13.2)': DERIVED_ENVOY_ELEMENT,
};

// ---------------------------------------------------------------------------------------------

describe('xfcc', () => {
  describe('parseXfcc: Envoy documentation examples (§1.8.1)', () => {
    it('example 1: By, Hash, slash-form Subject, URI', () => {
      expect(one(ENVOY_DOCS_1)).to.deep.equal(
        element({
          by: ['http://frontend.lyft.com'],
          hash: '468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688',
          subject: '/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client',
          uri: ['http://testclient.lyft.com'],
        }),
      );
    });

    it('example 2: two elements, leftmost first', () => {
      expect(parseXfcc(ENVOY_DOCS_2)).to.deep.equal([
        element({
          by: ['http://frontend.lyft.com'],
          hash: '468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688',
          uri: ['http://testclient.lyft.com'],
        }),
        element({
          by: ['http://backend.lyft.com'],
          hash: '9ba61d6425303443c0748a02dd8de688468ed33be74eee6556d90c0149c1309e',
          uri: ['http://frontend.lyft.com'],
        }),
      ]);
    });

    it('example 3: repeated DNS pairs accumulate', () => {
      expect(one(ENVOY_DOCS_3)).to.deep.equal(
        element({
          by: ['http://frontend.lyft.com'],
          hash: '468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688',
          subject: '/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client',
          uri: ['http://testclient.lyft.com'],
          dns: ['lyft.com', 'www.lyft.com'],
        }),
      );
    });
  });

  describe('parseXfcc: Envoy integration test value (§1.8.2)', () => {
    it('keeps the client-supplied element first and the quoted RFC 2253 Subject whole', () => {
      const elements = parseXfcc(ENVOY_INTEGRATION_APPEND);
      expect(elements).to.deep.equal([
        element({
          by: ['spiffe://lyft.com/frontend'],
          hash: '123456',
          uri: ['spiffe://lyft.com/testclient'],
        }),
        element({
          by: ['spiffe://lyft.com/backend-team'],
          hash: 'e0f3c8ce5e2ea305f0701ff512e36e2e97928284a228bcf77332d33930a1b6fd',
          subject:
            'emailAddress=frontend-team@lyft.com,CN=Test Frontend Team,OU=Lyft Engineering,O=Lyft,L=San Francisco,ST=California,C=US',
          uri: ['spiffe://lyft.com/frontend-team'],
          dns: ['lyft.com', 'www.lyft.com'],
        }),
      ]);
    });
  });

  describe('parseXfcc: Envoy unit test values (§1.8.3)', () => {
    it('parses the unit test whose Cert is the fake "==abc\\nde=": the decoded text, not a certificate', () => {
      const elements = parseXfcc(ENVOY_UNIT_FAKE_CERT);
      expect(elements).to.deep.equal([
        element({ by: ['test://foo.com/fe'], uri: ['test://bar.com/be'], dns: ['test.com', 'test.com'] }),
        element({
          by: ['test://foo.com/be'],
          hash: 'abcdefg',
          uri: ['test://foo.com/fe'],
          cert: '==abc\nde=',
          dns: ['www.example.com'],
        }),
      ]);
      expect(parseXfcc(formatXfcc(elements))).to.deep.equal(elements);
      expect(thrown(() => parseCertificate(at(elements, 1).cert as string)).code).to.equal('certificate_malformed');
    });

    it('parses the same value once the fake Cert pair is removed', () => {
      const withoutCert = ENVOY_UNIT_FAKE_CERT.replace(';Cert="%3D%3Dabc%0Ade%3D"', '');
      expect(withoutCert).to.not.equal(ENVOY_UNIT_FAKE_CERT);
      expect(parseXfcc(withoutCert)).to.deep.equal([
        element({ by: ['test://foo.com/fe'], uri: ['test://bar.com/be'], dns: ['test.com', 'test.com'] }),
        element({
          by: ['test://foo.com/be'],
          hash: 'abcdefg',
          uri: ['test://foo.com/fe'],
          dns: ['www.example.com'],
        }),
      ]);
    });

    it('an element without By (proxy certificate without URI SAN)', () => {
      expect(parseXfcc(ENVOY_UNIT_NO_BY)).to.deep.equal([
        element({ by: ['test://foo.com/fe'], hash: 'xyz', uri: ['test://bar.com/be'] }),
        element({ hash: 'abcdefg', uri: ['test://foo.com/fe'] }),
      ]);
    });

    it('a trailing bare "URI=" means no URI SAN', () => {
      expect(one(ENVOY_UNIT_EMPTY_URI)).to.deep.equal(
        element({
          by: ['test://foo.com/be'],
          hash: 'abcdefg',
          subject: '/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=test.lyft.com',
        }),
      );
    });
  });

  describe('parseXfcc: live Envoy 1.31 capture (§1.8.4)', () => {
    it('decodes Cert and Chain; Hash is the certificate SHA-256; Chain equals Cert', () => {
      const e = one(ENVOY_131_CAPTURE);
      expect(e.by).to.deep.equal([]);
      expect(e.hash).to.equal('ddb484787c2db45582770febb6d899606fbdd32099386d85a73a17f9ffce9627');
      expect(e.subject).to.equal('CN=user,OU=users,O=example');
      expect(e.uri).to.deep.equal([]);
      expect(e.dns).to.deep.equal([]);
      expect(e.extra).to.deep.equal({});
      const x509 = new X509Certificate(certOf(e));
      expect(x509.subject).to.equal('O=example\nOU=users\nCN=user');
      expect(x509.issuer).to.equal('CN=client-ca');
      expect(x509.raw).to.have.length(573);
      expect(sha256Hex(certOf(e))).to.equal(e.hash);
      expect(e.chain).to.deep.equal([e.cert]);
      expect(xfccHashMatches(e, x509.raw)).to.equal(true);
    });

    it('returns canonical PEM (64-character lines, trailing newline)', () => {
      const cert = certOf(one(ENVOY_131_CAPTURE));
      expect(cert).to.match(
        /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
      );
      expect(derToPem(pemToDer(cert))).to.equal(cert);
    });
  });

  describe('parseXfcc: Consul values (§1.8.5)', () => {
    it('between services: one element, SPIFFE URI, empty quoted Subject', () => {
      const e = one(CONSUL_BETWEEN_SERVICES);
      expect(e.by).to.deep.equal(['spiffe://f1efe25e-a9b1-1ae1-b580-98000b84a935.consul/ns/default/dc/primary/svc/s2']);
      expect(e.hash).to.equal('c552ee3990fd6e9bb38b1a8bdd28e8358c339d282e6bb92fc86d04915407f47d');
      expect(e.subject).to.equal('');
      expect(e.uri).to.deep.equal([
        'spiffe://f1efe25e-a9b1-1ae1-b580-98000b84a935.consul/ns/default/dc/primary/svc/s1',
      ]);
      expect(e.dns).to.deep.equal([]);
      expect(sha256Hex(certOf(e))).to.equal(e.hash);
      expect(e.chain).to.deep.equal([e.cert]);
      expect(new X509Certificate(certOf(e)).subjectAltName).to.equal(
        'URI:spiffe://f1efe25e-a9b1-1ae1-b580-98000b84a935.consul/ns/default/dc/primary/svc/s1',
      );
    });

    it('between peers: two elements, each Hash matches its own Cert', () => {
      const elements = parseXfcc(CONSUL_BETWEEN_PEERS);
      expect(elements).to.have.length(2);
      const [gateway, sidecar] = [at(elements, 0), at(elements, 1)];
      expect(gateway.by).to.deep.equal(['spiffe://ca9857da-71aa-c5be-ec8f-abcd90cae693.consul/gateway/mesh/dc/alpha']);
      expect(gateway.hash).to.equal('419c850ddc7a32edc752d73bb0f0c6e4c2f5b40feae7cf0cdeeb6f3dd759ed1f');
      expect(gateway.uri).to.deep.equal([
        'spiffe://fc9a08ef-efb4-bbc9-b3ec-b93e768abfc2.consul/ns/default/dc/primary/svc/s1',
      ]);
      expect(gateway.subject).to.equal('');
      expect(sidecar.by).to.deep.equal([
        'spiffe://ca9857da-71aa-c5be-ec8f-abcd90cae693.consul/ns/default/dc/alpha/svc/s2',
      ]);
      expect(sidecar.hash).to.equal('1db4ea1e68df1ea0cec7d7ba882ca734d3e1a29a0fe64e73275b6ab796234295');
      expect(sidecar.uri).to.deep.equal(['spiffe://ca9857da-71aa-c5be-ec8f-abcd90cae693.consul/gateway/mesh/dc/alpha']);
      expect(sidecar.subject).to.equal('');
      for (const e of elements) {
        expect(sha256Hex(certOf(e))).to.equal(e.hash);
        expect(e.chain).to.deep.equal([e.cert]);
        expect(e.dns).to.deep.equal([]);
      }
    });
  });

  describe('parseXfcc: Azure Container Apps (§2)', () => {
    // Microsoft's example shape, verbatim, with its placeholders filled by the §13 certificates.
    const acaValue = (certValue: string, chainValue: string, hash = LEAF_13_HASH): string => {
      const parts = ACA_PLACEHOLDER.split('-----BEGIN CERTIFICATE-----<CERTIFICATE_VALUE>');
      expect(parts).to.have.length(3);
      return `${(parts[0] as string).replace('<HASH_VALUE>', hash)}${certValue}${parts[1]}${chainValue}${parts[2]}`;
    };
    const chain13 = parseXfcc(DERIVED_ENVOY_ELEMENT)[0]?.chain ?? [];

    it('the documented placeholder itself parses (its Cert is text, which no certificate parser accepts)', () => {
      expect(ACA_PLACEHOLDER.endsWith('";')).to.equal(true);
      const e = one(ACA_PLACEHOLDER);
      expect(e.hash).to.equal('<HASH_VALUE>');
      expect(e.cert).to.equal('-----BEGIN CERTIFICATE-----<CERTIFICATE_VALUE>');
      expect(e.chain).to.deep.equal(['-----BEGIN CERTIFICATE-----<CERTIFICATE_VALUE>']);
      expect(thrown(() => parseCertificate(e.cert as string)).code).to.equal('certificate_malformed');
    });

    it('raw PEM with spaces for newlines, trailing ";"', () => {
      const value = acaValue(DERIVED_APACHE_RAW_PEM, chain13.map((pem) => pem.replace(/\n/g, ' ')).join(''));
      const e = one(value);
      expect(e.hash).to.equal(LEAF_13_HASH);
      expect(e.cert).to.equal(LEAF_13_PEM);
      expect(e.chain).to.deep.equal(chain13);
      expect(xfccHashMatches(e, pemToDer(certOf(e)))).to.equal(true);
    });

    it('raw PEM with no separators at all', () => {
      const compact = (pem: string): string => `-----BEGIN CERTIFICATE-----${base64Of(pem)}-----END CERTIFICATE-----`;
      const e = one(acaValue(compact(LEAF_13_PEM), chain13.map(compact).join('')));
      expect(e.cert).to.equal(LEAF_13_PEM);
      expect(e.chain).to.deep.equal(chain13);
    });

    it("URL-encoded PEM (what Microsoft's sample parser URL-decodes)", () => {
      const urlChain = chain13.map(encodeURIComponent).join('');
      const e = one(acaValue(DERIVED_LEAF_URL_PEM, urlChain));
      expect(e.cert).to.equal(LEAF_13_PEM);
      expect(e.chain).to.deep.equal(chain13);
      expect(sha256Hex(certOf(e))).to.equal(e.hash);
    });
  });

  describe('parseXfcc: Istio (§3)', () => {
    it('the httpbin JSON line decodes to the documented value', () => {
      const json = JSON.parse(`{${ISTIO_JSON_LINE}}`) as Record<string, string>;
      expect(json['X-Forwarded-Client-Cert']).to.equal(ISTIO_DECODED);
    });

    it('sidecar element: By, Hash, empty Subject, caller SPIFFE ID', () => {
      expect(one(ISTIO_DECODED)).to.deep.equal(
        element({
          by: ['spiffe://cluster.local/ns/foo/sa/httpbin'],
          hash: 'e5178ee79066bfbafb1d98044fcd0cf80db76be8714c7a4b630c7922df520bf2',
          subject: '',
          uri: ['spiffe://cluster.local/ns/foo/sa/sleep'],
        }),
      );
    });
  });

  describe('parseXfcc: derived Envoy element (§13.2)', () => {
    it('Cert + two-certificate Chain (leaf, LA intermediate), Subject CN=BC, empty URI', () => {
      const e = one(DERIVED_ENVOY_ELEMENT);
      expect(e.by).to.deep.equal([]);
      expect(e.hash).to.equal(LEAF_13_HASH);
      expect(e.subject).to.equal('CN=BC');
      expect(e.uri).to.deep.equal([]);
      expect(e.dns).to.deep.equal([]);
      expect(e.cert).to.equal(LEAF_13_PEM);
      expect(sha256Hex(certOf(e))).to.equal(LEAF_13_HASH);
      expect(e.chain).to.have.length(2);
      expect(e.chain[0]).to.equal(e.cert);
      const leaf = new X509Certificate(e.chain[0] as string);
      const intermediate = new X509Certificate(e.chain[1] as string);
      expect(leaf.subject).to.equal('CN=BC');
      expect(intermediate.subject).to.equal("O=Let's Authenticate\nCN=LA Intermediate CA");
      expect(leaf.checkIssued(intermediate)).to.equal(true);
    });
  });

  describe('parseXfcc: percent-decoding of Cert/Chain', () => {
    it('regression: a literal "+" in URL-encoded PEM decodes to "+", not a space', () => {
      // §13.9 encodes with "+", "/" and "=" left as they are (AWS ALB rule).
      expect(DERIVED_AWS_URL_PEM_CHAIN).to.include('+');
      const e = one(`Chain="${DERIVED_AWS_URL_PEM_CHAIN}"`);
      const expected = one(DERIVED_ENVOY_ELEMENT).chain;
      expect(e.chain).to.deep.equal(expected);
      expect(e.chain.join('')).to.include('+');
      expect(sha256Hex(e.chain[0] as string)).to.equal(LEAF_13_HASH);
    });

    it('regression: "+" in place of %2B in an Envoy Cert gives the same certificate', () => {
      const plus = DERIVED_LEAF_URL_PEM.replace(/%2B/g, '+');
      expect(plus).to.not.equal(DERIVED_LEAF_URL_PEM);
      expect(one(`Cert="${plus}"`).cert).to.equal(LEAF_13_PEM);
    });

    it('rejects bad percent-encoding', () => {
      expectMalformed(`Cert="${DERIVED_LEAF_URL_PEM.replace('%0A', '%ZZ')}"`, 'percent-encoding');
      expectMalformed(`Cert="${DERIVED_LEAF_URL_PEM}%"`, 'percent-encoding');
      expectMalformed(`Cert="${DERIVED_LEAF_URL_PEM}%4"`, 'percent-encoding');
      expectMalformed('Chain="%E0%A4%A"', 'percent-encoding');
      expectMalformed('Cert="%FF"', 'percent-encoding');
    });
  });

  describe("parseXfcc: Envoy's own parser test cases (§1.7)", () => {
    it('URI=abc', () => {
      expect(one('By=test;URI=abc;DNS=example.com').uri).to.deep.equal(['abc']);
    });

    it('quoted value with , ; = and an escaped quote', () => {
      expect(one(String.raw`By=test;URI="a,b,c;\"e;f;g=x";DNS=example.com`).uri).to.deep.equal(['a,b,c;"e;f;g=x']);
      const two = parseXfcc(String.raw`By=test;DNS=example.com,By=test;URI="a,b,c;\"e;f;g=x";DNS=example.com`);
      expect(two).to.have.length(2);
      expect(at(two, 0).uri).to.deep.equal([]);
      expect(at(two, 1).uri).to.deep.equal(['a,b,c;"e;f;g=x']);
      expect(at(two, 1).dns).to.deep.equal(['example.com']);
    });

    it('"\\\\" unescapes to one backslash', () => {
      const two = parseXfcc(String.raw`By=test;DNS=example.com,By=test;URI="\\";DNS=example.com`);
      expect(at(two, 1).uri).to.deep.equal(['\\']);
    });

    it('"\\\\\\"" unescapes to backslash + quote', () => {
      const two = parseXfcc(String.raw`By=test;DNS=example.com,By=test;URI="\\\"";DNS=example.com`);
      expect(at(two, 1).uri).to.deep.equal([String.raw`\"`]);
    });

    it('unmatched quotes are an error', () => {
      expectMalformed('By=test;URI="abc;DNS=example.com', 'unterminated quoted value');
    });

    it('other backslashes are kept (RFC 2253 escapes survive)', () => {
      expect(one(String.raw`Subject="CN=a\,b\+c,O=x"`).subject).to.equal(String.raw`CN=a\,b\+c,O=x`);
    });
  });

  describe('parseXfcc: grammar details', () => {
    it('keys are case-insensitive', () => {
      expect(one('BY=a;hAsH=b;uri=c;Dns=d;SUBJECT="e";issuer="f"')).to.deep.equal(
        element({
          by: ['a'],
          hash: 'b',
          uri: ['c'],
          dns: ['d'],
          subject: 'e',
          issuer: 'f',
        }),
      );
    });

    it('splits a pair at the first "=" only', () => {
      expect(one('URI=https://x/?a=b&c=d;By==').uri).to.deep.equal(['https://x/?a=b&c=d']);
      expect(one('By==').by).to.deep.equal(['=']);
    });

    it('Node\'s duplicate-header join "A, B" is two elements', () => {
      const joined = `${ENVOY_UNIT_EMPTY_URI}, ${ISTIO_DECODED}`;
      expect(parseXfcc(joined)).to.deep.equal([...parseXfcc(ENVOY_UNIT_EMPTY_URI), ...parseXfcc(ISTIO_DECODED)]);
      expect(parseXfcc(`${ENVOY_131_CAPTURE}, ${CONSUL_BETWEEN_SERVICES}`)).to.have.length(2);
    });

    it('skips SP/HTAB around elements, separators and "="', () => {
      expect(parseXfcc(' \tBy=a ; URI = "b" \t,\t Hash=c ; ')).to.deep.equal([
        element({ by: ['a'], uri: ['b'] }),
        element({ hash: 'c' }),
      ]);
    });

    it('ignores empty pairs and a trailing ";"', () => {
      expect(one(';;By=a;;URI=b;')).to.deep.equal(element({ by: ['a'], uri: ['b'] }));
    });

    it('quoted empty Subject is an empty string; bare empty URI/DNS/By add nothing', () => {
      expect(one('Subject="";URI=;DNS=;By=')).to.deep.equal(element({ subject: '' }));
    });

    it('unknown keys go to extra, lower-cased, all values kept', () => {
      const e = one('By=a;X-New="1;2";x-new=3;Other=');
      expect(e.extra).to.deep.equal({ 'x-new': ['1;2', '3'], other: [''] });
    });

    it('"__proto__" is an ordinary extra key (no prototype pollution)', () => {
      const e = one('__proto__=x;constructor=y');
      expect(Object.keys(e.extra)).to.deep.equal(['__proto__', 'constructor']);
      // biome-ignore lint/suspicious/noProto: the test is that a key named __proto__ is a plain own key
      expect(e.extra.__proto__).to.deep.equal(['x']);
      expect(({} as Record<string, unknown>).x).to.equal(undefined);
      expect(Object.getPrototypeOf(e.extra)).to.equal(null);
      expect(parseXfcc(formatXfcc([e]))).to.deep.equal([e]);
    });

    it('an empty or whitespace-only value has no elements', () => {
      expect(parseXfcc('')).to.deep.equal([]);
      expect(parseXfcc(' \t ')).to.deep.equal([]);
    });

    it('Hash is kept as written (fake hashes from Envoy tests parse)', () => {
      expect(one('Hash=123456').hash).to.equal('123456');
      expect(one('Hash=abcdefg').hash).to.equal('abcdefg');
    });

    it('internal whitespace of a bare value is kept, surrounding whitespace is not', () => {
      expect(one('URI= a b \t;DNS=c').uri).to.deep.equal(['a b']);
    });

    it('HTAB is allowed inside values; non-ASCII text passes through', () => {
      expect(one('Subject="a\tb";URI=spiffe://td/é').subject).to.equal('a\tb');
      expect(one('URI=spiffe://td/é').uri).to.deep.equal(['spiffe://td/é']);
    });
  });

  describe('parseXfcc: malformed input → xfcc_malformed', () => {
    const cases: [string, string, string][] = [
      ['unterminated quote', 'Subject="abc', 'unterminated'],
      ['unterminated quote ending in a backslash', 'Subject="abc\\', 'unterminated'],
      ['escaped closing quote leaves it open', 'Subject="abc\\"', 'unterminated'],
      ['quote opened in a bare value', 'URI=a"b', 'quote inside an unquoted value'],
      ['quote opened in a bare value (escaped)', 'URI=a\\"b";Hash=x', 'quote inside an unquoted value'],
      ['junk after a closing quote', 'Subject="a"b;URI=x', 'after closing quote'],
      ['second quoted string after a closing quote', 'Subject="a" "b"', 'after closing quote'],
      ['pair without "="', 'By=a;URI', 'without "="'],
      ['lone key', 'Hash', 'without "="'],
      ['lone key before a comma', 'Hash,By=a', 'without "="'],
      ['empty key', '=abc', 'empty key'],
      ['empty key after ";"', 'By=a;=b', 'empty key'],
      ['quoted key', '"By"=a', 'invalid character in key'],
      ['space inside a key', 'Ha sh=1', 'invalid character in key'],
      ['repeated Hash', 'Hash=a;By=x;Hash=b', 'repeated single-valued key'],
      ['repeated Hash, different case', 'Hash=a;HASH=b', 'repeated single-valued key'],
      ['repeated Subject', 'Subject="a";Subject="b"', 'repeated single-valued key'],
      ['repeated Issuer', 'Issuer="a";Issuer="b"', 'repeated single-valued key'],
      ['repeated Cert', `Cert="${DERIVED_LEAF_URL_PEM}";Cert="${DERIVED_LEAF_URL_PEM}"`, 'repeated single-valued key'],
      [
        'repeated Chain',
        `Chain="${DERIVED_LEAF_URL_PEM}";Chain="${DERIVED_LEAF_URL_PEM}"`,
        'repeated single-valued key',
      ],
      ['empty Hash', 'Hash=;URI=a', 'empty Hash'],
      ['empty quoted Hash', 'Hash="";URI=a', 'empty Hash'],
      ['NUL', 'URI=a\u0000b', 'control character at position 5'],
      ['LF', 'URI=a\nHash=b', 'control character'],
      ['CR inside quotes', 'Subject="a\rb"', 'control character'],
      ['0x1F', 'URI=\u001f', 'control character'],
      ['DEL', 'URI=a\u007f', 'control character'],
      ['empty element between commas', 'By=a,,By=b', 'empty element'],
      ['empty element with whitespace', 'By=a, ,By=b', 'empty element'],
      ['leading comma', ',By=a', 'empty element at position 0'],
      ['trailing comma', 'By=a,', 'empty element'],
      ['element of empty pairs only', 'By=a,;;', 'empty element'],
      ['injected element via a bare value', 'URI=spiffe://td/a",Hash=evil', 'quote inside an unquoted value'],
      [
        'injected key via a quoted value',
        'Subject="CN=a";Hash=good;Subject="x";Hash=evil',
        'repeated single-valued key',
      ],
    ];
    for (const [name, value, message] of cases) {
      it(name, () => {
        expectMalformed(value, message);
      });
    }

    it('messages never echo the header text', () => {
      for (const value of ['URI=EVIL"x', 'Subject="EVIL', 'EVIL', 'Hash=EVIL;Hash=EVIL', 'Cert="EVIL%ZZ"']) {
        const error = expectMalformed(value);
        expect(error.message).to.not.include('EVIL');
        expect(error.expose).to.equal(true);
      }
    });

    it('a non-string value is malformed, not a crash', () => {
      const error = thrown(() => parseXfcc(['By=a'] as unknown as string));
      expect(error.code).to.equal('xfcc_malformed');
    });
  });

  // XFCC only carries Cert and Chain; whether they are certificates is for the certificate parser
  // to say (the pipeline answers client_certificate_malformed). So these parse, as text.
  describe('parseXfcc: Cert / Chain that are not certificates → text, rejected by parseCertificate', () => {
    const cases: [string, string][] = [
      ['Cert that is not PEM', 'Cert="hello"'],
      ['empty Cert', 'Cert=""'],
      ['Cert with two certificates', `Cert="${DERIVED_LEAF_URL_PEM}${DERIVED_LEAF_URL_PEM}"`],
      ['Cert without END', `Cert="${DERIVED_LEAF_URL_PEM.replace('-----END%20CERTIFICATE-----%0A', '')}"`],
      ['Cert of another PEM type', `Cert="${DERIVED_LEAF_URL_PEM.replace(/CERTIFICATE/g, 'PRIVATE%20KEY')}"`],
      ['Cert with bad base64', `Cert="${DERIVED_LEAF_URL_PEM.replace('MIIB', 'M!IB')}"`],
      ['Cert with truncated base64', `Cert="${DERIVED_LEAF_URL_PEM.replace('MIIB', 'MIB')}"`],
      [
        'Cert with base64 that is not a DER certificate',
        'Cert="-----BEGIN CERTIFICATE-----QUFBQQ==-----END CERTIFICATE-----"',
      ],
      ['empty Chain', 'Chain=""'],
      ['Chain that is not PEM', 'Chain="junk"'],
    ];
    for (const [name, value] of cases) {
      it(name, () => {
        const e = one(value);
        const texts = [...(e.cert === undefined ? [] : [e.cert]), ...e.chain];
        for (const text of texts) {
          expect(thrown(() => parseCertificate(text)).code, name).to.equal('certificate_malformed');
        }
      });
    }

    it('text around a PEM block is explanatory text (RFC 7468): the certificate inside is read', () => {
      for (const value of [`Cert="${DERIVED_LEAF_URL_PEM}junk"`, `Cert="junk${DERIVED_LEAF_URL_PEM}"`]) {
        expect(parseCertificate(one(value).cert as string).fingerprints.sha256).to.equal(LEAF_13_HASH);
      }
      expect(one(`Chain="${DERIVED_LEAF_URL_PEM}junk${DERIVED_LEAF_URL_PEM}"`).chain).to.deep.equal([
        LEAF_13_PEM,
        LEAF_13_PEM,
      ]);
    });

    it('an empty Chain is no chain; an empty Cert is an empty string', () => {
      expect(one('Chain=""').chain).to.deep.equal([]);
      expect(one('Cert=""').cert).to.equal('');
    });
  });

  describe('parseXfcc: limits', () => {
    it('exports the defaults', () => {
      expect(DEFAULT_XFCC_LIMITS).to.deep.equal({ maxLength: 65536, maxElements: 16, maxChainLength: 10 });
      expect(Object.isFrozen(DEFAULT_XFCC_LIMITS)).to.equal(true);
    });

    it('maxLength: checked first, named in the message', () => {
      const long = `URI=${'a'.repeat(65536 - 4)}`;
      expect(long).to.have.length(65536);
      expect(one(long).uri[0]).to.have.length(65532);
      expectMalformed(`${long}a`, 'maxLength (65536 characters)');
      // Checked before anything else: the control character is never reached.
      expectMalformed(`\u0000${long}`, 'maxLength');
      const error = thrown(() => parseXfcc(ISTIO_DECODED, { maxLength: 100 }));
      expect(error.code).to.equal('xfcc_malformed');
      expect(error.message).to.include('maxLength (100 characters)');
      expect(parseXfcc(ISTIO_DECODED, { maxLength: ISTIO_DECODED.length })).to.have.length(1);
    });

    it('maxElements', () => {
      const hops = (n: number): string => Array.from({ length: n }, (_, i) => `By=hop${i}`).join(',');
      expect(parseXfcc(hops(16))).to.have.length(16);
      expectMalformed(hops(17), 'maxElements (16)');
      expect(parseXfcc(CONSUL_BETWEEN_PEERS, { maxElements: 2 })).to.have.length(2);
      const error = thrown(() => parseXfcc(CONSUL_BETWEEN_PEERS, { maxElements: 1 }));
      expect(error.code).to.equal('xfcc_malformed');
      expect(error.message).to.include('maxElements (1)');
    });

    it('maxChainLength', () => {
      const chainOf = (n: number): string => `Chain="${DERIVED_LEAF_URL_PEM.repeat(n)}"`;
      expect(one(chainOf(10)).chain).to.have.length(10);
      expectMalformed(chainOf(11), 'maxChainLength (10)');
      const error = thrown(() => parseXfcc(DERIVED_ENVOY_ELEMENT, { maxChainLength: 1 }));
      expect(error.code).to.equal('xfcc_malformed');
      expect(error.message).to.include('maxChainLength (1)');
      expect(one(DERIVED_ENVOY_ELEMENT).chain).to.have.length(2);
    });

    it('an undefined limit falls back to the default; invalid limits are an option error', () => {
      expect(parseXfcc(ISTIO_DECODED, { maxLength: undefined })).to.have.length(1);
      for (const limits of [
        { maxLength: 0 },
        { maxElements: -1 },
        { maxChainLength: 1.5 },
        { maxLength: Number.NaN },
      ]) {
        expect(thrown(() => parseXfcc(ISTIO_DECODED, limits)).code).to.equal('invalid_option');
      }
    });
  });

  describe('formatXfcc', () => {
    it("writes the real values back byte for byte when Envoy's key order was used", () => {
      for (const value of [
        ENVOY_DOCS_1,
        ENVOY_DOCS_2,
        ENVOY_DOCS_3,
        ENVOY_INTEGRATION_APPEND,
        ENVOY_UNIT_NO_BY,
        ENVOY_131_CAPTURE,
        CONSUL_BETWEEN_SERVICES,
        CONSUL_BETWEEN_PEERS,
        ISTIO_DECODED,
      ]) {
        expect(formatXfcc(parseXfcc(value))).to.equal(value);
      }
    });

    it('does not write "URI=" when there is no URI (parse treats both the same)', () => {
      expect(DERIVED_ENVOY_ELEMENT.endsWith(';URI=')).to.equal(true);
      expect(formatXfcc(parseXfcc(DERIVED_ENVOY_ELEMENT))).to.equal(DERIVED_ENVOY_ELEMENT.slice(0, -';URI='.length));
      expect(formatXfcc(parseXfcc(ENVOY_UNIT_EMPTY_URI))).to.equal(ENVOY_UNIT_EMPTY_URI.slice(0, -';URI='.length));
    });

    it('URL-encodes PEM exactly as Envoy does', () => {
      expect(formatXfcc([{ cert: LEAF_13_PEM }])).to.equal(`Cert="${DERIVED_LEAF_URL_PEM}"`);
      expect(formatXfcc([{ cert: 'a b+/=*-._~!\n' }])).to.equal('Cert="a%20b%2B%2F%3D*-._%7E%21%0A"');
    });

    it('round trip parse → format → parse for every real value', () => {
      for (const [name, value] of Object.entries(ALL_PARSEABLE_REAL)) {
        const parsed = parseXfcc(value);
        const formatted = formatXfcc(parsed);
        expect(parseXfcc(formatted), name).to.deep.equal(parsed);
        expect(formatXfcc(parseXfcc(formatted)), name).to.equal(formatted);
      }
    });

    it('round trip format → parse with awkward characters', () => {
      const awkward = [
        'spiffe://td/a;b',
        'x,y',
        'k=v',
        'has space',
        'q"uote',
        'back\\slash',
        '\\"',
        ' lead',
        'trail\t',
        'é',
      ];
      const elements: XfccElement[] = [
        element({
          by: awkward,
          hash: 'not hex; really',
          cert: LEAF_13_PEM,
          chain: one(DERIVED_ENVOY_ELEMENT).chain,
          subject: String.raw`CN=a\,b,O="quoted",OU=back\\slash;x`,
          issuer: '',
          uri: [...awkward].reverse(),
          dns: ['*.example.com', 'a,b'],
          extra: { 'x-new': ['', 'v;w', '"'], __proto__x: ['p'] },
        }),
        element({ uri: ['only'] }),
        element({}),
        element({ subject: '' }),
      ];
      const formatted = formatXfcc(elements);
      expect(parseXfcc(formatted)).to.deep.equal(elements);
      expect(
        formatted.startsWith('By="spiffe://td/a;b";By="x,y";By="k=v";By="has space";By="q\\"uote";By="back\\\\slash"'),
      ).to.equal(true);
    });

    it('an element with no fields is written as "URI=" so it survives', () => {
      expect(formatXfcc([{}, { by: ['a'] }])).to.equal('URI=,By=a');
      expect(parseXfcc('URI=,By=a')).to.deep.equal([element({}), element({ by: ['a'] })]);
      expect(formatXfcc([])).to.equal('');
    });

    it('accepts partial elements and skips empty SAN entries', () => {
      expect(
        formatXfcc([
          { uri: ['u', ''], hash: 'h' },
          { dns: ['d'], subject: 's' },
        ]),
      ).to.equal('Hash=h;URI=u,Subject="s";DNS=d');
    });

    it('refuses control characters and non-token or colliding extra keys', () => {
      for (const bad of [
        [{ by: ['a\r\nX-Evil: 1'] }],
        [{ subject: 'a\u0000' }],
        [{ extra: { 'bad key': ['x'] } }],
        [{ extra: { Hash: ['x'] } }],
        [{ extra: { '': ['x'] } }],
      ] as Partial<XfccElement>[][]) {
        expect(thrown(() => formatXfcc(bad)).code).to.equal('xfcc_malformed');
      }
      expect(formatXfcc([{ cert: LEAF_13_PEM }])).to.not.include('\n');
    });
  });

  describe('selectXfccElement', () => {
    const elements = parseXfcc(CONSUL_BETWEEN_PEERS);

    it('last (default) is the proxy nearest the application', () => {
      expect(selectXfccElement(elements)).to.equal(elements[1]);
      expect(selectXfccElement(elements, 'last')).to.equal(elements[1]);
    });

    it('first is the earliest hop', () => {
      expect(selectXfccElement(elements, 'first')).to.equal(elements[0]);
    });

    it('only: one element, or xfcc_malformed', () => {
      const single = parseXfcc(ENVOY_131_CAPTURE);
      expect(selectXfccElement(single, 'only')).to.equal(single[0]);
      expect(thrown(() => selectXfccElement(elements, 'only')).code).to.equal('xfcc_malformed');
    });

    it('undefined when there are no elements; bad policy is an option error', () => {
      for (const policy of ['last', 'first', 'only'] as const)
        expect(selectXfccElement([], policy)).to.equal(undefined);
      expect(thrown(() => selectXfccElement(elements, 'middle' as 'last')).code).to.equal('invalid_option');
    });
  });

  describe('xfccHashMatches', () => {
    const capture = one(ENVOY_131_CAPTURE);
    const der = pemToDer(certOf(capture));
    const otherDer = pemToDer(LEAF_13_PEM);

    it('true when Hash is the SHA-256 of the DER (any case)', () => {
      expect(xfccHashMatches(capture, der)).to.equal(true);
      expect(xfccHashMatches({ ...capture, hash: (capture.hash as string).toUpperCase() }, der)).to.equal(true);
      for (const e of parseXfcc(CONSUL_BETWEEN_PEERS)) expect(xfccHashMatches(e, pemToDer(certOf(e)))).to.equal(true);
    });

    it('false for another certificate', () => {
      expect(xfccHashMatches(capture, otherDer)).to.equal(false);
    });

    it("false for the fake Hash=123456 from Envoy's tests against a real DER", () => {
      const fake = at(parseXfcc(ENVOY_INTEGRATION_APPEND), 0);
      expect(fake.hash).to.equal('123456');
      expect(xfccHashMatches(fake, der)).to.equal(false);
      expect(xfccHashMatches(element({ hash: `${capture.hash as string}00` }), der)).to.equal(false);
      expect(xfccHashMatches(element({ hash: 'z'.repeat(64) }), der)).to.equal(false);
      // U+0130 is 0x30 ("0") in latin1: non-ASCII must never be folded onto hex digits.
      const real = capture.hash as string;
      expect(xfccHashMatches(element({ hash: real.replace(/0/g, '\u0130') }), der)).to.equal(false);
    });

    it('true when there is no Hash', () => {
      expect(xfccHashMatches(one(ISTIO_DECODED.replace(/;Hash=[0-9a-f]+/, '')), der)).to.equal(true);
    });
  });

  describe('xfccLeaf: Cert, else the first of Chain (Envoy with chain: true alone)', () => {
    const capturePem = certOf(one(ENVOY_131_CAPTURE));
    const encoded = (pem: string): string => encodeURIComponent(pem);

    it('Chain without Cert: the first certificate of Chain, and Hash is checked against it', () => {
      const e = one(`Hash=${LEAF_13_HASH};Chain="${encoded(LEAF_13_PEM)}${encoded(capturePem)}";Subject="CN=BC";URI=`);
      expect(e.cert).to.equal(undefined);
      expect(xfccLeaf(e)).to.equal(LEAF_13_PEM);
      expect(xfccHashMatches(e, pemToDer(xfccLeaf(e)!))).to.equal(true);
      // A Hash of the second certificate does not match the leaf.
      const wrong = one(`Hash=${sha256Hex(capturePem)};Chain="${encoded(LEAF_13_PEM)}${encoded(capturePem)}"`);
      expect(xfccHashMatches(wrong, pemToDer(xfccLeaf(wrong)!))).to.equal(false);
    });

    it('Cert when present, whatever Chain starts with', () => {
      const e = one(`Hash=${LEAF_13_HASH};Cert="${encoded(LEAF_13_PEM)}";Chain="${encoded(capturePem)}"`);
      expect(xfccLeaf(e)).to.equal(LEAF_13_PEM);
    });

    it("an empty Cert is no Cert; neither Cert nor Chain (Envoy's default By and Hash) is no certificate", () => {
      expect(xfccLeaf(one(`Cert="";Chain="${encoded(LEAF_13_PEM)}"`))).to.equal(LEAF_13_PEM);
      expect(xfccLeaf(one(`By=spiffe://proxy;Hash=${LEAF_13_HASH};Subject="CN=BC";URI=;DNS=bc.example`))).to.equal(
        undefined,
      );
      expect(xfccLeaf(one('Chain=""'))).to.equal(undefined);
    });
  });

  describe('PEM as proxies flatten it (certificate.ts pemToDer / derToPem)', () => {
    it('round trip, tolerating whitespace in the input', () => {
      const der = pemToDer(DERIVED_APACHE_RAW_PEM);
      expect(derToPem(der)).to.equal(LEAF_13_PEM);
      expect(pemToDer(LEAF_13_PEM).equals(der)).to.equal(true);
      expect(new X509Certificate(der).subject).to.equal('CN=BC');
    });

    it('throws certificate_malformed on anything but one certificate', () => {
      for (const bad of ['', 'junk', LEAF_13_PEM + LEAF_13_PEM, LEAF_13_PEM.replace('MIIB', 'MI!B')]) {
        expect(thrown(() => pemToDer(bad)).code).to.equal('certificate_malformed');
      }
    });
  });
});
