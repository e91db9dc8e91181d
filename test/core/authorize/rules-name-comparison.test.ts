/**
 * How `rules` compare each kind of name, as a table: (rule, the certificate's value, match?).
 * Rows follow the examples of the RFCs that define the comparison: RFC 5280 §4.2.1.6 and §7
 * (DNS names case-insensitive, URIs with scheme and host case-insensitive and the rest exact,
 * e-mail domains case-insensitive and local parts exact, IP addresses as octets), RFC 3986
 * §6.2.2 (what case normalisation covers, and that percent-encoding and dot segments are left
 * alone here), RFC 4291 / RFC 5952 (IPv6 text forms) and the SPIFFE ID spec §2.4.
 *
 * Every certificate is real: issued by the test kit with exactly the one SAN of its row, so a
 * row cannot pass on another name.
 */
import { expect } from 'chai';
import {
  compileRules,
  evaluateRules,
  type RuleResult,
  type RulesOption,
} from '../../../packages/core/src/authorize/rules.js';
import type { ClientCertificate } from '../../../packages/core/src/model.js';
import { createCA, generateKeyPair, type KeyPair, type TestCA } from '../../../packages/core/src/testkit/index.js';
import { parseCertificate } from '../../../packages/core/src/x509/certificate.js';
import { optionError } from '../../helpers/errors.js';

type Kind = 'dns' | 'uri' | 'email' | 'ip';

/** [rule, the certificate's SAN, match, why]. */
type Row = readonly [rule: string, san: string, match: boolean, why: string];

const DNS: readonly Row[] = [
  ['alice.example.com', 'alice.example.com', true, 'identical'],
  ['alice.example.com', 'ALICE.Example.COM', true, 'DNS names are case-insensitive (RFC 4343, RFC 5280 §7.2)'],
  ['ALICE.EXAMPLE.COM', 'alice.example.com', true, 'in the rule too'],
  ['xn--bcher-kva.example', 'XN--BCHER-KVA.EXAMPLE', true, 'A-labels are ASCII: case-insensitive as well'],
  ['alice.example.com', 'alice.example.com.', false, 'a trailing dot is outside the preferred name syntax: no match'],
  ['alice.example.com', 'alice.example.co', false, 'a different name'],
  ['alice.example.com', 'alice-example.com', false, 'a different name'],
  ['*.example.com', 'Alice.EXAMPLE.com', true, 'a wildcard stands for one label, case-insensitively'],
  ['*.example.com', 'a.b.example.com', false, 'but only one'],
  ['*.example.com', 'example.com', false, 'and never none'],
  ['*.example.com', '*.example.com', false, 'a wildcard in the certificate is not a host label'],
];

const URI: readonly Row[] = [
  [
    'http://www.example.com/',
    'HTTP://www.EXAMPLE.com/',
    true,
    "RFC 3986 §6.2.2.1's own example: scheme and host case-insensitive",
  ],
  ['HTTP://www.EXAMPLE.com/', 'http://www.example.com/', true, 'in the rule too'],
  ['https://contoso.com/users/alice', 'https://contoso.com/Users/alice', false, 'the path is case-sensitive'],
  [
    'https://contoso.com/users/alice',
    'https://contoso.com/users/alice?',
    false,
    'an empty query is still different text',
  ],
  ['https://alice@contoso.com/x', 'https://Alice@contoso.com/x', false, 'userinfo is case-sensitive'],
  ['https://alice@contoso.com/x', 'https://alice@CONTOSO.com/x', true, 'the host after userinfo is not'],
  ['https://contoso.com:8443/x', 'https://CONTOSO.com:8443/x', true, 'host case with a port'],
  [
    'https://contoso.com/x',
    'https://contoso.com:443/x',
    false,
    'default ports are not resolved (scheme-based normalisation, RFC 3986 §6.2.3)',
  ],
  ['https://[2001:db8::1]/x', 'https://[2001:DB8::1]/x', true, 'an IP literal host is case-insensitive'],
  [
    'http://example.com/~smith/',
    'http://example.com/%7Esmith/',
    false,
    'percent-encoding is compared as written (RFC 3986 §6.2.2.2 not applied)',
  ],
  ['http://example.com/a%2Fb', 'http://example.com/a%2fb', false, 'including the case of its hex digits'],
  [
    'http://example.com/a/b',
    'http://example.com/a/./b',
    false,
    'dot segments are not removed (RFC 3986 §6.2.2.3 not applied)',
  ],
  [
    'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    'URN:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    true,
    'a URI without authority: the scheme only',
  ],
  [
    'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
    'urn:uuid:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6',
    false,
    'the rest is exact',
  ],
  [
    'https://contoso.com/users/*',
    'HTTPS://CONTOSO.COM/users/alice',
    true,
    'a prefix, with scheme and host case-insensitive',
  ],
  ['https://Contoso.COM/users/*', 'https://contoso.com/users/alice', true, 'in the rule too'],
  ['https://contoso.com/users/*', 'https://contoso.com/USERS/alice', false, 'the path of a prefix is case-sensitive'],
  [
    'https://contoso.com/users/*',
    'https://contoso.com/users/../admins/bob',
    false,
    'a dot segment would leave the prefix',
  ],
  ['https://contoso.com/users/*', 'https://contoso.com/users/%2E%2e/admins/bob', false, 'percent-encoded too'],
  ['https://contoso.com/users/*', 'https://contoso.com/users/./alice', false, 'any dot segment'],
  [
    'https://contoso.com/users/*',
    'https://contoso.com/users/..\\admins/bob',
    false,
    'a backslash, which WHATWG parsers read as "/"',
  ],
  [
    'https://contoso.com/users/*',
    'https://contoso.com/users/alice..b/x',
    true,
    'dots inside a segment are not dot segments',
  ],
  ['https://contoso.com/users/*', 'https://contoso.com/users/alice?next=/../x', true, 'the query is not a path'],
  ['https://contoso.com/*', 'https://contoso.com.evil.net/x', false, 'a prefix closes the host'],
  ['https://contoso.com/*', 'https://contoso.com@evil.net/x', false, 'userinfo cannot pose as the host'],
  [
    'spiffe://example.org/ns/prod/sa/web',
    'SPIFFE://Example.ORG/ns/prod/sa/web',
    true,
    'SPIFFE ID §2.4: scheme and trust domain case-insensitive',
  ],
  [
    'spiffe://example.org/ns/prod/sa/web',
    'spiffe://example.org/ns/prod/sa/Web',
    false,
    'the SPIFFE path is case-sensitive',
  ],
  ['spiffe://example.org/ns/prod/*', 'spiffe://EXAMPLE.org/ns/prod/sa/web', true, 'a trust domain prefix'],
];

const EMAIL: readonly Row[] = [
  ['alice@example.com', 'alice@example.com', true, 'identical'],
  ['alice@example.com', 'alice@EXAMPLE.COM', true, 'the domain is case-insensitive (RFC 5280 §4.2.1.6, §7.5)'],
  ['alice@EXAMPLE.com', 'alice@example.com', true, 'in the rule too'],
  ['alice@example.com', 'Alice@example.com', false, 'the local part is exact'],
  ['"a@b"@example.com', '"a@b"@EXAMPLE.com', true, 'a quoted local part with "@": the domain is after the last "@"'],
  ['alice@example.com', 'alice@example.com.', false, 'a trailing dot: no match, as for DNS names'],
  ['alice@example.com', 'alice@mail.example.com', false, 'another host'],
  ['@example.com', 'Bob@Example.Com', true, 'any mailbox at the domain'],
  ['@example.com', 'bob@mail.example.com', false, 'not at a subdomain'],
];

/** The certificate side of IP rows is written as hex groups: the kit does not encode dotted quads inside IPv6. */
const IP: readonly Row[] = [
  ['10.1.2.3', '10.1.2.3', true, 'identical'],
  ['10.1.2.4', '10.1.2.3', false, 'another address'],
  ['2001:DB8::5', '2001:db8::5', true, 'IPv6 hex digits are case-insensitive (RFC 4291 §2.2)'],
  ['2001:0db8:0000:0000:0000:0000:0000:0005', '2001:db8::5', true, 'leading zeros and the full form'],
  ['2001:db8:0:0::5', '2001:db8::5', true, 'partly compressed'],
  ['2001:db8::0.0.0.5', '2001:db8::5', true, 'an embedded dotted quad'],
  ['2001:db8::6', '2001:db8::5', false, 'another address'],
  ['10.1.2.3', '::ffff:a01:203', true, 'an IPv4-mapped IPv6 address is the IPv4 node (RFC 4291 §2.5.5.2)'],
  ['::ffff:10.1.2.3', '10.1.2.3', true, 'in both directions'],
  ['10.0.0.0/8', '::ffff:a09:909', true, 'inside an IPv4 block'],
  ['10.1.2.3', '::a01:203', false, 'the deprecated IPv4-compatible form is an IPv6 address of its own'],
  ['192.168.1.1', '2001:db8::c0a8:101', false, 'nor is an IPv4 address embedded elsewhere'],
  ['10.0.0.0/8', '10.255.0.1', true, 'a CIDR block'],
  ['10.0.0.0/8', '11.0.0.1', false, 'outside it'],
  ['2001:db8::/32', '2001:db8:ffff::1', true, 'an IPv6 block'],
  ['2001:DB8::/32', '2001:db9::1', false, 'outside it'],
];

const TABLE: ReadonlyArray<readonly [Kind, readonly Row[]]> = [
  ['dns', DNS],
  ['uri', URI],
  ['email', EMAIL],
  ['ip', IP],
];

function evaluate(rules: RulesOption, cert: ClientCertificate): RuleResult {
  const result = evaluateRules(compileRules(rules), cert, { chain: [] });
  expect(result instanceof Promise, 'synchronous result').to.equal(false);
  return result as RuleResult;
}

describe('rules: RFC 5280 name comparison, per kind', () => {
  let ca: TestCA;
  let keys: KeyPair;
  /** kind → SAN value → a certificate with that one SAN. */
  const certs = new Map<string, ClientCertificate>();

  async function certWith(kind: Kind, value: string): Promise<ClientCertificate> {
    const key = `${kind} ${value}`;
    let cert = certs.get(key);
    if (cert === undefined) {
      cert = parseCertificate(
        (await ca.issue({ subject: 'CN=workload', keyPair: keys, san: { [kind]: [value] } })).der,
      );
      certs.set(key, cert);
    }
    return cert;
  }

  before(async () => {
    ca = await createCA({ subject: 'CN=name comparison CA' });
    keys = await generateKeyPair();
    for (const [kind, rows] of TABLE) {
      for (const [, san] of rows) {
        const cert = await certWith(kind, san);
        // The certificate carries the value of the row, as written (IP addresses in RFC 5952 form).
        expect(cert.san[kind], `${kind} ${san}`).to.have.length(1);
        if (kind !== 'ip') expect(cert.san[kind][0]).to.equal(san);
      }
    }
  });

  for (const [kind, rows] of TABLE) {
    describe(kind, () => {
      for (const [rule, san, match, why] of rows) {
        it(`${rule} ${match ? 'matches' : 'does not match'} ${san}: ${why}`, async () => {
          const cert = await certWith(kind, san);
          const top = evaluate({ san: { [kind]: rule } }, cert);
          expect(top.ok, 'rules.san').to.equal(match);
          if (!top.ok) expect(top.failed).to.equal(`san.${kind}`);
          // The same comparison inside an identity, and as part of a list (any-of).
          const identity = evaluate({ identities: [{ name: 'row', san: { [kind]: [rule] } }] }, cert);
          expect(identity.ok ? identity.matched : null, 'identities[].san').to.equal(match ? 'row' : null);
          // The dnsName claim is the exact-name form of the DNS rule.
          if (kind === 'dns' && !rule.includes('*')) {
            expect(evaluate({ identities: [{ dnsName: rule }] }, cert).ok, 'identities[].dnsName').to.equal(match);
          }
        });
      }
    });
  }

  describe("spiffe: the X509-SVID check keeps the spec's canonical form", () => {
    const ID = 'spiffe://example.org/ns/prod/sa/web';
    const rows: ReadonlyArray<readonly [san: string, expected: string, why: string]> = [
      [ID, 'ok', 'identical'],
      [
        'spiffe://example.org/ns/prod/sa/Web',
        'The client certificate SPIFFE ID is not allowed.',
        'the path is case-sensitive',
      ],
      // SPIFFE ID §2.1: the trust domain MUST be lower case, so such a certificate is not an X509-SVID at all.
      [
        'spiffe://Example.org/ns/prod/sa/web',
        'The client certificate is not an X509-SVID: its SPIFFE ID is not a valid workload ID.',
        'an upper-case trust domain is not a valid SPIFFE ID',
      ],
      [
        'SPIFFE://example.org/ns/prod/sa/web',
        'The client certificate is not an X509-SVID: its SPIFFE ID is not a valid workload ID.',
        'nor is an upper-case scheme',
      ],
    ];
    for (const [san, expected, why] of rows) {
      it(`${san}: ${why}`, async () => {
        const cert = await certWith('uri', san);
        for (const spiffe of [{ id: ID }, { ids: [ID] }, { trustDomain: 'example.org' }]) {
          const result = evaluate({ spiffe }, cert);
          const outcome = result.ok ? 'ok' : result.message;
          // The trust domain rule allows any path of the domain.
          const want = 'trustDomain' in spiffe && expected.endsWith('not allowed.') ? 'ok' : expected;
          expect(outcome, JSON.stringify(spiffe)).to.equal(want);
        }
      });
    }
  });

  describe('rules that cannot be compared as written are refused at start-up', () => {
    const cases: ReadonlyArray<readonly [RulesOption, string, string]> = [
      [{ san: { uri: ['https://cont%6Fso.com/x'] } }, 'rules.san.uri[0]', 'without percent-encoding'],
      [{ san: { uri: ['https://contoso.com/users/../*'] } }, 'rules.san.uri[0]', '".." path segments'],
      [{ san: { uri: ['https://contoso.com/a\\b/*'] } }, 'rules.san.uri[0]', 'outside RFC 3986'],
      [{ san: { uri: ['1https://contoso.com/'] } }, 'rules.san.uri[0]', 'with a scheme'],
      [{ san: { uri: ['https://contoso.com*'] } }, 'rules.san.uri[0]', 'after the host'],
      [{ san: { dns: ['alice.example.com.'] } }, 'rules.san.dns[0]', 'without a trailing dot'],
      [{ san: { email: ['alice@example.com.'] } }, 'rules.san.email[0]', 'without a trailing dot'],
      [{ san: { ip: ['010.1.2.3'] } }, 'rules.san.ip[0]', 'without leading zeros'],
      [{ san: { ip: ['10.1.2.03/8'] } }, 'rules.san.ip[0]', 'without leading zeros'],
    ];
    for (const [rules, path, hint] of cases) {
      it(`${JSON.stringify(rules)} → "${path}" ${hint}`, () => {
        const message = optionError(() => compileRules(rules));
        expect(message).to.include(`"${path}"`);
        expect(message).to.include(hint);
      });
    }
  });
});
