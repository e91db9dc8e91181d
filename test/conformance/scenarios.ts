/**
 * The conformance table: every row runs unchanged against every adapter (see harness.ts), over a
 * real server and a real client. A row says how the server is configured, what the client sends,
 * and what must come back.
 *
 * Peers: the trusted proxy is 127.0.0.1; a stranger connects from 127.0.0.2. Rows that send a
 * forwarded header configure `trustProxy: '127.0.0.1'` (the default would trust all of loopback).
 * Rows for peers on private networks are in test/deployments (they need addresses of their own).
 */
import type { ClientCertOptions, RejectionCode, SourceName, Verification } from '../../packages/core/src/index.js';
import {
  createCA,
  createCrl,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
  type TestCrl,
} from '../../packages/core/src/testkit/index.js';
import type { RouteSpec } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Fixtures: generated once per run.

export const DN = {
  root: 'CN=Conformance Root CA,O=clientcert',
  otherRoot: 'CN=Other Root CA,O=elsewhere',
  intermediate: 'CN=Conformance Issuing CA,O=clientcert',
  server: 'CN=localhost',
  alice: 'CN=alice,OU=engineering,O=Acme\\, Inc.,C=US',
  bob: 'CN=bob,O=Acme',
  carol: 'CN=carol,O=Acme',
  expired: 'CN=expired,O=Acme',
  serverOnly: 'CN=server-only,O=Acme',
  mallory: 'CN=mallory,O=elsewhere',
} as const;

export const ALICE_SAN = {
  dns: ['alice.example.org'],
  uri: ['spiffe://example.org/ns/default/sa/alice'],
  email: ['alice@example.org'],
  ip: [] as string[],
};

/** Client certificates by name. */
export interface Clients {
  /** ECDSA, issued by the root, with DNS, SPIFFE URI and email SANs. */
  alice: TestCertificate;
  /** RSA 2048, issued by the root. */
  bob: TestCertificate;
  /** Issued by an intermediate under the root. */
  carol: TestCertificate;
  /** Issued by the root, expired yesterday. */
  expired: TestCertificate;
  /** Issued by the root with only the serverAuth EKU. */
  serverOnly: TestCertificate;
  /** Issued by a root nobody trusts. */
  mallory: TestCertificate;
}
export type ClientName = keyof Clients;

export interface Fixtures {
  root: TestCA;
  otherRoot: TestCA;
  intermediate: TestCA;
  /** The HTTPS servers' certificate (localhost, 127.0.0.1). */
  server: TestCertificate;
  clients: Clients;
  /** The root's CRL, listing bob. */
  crl: TestCrl;
}

const DAY_MS = 86_400_000;

export async function createFixtures(): Promise<Fixtures> {
  const root = await createCA({ subject: DN.root });
  const otherRoot = await createCA({ subject: DN.otherRoot });
  const intermediate = await root.intermediate({ subject: DN.intermediate });
  const now = Date.now();
  const [server, alice, bob, carol, expired, serverOnly, mallory] = await Promise.all([
    root.issue({ subject: DN.server, eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
    root.issue({ subject: DN.alice, san: { dns: ALICE_SAN.dns, uri: ALICE_SAN.uri, email: ALICE_SAN.email } }),
    root.issue({ subject: DN.bob, keyType: 'rsa' }),
    intermediate.issue({ subject: DN.carol }),
    root.issue({ subject: DN.expired, notBefore: new Date(now - 10 * DAY_MS), notAfter: new Date(now - DAY_MS) }),
    root.issue({ subject: DN.serverOnly, eku: ['serverAuth'] }),
    otherRoot.issue({ subject: DN.mallory }),
  ]);
  const crl = await createCrl(root, { revoked: [{ serialNumber: bob.x509.serialNumber }] });
  return { root, otherRoot, intermediate, server, clients: { alice, bob, carol, expired, serverOnly, mallory }, crl };
}

/** Who issued each client, for the expected `issuer`. */
export const ISSUER: Record<ClientName, string> = {
  alice: DN.root,
  bob: DN.root,
  carol: DN.intermediate,
  expired: DN.root,
  serverOnly: DN.root,
  mallory: DN.otherRoot,
};

// ---------------------------------------------------------------------------------------------
// The shape of a row.

/** A value, or a function of the fixtures for values that need generated certificates. */
export type Lazy<T> = T | ((f: Fixtures) => T);

export function resolve<T>(value: Lazy<T>, f: Fixtures): T {
  return typeof value === 'function' ? (value as (f: Fixtures) => T)(f) : value;
}

export interface Send {
  path?: string;
  /** Over HTTPS: the client certificate to present. */
  cert?: ClientName;
  /** Over HTTPS: present the leaf followed by its intermediates (`fullChain`). */
  presentChain?: boolean;
  /** The x-forwarded-client-cert value; an array is sent as separate header lines. */
  xfcc?: Lazy<string | string[]>;
  /** Send `xfcc` under this header name instead of x-forwarded-client-cert. */
  xfccHeader?: string;
  /** Other forwarded headers (RFC 9440, nginx, Traefik, ...), by lower-case name. */
  headers?: Lazy<Record<string, string>>;
  /** The peer address (default 127.0.0.1, the trusted proxy). */
  from?: '127.0.0.1' | '127.0.0.2';
}

export type Expect =
  | { status: number; code: RejectionCode }
  | { status: 200; cert: null }
  | {
      status: 200;
      cert: ClientName;
      source: SourceName;
      verifiedBy: Verification;
      chainLength?: ChainLength;
      /** Which pin and identity admitted it (default: none configured, both null). */
      authorization?: { pin: string | null; identity: string | null };
    };

/** Expected `chain.length`; `undefined` = not asserted. */
export type ChainLength = number | 'at least 1' | undefined;

export interface Scenario {
  name: string;
  server: 'https' | 'http';
  /** App-wide options (the harness adds `logger: false`). */
  options: Lazy<ClientCertOptions>;
  /** Extra routes with their own configuration. */
  routes?: Lazy<RouteSpec[]>;
  send: Send;
  expect: Expect;
}

// Vocabulary for the table.

const rejected = (code: RejectionCode, status = 403): Expect => ({ status, code });
const anonymous: Expect = { status: 200, cert: null };
const identified = (
  cert: ClientName,
  source: SourceName,
  verifiedBy: Verification,
  chainLength: ChainLength,
  authorization?: { pin: string | null; identity: string | null },
): Expect => ({ status: 200, cert, source, verifiedBy, chainLength, ...(authorization ? { authorization } : {}) });
const admitted = (pin: string | null, identity: string | null) => ({ pin, identity });
/**
 * Over TLS, `chain` of a root-issued client currently holds the server's trust anchor, which the
 * client never presented (Node completes getPeerCertificate(true) from the server's `ca`; the
 * model says "the other certificates presented"). Not pinned until that is settled.
 */
const TLS_ROOT_ISSUED: ChainLength = undefined;

/** Trust the test root (plus any other options). */
const withCa =
  (extra: ClientCertOptions = {}): Lazy<ClientCertOptions> =>
  (f) => ({ ca: f.root.cert, ...extra });
/** Forwarded headers are trusted from 127.0.0.1 only. */
const PROXY = '127.0.0.1';
const STRANGER = '127.0.0.2';
const GATEWAY = 'spiffe://example.org/ns/default/sa/gateway';
/** The header Envoy (SANITIZE_SET) sends for this client. */
const xfccOf =
  (name: ClientName) =>
  (f: Fixtures): string =>
    envoyXfcc(f.clients[name], { by: [GATEWAY] });

/**
 * What an ALB in verify mode says of the certificate it verified, besides forwarding it. The issuer
 * DN (`CN=Conformance Root CA,O=clientcert`) is written with OIDs and a hex value, as RFC 4514
 * allows: the same name, and no text the problem body could be suspected of echoing.
 */
const albDescription = (c: TestCertificate): Record<string, string> => ({
  'x-amzn-mtls-clientcert-serial-number': c.x509.serialNumber,
  'x-amzn-mtls-clientcert-issuer': `2.5.4.3=#${derUtf8('Conformance Root CA')},2.5.4.10=#${derUtf8('clientcert')}`,
});
const derUtf8 = (text: string): string =>
  Buffer.concat([Buffer.from([0x0c, text.length]), Buffer.from(text)]).toString('hex');

/**
 * One row per detail set Envoy can be configured with (`set_current_client_cert_details`: every
 * combination of Cert, Chain, Subject, URI and DNS; `By` and `Hash` are always written, `By` only
 * when the proxy's certificate has a URI SAN). Half the rows carry `By` — for each of Cert, Chain
 * and Cert+Chain, the bare set without it and the full set with it — and those expect it
 * (`xfcc.by`). The leaf is `Cert`, else the first of `Chain`; an intermediate-issued client
 * (carol) where `Chain` is sent, so that its intermediate must come from it; alice (with SANs)
 * otherwise. Without Cert or Chain nothing can be verified: no certificate.
 */
function envoyDetailRows(): Scenario[] {
  const names = ['Cert', 'Chain', 'Subject', 'URI', 'DNS'] as const;
  const rows: Scenario[] = [];
  for (let set = 0; set < 32; set++) {
    const details = names.filter((_, bit) => (set & (1 << bit)) !== 0);
    const others = set >> 2; // Subject, URI, DNS
    const withBy = (((others >> 2) ^ (others >> 1) ^ others) & 1) === 1; // an odd number of them
    const client: ClientName = details.includes('Chain') ? 'carol' : 'alice';
    const hasCert = details.includes('Cert') || details.includes('Chain');
    rows.push({
      name: `XFCC Envoy details ${details.join('+') || 'none (Hash only)'}${withBy ? ', By expected' : ''} → ${hasCert ? `${client}, leaf from ${details.includes('Cert') ? 'Cert' : 'Chain'}` : 'no certificate'}`,
      server: 'http',
      options: withCa({ trustProxy: PROXY, ...(withBy ? { xfcc: { by: GATEWAY } } : {}) }),
      send: {
        xfcc: (f) => envoyXfcc(f.clients[client], { details: [...details], ...(withBy ? { by: [GATEWAY] } : {}) }),
      },
      expect: hasCert
        ? identified(client, 'xfcc', 'chain', client === 'carol' ? 1 : 0)
        : rejected('client_certificate_required'),
    });
  }
  return rows;
}

/** Per-route rows: the app accepts anonymous clients, `/strict` requires a certificate and answers 401. */
const strictRoute: RouteSpec[] = [{ path: '/strict', clientCert: { mode: 'require', rejectStatus: 401 } }];
/** Per-route rows: the app requires a certificate, `/health` opts out. */
const openRoute: RouteSpec[] = [{ path: '/health', clientCert: false }];

// ---------------------------------------------------------------------------------------------
// The table.

export const scenarios: Scenario[] = [
  // TLS connection, mode require (default)
  {
    name: 'TLS: no certificate → required',
    server: 'https',
    options: {},
    send: {},
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'TLS: valid ECDSA certificate, no ca → verified by the TLS stack',
    server: 'https',
    options: {},
    send: { cert: 'alice' },
    expect: identified('alice', 'tls', 'tls', TLS_ROOT_ISSUED),
  },
  {
    name: 'TLS: valid ECDSA certificate, ca → verified by chain',
    server: 'https',
    options: withCa(),
    send: { cert: 'alice' },
    expect: identified('alice', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'TLS: valid RSA certificate, ca → verified by chain',
    server: 'https',
    options: withCa(),
    send: { cert: 'bob' },
    expect: identified('bob', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'TLS: issued by an intermediate, chain presented, no ca',
    server: 'https',
    options: {},
    send: { cert: 'carol', presentChain: true },
    expect: identified('carol', 'tls', 'tls', 'at least 1'),
  },
  {
    name: 'TLS: issued by an intermediate, chain presented, ca',
    server: 'https',
    options: withCa(),
    send: { cert: 'carol', presentChain: true },
    expect: identified('carol', 'tls', 'chain', 'at least 1'),
  },
  {
    name: 'TLS: issued by an intermediate, chain not presented, ca → untrusted',
    server: 'https',
    options: withCa(),
    send: { cert: 'carol' },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'TLS: issued by an intermediate, chain not presented, configured intermediates → verified by chain',
    server: 'https',
    options: (f) => ({ ca: f.root.cert, intermediates: f.intermediate.cert }),
    send: { cert: 'carol' },
    expect: identified('carol', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'XFCC: issued by an intermediate, no Chain, configured intermediates → verified by chain',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, intermediates: [f.intermediate.cert] }),
    send: { xfcc: (f) => envoyXfcc(f.clients.carol, { details: ['Cert'] }) },
    expect: identified('carol', 'xfcc', 'chain', 0),
  },
  {
    name: 'TLS: wrong CA, no ca → untrusted',
    server: 'https',
    options: {},
    send: { cert: 'mallory' },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'TLS: wrong CA, ca → untrusted',
    server: 'https',
    options: withCa(),
    send: { cert: 'mallory' },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'TLS: expired, no ca → expired',
    server: 'https',
    options: {},
    send: { cert: 'expired' },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'TLS: expired, ca → expired',
    server: 'https',
    options: withCa(),
    send: { cert: 'expired' },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'TLS: serverAuth-only EKU, ca → rejected',
    server: 'https',
    options: withCa(),
    send: { cert: 'serverOnly' },
    expect: rejected('client_certificate_rejected'),
  },
  {
    name: 'TLS: a forwarded header is not read on a TLS connection (source auto)',
    server: 'https',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('alice'), from: STRANGER },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'TLS: a trusted peer forwarding XFCC over TLS with no proxy named is a proxy nobody named → untrusted',
    server: 'https',
    options: withCa({ trustProxy: PROXY }),
    send: { cert: 'bob', xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_untrusted'),
  },

  // Modes
  { name: 'accept: no certificate → null', server: 'https', options: { mode: 'accept' }, send: {}, expect: anonymous },
  {
    name: 'accept: valid certificate → attached',
    server: 'https',
    options: { mode: 'accept' },
    send: { cert: 'alice' },
    expect: identified('alice', 'tls', 'tls', TLS_ROOT_ISSUED),
  },
  {
    name: 'accept: expired certificate → expired (verify if given)',
    server: 'https',
    options: { mode: 'accept' },
    send: { cert: 'expired' },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'accept: wrong CA → untrusted (verify if given)',
    server: 'https',
    options: { mode: 'accept' },
    send: { cert: 'mallory' },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'ignore: valid certificate → null',
    server: 'https',
    options: { mode: 'ignore' },
    send: { cert: 'alice' },
    expect: anonymous,
  },
  {
    name: 'ignore: expired certificate → null',
    server: 'https',
    options: { mode: 'ignore' },
    send: { cert: 'expired' },
    expect: anonymous,
  },
  {
    name: 'rejectStatus 401: no certificate → 401',
    server: 'https',
    options: { rejectStatus: 401 },
    send: {},
    expect: rejected('client_certificate_required', 401),
  },

  // XFCC over plain HTTP from a trusted proxy
  {
    name: 'XFCC: valid, ca → verified by chain',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC: valid, default trustProxy (loopback), ca',
    server: 'http',
    options: withCa(),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC: valid RSA, ca → verified by chain',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('bob') },
    expect: identified('bob', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC: valid, proxyVerified, no ca → verified by proxy',
    server: 'http',
    options: { proxy: 'envoy', trustProxy: PROXY, proxyVerified: true },
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'proxy', 0),
  },
  {
    name: 'XFCC: issued by an intermediate with Chain, ca',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('carol') },
    expect: identified('carol', 'xfcc', 'chain', 1),
  },
  {
    name: 'XFCC: no ca and no proxyVerified → untrusted',
    server: 'http',
    options: { trustProxy: PROXY },
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'XFCC: wrong CA, ca → untrusted',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('mallory') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'XFCC: expired, ca → expired',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('expired') },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'XFCC: expired, proxyVerified → expired',
    server: 'http',
    options: { proxy: 'envoy', trustProxy: PROXY, proxyVerified: true },
    send: { xfcc: xfccOf('expired') },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'XFCC: serverAuth-only EKU, ca → rejected',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('serverOnly') },
    expect: rejected('client_certificate_rejected'),
  },
  {
    name: 'XFCC: no header over plain HTTP → required',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: {},
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'XFCC: source tls only → header not read → required',
    server: 'http',
    options: withCa({ trustProxy: PROXY, source: 'tls' }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'XFCC: source xfcc is read on a TLS connection too',
    server: 'https',
    options: withCa({ trustProxy: PROXY, source: 'xfcc' }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },

  // XFCC from a peer outside trustProxy: the header is ignored, never honored
  {
    name: 'XFCC from an untrusted peer, require → required',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: xfccOf('alice'), from: STRANGER },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'XFCC from an untrusted peer, proxyVerified → required',
    server: 'http',
    options: { proxy: 'envoy', trustProxy: PROXY, proxyVerified: true },
    send: { xfcc: xfccOf('alice'), from: STRANGER },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'XFCC from an untrusted peer, accept → null',
    server: 'http',
    options: withCa({ trustProxy: PROXY, mode: 'accept' }),
    send: { xfcc: xfccOf('alice'), from: STRANGER },
    expect: anonymous,
  },
  {
    name: 'XFCC from an untrusted peer, malformed, accept → null (not even parsed)',
    server: 'http',
    options: withCa({ trustProxy: PROXY, mode: 'accept' }),
    send: { xfcc: 'Cert="%ZZ', from: STRANGER },
    expect: anonymous,
  },

  // Malformed XFCC
  {
    name: 'XFCC malformed: unterminated quote',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => envoyXfcc(f.clients.alice, { details: ['Cert'] }).slice(0, -1) },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC malformed: Cert="%ZZ"',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => `Hash=${f.clients.alice.sha256};Cert="%ZZ"` },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC malformed: Hash does not match Cert',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => xfccOf('alice')(f).replace(f.clients.alice.sha256, f.clients.bob.sha256) },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC malformed in accept mode → still malformed',
    server: 'http',
    options: withCa({ trustProxy: PROXY, mode: 'accept' }),
    send: { xfcc: (f) => `Hash=${f.clients.alice.sha256};Cert="%ZZ"` },
    expect: rejected('client_certificate_malformed'),
  },

  // Several XFCC elements (APPEND_FORWARD) and duplicated header lines
  {
    name: 'XFCC two elements → the last one by default',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => envoyXfcc(f.clients.bob, { appendTo: envoyXfcc(f.clients.alice) }) },
    expect: identified('bob', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC two elements, element first → the first one',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { element: 'first' } }),
    send: { xfcc: (f) => envoyXfcc(f.clients.bob, { appendTo: envoyXfcc(f.clients.alice) }) },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC two elements, element only → malformed',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { element: 'only' } }),
    send: { xfcc: (f) => envoyXfcc(f.clients.bob, { appendTo: envoyXfcc(f.clients.alice) }) },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC in two header lines → malformed (a proxy writes one line)',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => [xfccOf('alice')(f), xfccOf('bob')(f)] },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC in two header lines, element first → still malformed',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { element: 'first' } }),
    send: { xfcc: (f) => [xfccOf('alice')(f), xfccOf('bob')(f)] },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC expected By matches → admitted',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { by: GATEWAY } }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'XFCC expected By differs → untrusted',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { by: ['spiffe://example.org/ns/default/sa/other-gateway'] } }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'XFCC expected By, element without By → untrusted',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { by: GATEWAY } }),
    send: { xfcc: (f) => envoyXfcc(f.clients.alice) },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'XFCC custom header name → read from that header',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { header: 'X-Client-Cert-Details' } }),
    send: { xfcc: xfccOf('alice'), xfccHeader: 'x-client-cert-details' },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  ...envoyDetailRows(),
  {
    name: 'XFCC Chain only, accept mode → the leaf from Chain, not null',
    server: 'http',
    options: withCa({ trustProxy: PROXY, mode: 'accept' }),
    send: { xfcc: (f) => envoyXfcc(f.clients.carol, { details: ['Chain'] }) },
    expect: identified('carol', 'xfcc', 'chain', 1),
  },
  {
    name: 'XFCC Chain only, Hash of another certificate → malformed',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: {
      xfcc: (f) =>
        envoyXfcc(f.clients.carol, { details: ['Chain'] }).replace(f.clients.carol.sha256, f.clients.alice.sha256),
    },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'XFCC Chain only, root-issued client, Hash checked against the first of Chain',
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => envoyXfcc(f.clients.alice, { details: ['Chain', 'URI', 'DNS'] }) },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: "XFCC Chain only, another client's chain under its leaf → untrusted",
    server: 'http',
    options: withCa({ trustProxy: PROXY }),
    send: { xfcc: (f) => envoyXfcc(f.clients.mallory, { details: ['Chain'], presentedChain: [f.intermediate.cert] }) },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'XFCC custom header name → the default header is not read',
    server: 'http',
    options: withCa({ trustProxy: PROXY, xfcc: { header: 'X-Client-Cert-Details' } }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_required'),
  },

  // Pins and rules: trust by pin, narrowing by pin, identities any-of, async predicate
  {
    name: 'pins: pinned leaf (sha256), no ca, over TLS → verified by pin',
    server: 'https',
    options: (f) => ({ pins: { name: 'alice', leaf: `sha256:${f.clients.alice.sha256}` } }),
    send: { cert: 'alice' },
    expect: identified('alice', 'tls', 'pin', TLS_ROOT_ISSUED, admitted('alice', null)),
  },
  {
    name: 'pins: pinned leaf (certificate), no ca, via XFCC → verified by pin',
    server: 'http',
    options: (f) => ({ trustProxy: PROXY, pins: f.clients.alice.cert }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'pin', 0, admitted('pins', null)),
  },
  {
    name: 'pins: another certificate, no ca → untrusted',
    server: 'https',
    options: (f) => ({ pins: `sha256:${f.clients.alice.sha256}` }),
    send: { cert: 'bob' },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'pins: pinned but expired → expired',
    server: 'https',
    options: (f) => ({ pins: `sha256:${f.clients.expired.sha256}` }),
    send: { cert: 'expired' },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'pins: issuer pin on the intermediate, ca → verified by chain',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, pins: { name: 'issuing-ca', issuer: f.intermediate.cert } }),
    send: { xfcc: xfccOf('carol') },
    expect: identified('carol', 'xfcc', 'chain', 1, admitted('issuing-ca', null)),
  },
  {
    name: 'pins: issuer pin on the intermediate, ca, root-issued client → untrusted',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, pins: { issuer: f.intermediate.cert } }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'rules: identity by common name → admitted, identity named',
    server: 'http',
    options: withCa({
      trustProxy: PROXY,
      rules: {
        identities: [
          { name: 'bob', commonName: 'bob' },
          { name: 'alice', commonName: 'alice' },
        ],
      },
    }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0, admitted(null, 'alice')),
  },
  {
    name: 'rules: no identity matches → rejected',
    server: 'http',
    options: withCa({ trustProxy: PROXY, rules: { identities: [{ name: 'bob', commonName: 'bob' }] } }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_rejected'),
  },
  {
    name: 'rules: SAN DNS wildcard and SPIFFE trust domain → admitted',
    server: 'https',
    options: withCa({ rules: { san: { dns: ['*.example.org'] }, spiffe: { trustDomain: 'example.org' } } }),
    send: { cert: 'alice' },
    expect: identified('alice', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'rules: subject DN O=Acme, RSA client with O=Acme → admitted',
    server: 'https',
    options: withCa({ rules: { subject: { O: 'Acme' } } }),
    send: { cert: 'bob' },
    expect: identified('bob', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'rules: subject DN O=Acme, alice is O=Acme, Inc. → rejected',
    server: 'https',
    options: withCa({ rules: { subject: { O: 'Acme' } } }),
    send: { cert: 'alice' },
    expect: rejected('client_certificate_rejected'),
  },
  {
    name: 'rules: async predicate true → admitted',
    server: 'http',
    options: withCa({ trustProxy: PROXY, rules: { predicate: async (cert) => cert.subject.get('CN') === 'alice' } }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'rules: async predicate false → rejected',
    server: 'http',
    options: withCa({ trustProxy: PROXY, rules: { predicate: async (cert) => cert.subject.get('CN') === 'bob' } }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_rejected'),
  },
  {
    name: 'rules: predicate that throws → rejected, never a 500',
    server: 'http',
    options: withCa({
      trustProxy: PROXY,
      rules: {
        predicate: () => {
          throw new Error('database down');
        },
      },
    }),
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_rejected'),
  },

  // Revocation: the root's CRL lists bob
  {
    name: 'revocation: CRL lists the client, via XFCC → revoked',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, revocation: { crls: f.crl.der } }),
    send: { xfcc: xfccOf('bob') },
    expect: rejected('client_certificate_revoked'),
  },
  {
    name: 'revocation: CRL lists the client, over TLS → revoked',
    server: 'https',
    options: (f) => ({ ca: f.root.cert, revocation: { crls: [f.crl.pem] } }),
    send: { cert: 'bob' },
    expect: rejected('client_certificate_revoked'),
  },
  {
    name: 'revocation: CRL does not list the client → admitted',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, revocation: { crls: f.crl.der } }),
    send: { xfcc: xfccOf('alice') },
    expect: identified('alice', 'xfcc', 'chain', 0),
  },
  {
    name: 'revocation strict: no CRL covers the intermediate → untrusted',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, revocation: { crls: f.crl.der } }),
    send: { xfcc: xfccOf('carol') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'revocation soft: no CRL covers the intermediate → admitted',
    server: 'http',
    options: (f) => ({ ca: f.root.cert, trustProxy: PROXY, revocation: { crls: f.crl.der, policy: 'soft' } }),
    send: { xfcc: xfccOf('carol') },
    expect: identified('carol', 'xfcc', 'chain', 1),
  },

  // Other proxies' headers and presets
  // The trust model: who a connection's peer is decides what is read.
  {
    name: "proxy nginx over TLS: the proxy's own TLS certificate is never the client's identity",
    server: 'https',
    options: withCa({ trustProxy: PROXY, proxy: 'nginx' }),
    send: { cert: 'alice' },
    expect: rejected('client_certificate_required'),
  },
  {
    name: "proxy nginx over TLS: the identity comes from the proxy's header, not its TLS certificate",
    server: 'https',
    options: withCa({ trustProxy: PROXY, proxy: 'nginx' }),
    send: {
      cert: 'alice',
      headers: (f) => ({ 'ssl-client-cert': encodeURIComponent(f.clients.bob.cert), 'ssl-client-verify': 'SUCCESS' }),
    },
    expect: identified('bob', 'url-pem', 'chain', 0),
  },
  {
    name: 'proxy cloudflare over TLS from a peer outside trustProxy: its TLS certificate is not read either',
    server: 'https',
    options: withCa({ trustProxy: PROXY, proxy: 'cloudflare' }),
    send: { cert: 'alice', from: STRANGER },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'source [xfcc, tls]: a trusted peer is a proxy, its TLS certificate is never read',
    server: 'https',
    options: withCa({ trustProxy: PROXY, source: ['xfcc', 'tls'] }),
    send: { cert: 'alice' },
    expect: rejected('client_certificate_required'),
  },
  {
    name: "source [xfcc, tls]: a trusted peer's header decides, not its TLS certificate",
    server: 'https',
    options: withCa({ trustProxy: PROXY, source: ['xfcc', 'tls'] }),
    send: { cert: 'alice', xfcc: xfccOf('bob') },
    expect: identified('bob', 'xfcc', 'chain', 0),
  },
  {
    name: 'source [xfcc, tls]: a peer outside trustProxy is the client, its TLS certificate is read',
    server: 'https',
    options: withCa({ trustProxy: PROXY, source: ['xfcc', 'tls'] }),
    send: { cert: 'alice', from: STRANGER, xfcc: xfccOf('bob') },
    expect: identified('alice', 'tls', 'chain', TLS_ROOT_ISSUED),
  },
  {
    name: 'proxy azure-container-apps without ca or pins admits nobody',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'azure-container-apps' },
    send: { xfcc: xfccOf('alice') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'proxy azure-container-apps, ca: a self-made certificate is refused',
    server: 'http',
    options: withCa({ trustProxy: PROXY, proxy: 'azure-container-apps' }),
    send: { xfcc: xfccOf('mallory') },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'dangerouslyTrustAnyForwardedCertificate: admitted, verified by nobody',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'azure-container-apps', dangerouslyTrustAnyForwardedCertificate: true },
    send: { xfcc: xfccOf('mallory') },
    expect: identified('mallory', 'xfcc', 'none', 0),
  },
  {
    name: 'dangerouslyTrustAnyForwardedCertificate: an expired certificate is still refused',
    server: 'http',
    options: { trustProxy: PROXY, source: 'xfcc', dangerouslyTrustAnyForwardedCertificate: true },
    send: { xfcc: xfccOf('expired') },
    expect: rejected('client_certificate_expired'),
  },
  {
    name: 'RFC 9440 Client-Cert from a trusted proxy, ca',
    server: 'http',
    options: withCa({ trustProxy: PROXY, source: 'rfc9440' }),
    send: { headers: (f) => ({ 'client-cert': `:${f.clients.alice.der.toString('base64')}:` }) },
    expect: identified('alice', 'rfc9440', 'chain', 0),
  },
  {
    name: 'RFC 9440 with Client-Cert-Chain, intermediate-issued client, ca',
    server: 'http',
    options: withCa({ trustProxy: PROXY, source: 'rfc9440' }),
    send: {
      headers: (f) => ({
        'client-cert': `:${f.clients.carol.der.toString('base64')}:`,
        'client-cert-chain': `:${f.intermediate.der.toString('base64')}:`,
      }),
    },
    expect: identified('carol', 'rfc9440', 'chain', 1),
  },
  {
    name: 'RFC 9440 malformed byte sequence → malformed',
    server: 'http',
    options: withCa({ trustProxy: PROXY, source: 'rfc9440' }),
    send: { headers: { 'client-cert': ':not base64!:' } },
    expect: rejected('client_certificate_malformed'),
  },
  {
    name: 'RFC 9440 from an untrusted peer → ignored → required',
    server: 'http',
    options: withCa({ trustProxy: PROXY, source: 'rfc9440' }),
    send: { from: STRANGER, headers: (f) => ({ 'client-cert': `:${f.clients.alice.der.toString('base64')}:` }) },
    expect: rejected('client_certificate_required'),
  },
  {
    name: 'proxy azure-app-service: X-ARR-ClientCert base64 DER, ca',
    server: 'http',
    options: withCa({ trustProxy: PROXY, proxy: 'azure-app-service' }),
    send: { headers: (f) => ({ 'x-arr-clientcert': f.clients.bob.der.toString('base64') }) },
    expect: identified('bob', 'base64-der', 'chain', 0),
  },
  {
    name: 'proxy nginx: escaped PEM and ssl-client-verify SUCCESS, no ca → verified by the proxy',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'nginx' },
    send: {
      headers: (f) => ({ 'ssl-client-cert': encodeURIComponent(f.clients.alice.cert), 'ssl-client-verify': 'SUCCESS' }),
    },
    expect: identified('alice', 'url-pem', 'proxy', 0),
  },
  {
    name: 'proxy nginx: ssl-client-verify FAILED → untrusted',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'nginx' },
    send: {
      headers: (f) => ({
        'ssl-client-cert': encodeURIComponent(f.clients.mallory.cert),
        'ssl-client-verify': 'FAILED:unable to verify the first certificate',
      }),
    },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'proxy nginx: certificate without ssl-client-verify → untrusted',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'nginx' },
    send: { headers: (f) => ({ 'ssl-client-cert': encodeURIComponent(f.clients.alice.cert) }) },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'proxy nginx with ca: the app verifies, whatever nginx said',
    server: 'http',
    options: withCa({ trustProxy: PROXY, proxy: 'nginx' }),
    send: {
      headers: (f) => ({
        'ssl-client-cert': encodeURIComponent(f.clients.alice.cert),
        'ssl-client-verify': 'FAILED:unable to get issuer certificate',
      }),
    },
    expect: identified('alice', 'url-pem', 'chain', 0),
  },
  {
    name: 'proxy traefik: X-Forwarded-Tls-Client-Cert, ca',
    server: 'http',
    options: withCa({ trustProxy: PROXY, proxy: 'traefik' }),
    send: {
      headers: (f) => ({
        'x-forwarded-tls-client-cert': [f.clients.carol.der, f.intermediate.der]
          .map((d) => d.toString('base64'))
          .join(','),
      }),
    },
    expect: identified('carol', 'traefik', 'chain', 1),
  },
  {
    name: 'proxy aws-alb (verify mode): -Leaf header → verified by the proxy',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'aws-alb' },
    send: {
      headers: (f) => ({
        ...albDescription(f.clients.alice),
        'x-amzn-mtls-clientcert-leaf': encodeURIComponent(f.clients.alice.cert)
          .replace(/%2B/g, '+')
          .replace(/%3D/g, '=')
          .replace(/%2F/g, '/'),
      }),
    },
    expect: identified('alice', 'aws-alb', 'proxy', 0),
  },
  {
    name: "proxy aws-alb (verify mode): a -Leaf header without the ALB's description of it → untrusted",
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'aws-alb' },
    send: { headers: (f) => ({ 'x-amzn-mtls-clientcert-leaf': encodeURIComponent(f.clients.alice.cert) }) },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'proxy aws-alb (verify mode): a -Leaf header that is not the certificate the ALB described → untrusted',
    server: 'http',
    options: { trustProxy: PROXY, proxy: 'aws-alb' },
    send: {
      headers: (f) => ({
        ...albDescription(f.clients.bob),
        'x-amzn-mtls-clientcert-leaf': encodeURIComponent(f.clients.alice.cert),
      }),
    },
    expect: rejected('client_certificate_untrusted'),
  },
  {
    name: 'custom source { header, decode }: hex DER, ca',
    server: 'http',
    options: withCa({
      trustProxy: PROXY,
      source: { header: 'x-cert-hex', decode: (value: string) => Buffer.from(value, 'hex') },
    }),
    send: { headers: (f) => ({ 'x-cert-hex': f.clients.alice.der.toString('hex') }) },
    expect: identified('alice', 'custom', 'chain', 0),
  },

  // Per route: a second route with a different configuration
  {
    name: 'per route: app accepts, /whoami without certificate → null',
    server: 'https',
    options: { mode: 'accept' },
    routes: strictRoute,
    send: {},
    expect: anonymous,
  },
  {
    name: 'per route: app accepts, /strict without certificate → 401 required',
    server: 'https',
    options: { mode: 'accept' },
    routes: strictRoute,
    send: { path: '/strict' },
    expect: rejected('client_certificate_required', 401),
  },
  {
    name: 'per route: app accepts, /strict with a valid certificate → attached',
    server: 'https',
    options: { mode: 'accept' },
    routes: strictRoute,
    send: { path: '/strict', cert: 'alice' },
    expect: identified('alice', 'tls', 'tls', TLS_ROOT_ISSUED),
  },
  {
    name: 'per route: app requires, /health opted out, without certificate → null',
    server: 'https',
    options: {},
    routes: openRoute,
    send: { path: '/health' },
    expect: anonymous,
  },
  {
    name: 'per route: app requires, /health opted out, expired certificate → null',
    server: 'https',
    options: {},
    routes: openRoute,
    send: { path: '/health', cert: 'expired' },
    expect: anonymous,
  },
  {
    name: 'per route: app requires, /whoami without certificate → required',
    server: 'https',
    options: {},
    routes: openRoute,
    send: {},
    expect: rejected('client_certificate_required'),
  },
];

/** Options that must throw at construction (`invalid_option`, message naming the option). */
export const invalidOptions: Array<{ option: string; options: unknown }> = [
  { option: 'mode', options: { mode: 'sometimes' } },
  { option: 'ca', options: { ca: 'not a pem' } },
  { option: 'source', options: { source: 'carrier-pigeon' } },
  { option: 'trustProxy', options: { trustProxy: 'not an address' } },
  { option: 'rejectStatus', options: { rejectStatus: 200 } },
  { option: 'xfcc.element', options: { xfcc: { element: 'middle' } } },
  { option: 'requireCert', options: { requireCert: true } },
  { option: 'proxyVerified', options: { proxy: 'azure-app-service', proxyVerified: true } },
  { option: 'proxyVerified', options: { proxy: 'azure-container-apps', proxyVerified: true } },
  { option: 'proxyVerified', options: { proxyVerified: true } },
  {
    option: 'dangerouslyTrustAnyForwardedCertificate',
    options: { proxy: 'envoy', proxyVerified: true, dangerouslyTrustAnyForwardedCertificate: true },
  },
  {
    option: 'dangerouslyTrustAnyForwardedCertificate',
    options: { source: 'tls', dangerouslyTrustAnyForwardedCertificate: true },
  },
  { option: 'xfcc.limits.maxLength', options: { xfcc: { limits: { maxLength: 0 } } } },
  { option: 'xfcc.limits.maxHops', options: { xfcc: { limits: { maxHops: 3 } } } },
  { option: 'xfcc.headr', options: { xfcc: { headr: 'x' } } },
  { option: 'proxy', options: { proxy: 'apache-mod-ssl' } },
  { option: 'verifyPolicy', options: { verifyPolicy: { minRsaBits: 512 } } },
  { option: 'intermediates', options: { intermediates: 'not a pem' } },
  { option: 'revocation.policy', options: { revocation: { crls: [], policy: 'strict' } } },
];
