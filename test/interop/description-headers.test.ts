/**
 * The proxy's description of the certificate (header-sources.ts `describedBy`, compared by
 * proxy-description.ts) against real nginx: what `$ssl_client_s_dn`, `$ssl_client_i_dn`,
 * `$ssl_client_serial` and `$ssl_client_fingerprint` really are for certificates with exotic names
 * (non-ASCII, RFC 2253 specials, multi-valued RDNs, unknown OIDs, control characters, OpenSSL's
 * own attribute names, an empty subject), read back through `readHeaderSource` and compared with
 * the certificate nginx saw; and the attack on ingress-nginx's header set.
 *
 * nginx terminates mTLS (`ssl_verify_client optional`) in front of a plain Node HTTP server that
 * records the headers it gets. Three locations:
 * - `/pass/`: the certificate and the whole description (nginx with every header set);
 * - `/nopass/`: ingress-nginx's template without `auth-tls-pass-certificate-to-upstream` — no
 *   `ssl-client-cert`, so a client-sent one reaches the app next to nginx's DN headers;
 * - `/xfcc/`: an Envoy-style XFCC element with nginx's `Subject` (tests xfccSubjectMatches).
 * A missing nginx skips the block on a developer machine and fails it in CI (proxy-process.ts).
 */

import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { isClientCertError } from '../../packages/core/src/errors.js';
import type { ClientCertificate } from '../../packages/core/src/model.js';
import {
  type CompiledHeaderSource,
  compileHeaderSource,
  type ForwardedCertificate,
  PROXY_DESCRIPTION_CHECK,
  readHeaderSource,
} from '../../packages/core/src/sources/headers.js';
import { descriptionMismatch, xfccSubjectMatches } from '../../packages/core/src/sources/proxy-description.js';
import { parseXfcc } from '../../packages/core/src/sources/xfcc.js';
import { createCA, type JsonName, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { parseCertificate } from '../../packages/core/src/x509/certificate.js';
import { nginxEscape } from '../helpers/encodings.js';
import { throughProxy } from './client.js';
import { type ProxyLaunch, type RunningProxy, requireBinary, startProxy } from './proxy-process.js';

const UID = '0.9.2342.19200300.100.1.1';
const DC = '0.9.2342.19200300.100.1.25';

/** The exotic names, leaf subjects all (the issuers' names are exotic too). */
const SUBJECTS: Array<{ title: string; subject: JsonName; serialNumber?: string }> = [
  {
    title: 'non-ASCII UTF-8',
    subject: [{ O: [{ utf8String: 'Ünïcødé GmbH' }] }, { CN: [{ utf8String: 'José Müller' }] }],
  },
  { title: 'RFC 2253 specials', subject: [{ CN: [{ utf8String: 'a,b+c"d\\e;f<g>h=i' }] }] },
  {
    title: 'multi-valued RDNs and DC components',
    subject: [{ [DC]: ['org'] }, { [DC]: ['example'] }, { CN: ['multi'], [UID]: ['u123'], OU: ['three'] }],
  },
  {
    title: 'emailAddress, a leading "#", leading and trailing spaces, a lone space',
    subject: [
      { E: ['jose@example.org'] },
      { CN: [{ utf8String: '#hash' }] },
      { O: [{ utf8String: ' padded ' }] },
      { OU: [{ utf8String: ' ' }] },
    ],
  },
  {
    title: 'an unknown OID and control characters',
    subject: [
      { '1.3.6.1.4.1.99999.1': [{ utf8String: 'custom, with comma' }] },
      { CN: [{ utf8String: 'tab\there\x7fdel\nline' }] },
    ],
  },
  {
    title: 'OpenSSL names beyond RFC 4514',
    subject: [
      { '2.5.4.97': ['NTRUS-123'] },
      { '1.3.6.1.4.1.311.60.2.1.3': ['US'] },
      { '2.5.4.41': ['nm'] },
      { '2.5.4.5': ['SN1'] },
      { '2.5.4.9': ['Main St'] },
      { '2.5.4.12': ['Dr'] },
      { '2.5.4.4': ['Surname'] },
      { '2.5.4.42': ['Given'] },
      { '2.5.4.43': ['GS'] },
      { '2.5.4.65': ['pseudo'] },
      { '2.5.4.17': ['12345'] },
      { '2.5.4.15': ['Private Organization'] },
      { '2.5.4.13': ['desc'] },
      { '1.2.840.113549.1.9.2': ['unstructured'] },
      { [UID]: ['uid-1'] },
    ],
  },
  {
    title: 'BMPString, UniversalString and a 4-byte UTF-8 character',
    subject: [
      { O: [{ bmpString: 'Ωmega Ärger' }] },
      { OU: [{ universalString: 'Ünï' }] },
      { CN: [{ utf8String: 'smile 😀' }] },
    ],
  },
  {
    title: 'XFCC delimiters ending in a backslash',
    subject: [{ O: ['Acme'] }, { CN: [{ utf8String: 'x";Cert="forged",By=y;z\\' }] }],
  },
  // The name's string ends in an escaped space (`\ `), and HTTP trims the space off the header.
  {
    title: 'a trailing space at the very end of the DN',
    subject: [{ O: [{ utf8String: 'trailing ' }] }, { CN: ['t'] }],
  },
  { title: 'a serial with the high bit set', subject: [{ CN: ['serial'] }], serialNumber: 'A1B2C3D4E5' },
  { title: 'a serial with a leading zero nibble', subject: [{ CN: ['serial0'] }], serialNumber: '0F00000000000001' },
];

/** nginx's description headers: ingress-nginx's names, plus nginx's serial and SHA-1. */
const NGINX_DESCRIPTION = {
  subjectDn: 'ssl-client-subject-dn',
  issuerDn: 'ssl-client-issuer-dn',
  serial: 'ssl-client-serial',
  sha1: 'ssl-client-fingerprint',
};
const DESCRIBE = [
  'proxy_set_header ssl-client-verify $ssl_client_verify;',
  'proxy_set_header ssl-client-subject-dn $ssl_client_s_dn;',
  'proxy_set_header ssl-client-issuer-dn $ssl_client_i_dn;',
].join('\n            ');

function nginxConfig(port: number, upstreamPort: number): string {
  return `
worker_processes 1;
pid nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    server {
        listen 127.0.0.1:${port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.pem;
        ssl_certificate_key server.key;
        ssl_client_certificate clients-ca.pem;
        ssl_verify_client optional;
        ssl_verify_depth 2;
        location /pass/ {
            proxy_pass http://127.0.0.1:${upstreamPort};
            proxy_set_header ssl-client-cert $ssl_client_escaped_cert;
            ${DESCRIBE}
            proxy_set_header ssl-client-serial $ssl_client_serial;
            proxy_set_header ssl-client-fingerprint $ssl_client_fingerprint;
        }
        # ingress-nginx's template with auth-tls-pass-certificate-to-upstream "false".
        location /nopass/ {
            proxy_pass http://127.0.0.1:${upstreamPort};
            ${DESCRIBE}
        }
        location /xfcc/ {
            proxy_pass http://127.0.0.1:${upstreamPort};
            proxy_set_header X-Forwarded-Client-Cert 'Cert="$ssl_client_escaped_cert";Subject="$ssl_client_s_dn"';
        }
    }
}
`;
}

interface Client {
  title: string;
  cert: TestCertificate;
  parsed: ClientCertificate;
}

describe("interop: the proxy's description of the certificate (real nginx)", () => {
  let root: TestCA;
  let intermediate: TestCA;
  let clients: Client[];
  let alice: Client;
  let mallory: Client;
  let nameless: Client;
  let upstream: http.Server;
  let proxy: RunningProxy;
  const recorded = new Map<string, IncomingHttpHeaders>();
  let requests = 0;

  const pass = (): CompiledHeaderSource =>
    compileHeaderSource({ source: 'url-pem', verifyHeader: 'ssl-client-verify', describedBy: NGINX_DESCRIPTION });
  /** The ingress-nginx preset's source with the description the lead is to give it. */
  const ingress = (): CompiledHeaderSource =>
    compileHeaderSource({
      source: 'url-pem',
      verifyHeader: 'ssl-client-verify',
      describedBy: { subjectDn: 'ssl-client-subject-dn', issuerDn: 'ssl-client-issuer-dn', required: true },
    });

  /** One request through nginx; the headers the app received. */
  async function send(
    location: 'pass' | 'nopass' | 'xfcc',
    client: Client | null,
    headers: Record<string, string> = {},
  ): Promise<IncomingHttpHeaders> {
    const path = `/${location}/${++requests}`;
    const result = await throughProxy({
      port: proxy.port,
      path,
      headers,
      ca: root.cert,
      ...(client ? { cert: client.cert.fullChain, key: client.cert.key } : {}),
    });
    if (result.kind !== 'response') throw new Error(`no response: ${result.code} ${result.message}\n${proxy.output()}`);
    expect(result.status, result.text).to.equal(200);
    const got = recorded.get(path);
    expect(got, `the app saw ${path}`).to.not.equal(undefined);
    return got!;
  }

  function must(forwarded: ForwardedCertificate | undefined): ForwardedCertificate {
    expect(forwarded, 'a forwarded certificate').to.not.equal(undefined);
    return forwarded!;
  }

  before(async function () {
    const binary = requireBinary(this, 'nginx');
    root = await createCA({
      subject: [
        { CN: [{ utf8String: 'Zürich Root, Ltd.' }] },
        { O: [{ bmpString: 'Ωmega' }], OU: [{ utf8String: 'ops' }] },
      ],
    });
    intermediate = await root.intermediate({
      subject: [{ O: ['Acme'] }, { CN: [{ utf8String: 'Issuing "CA" + <2>' }] }],
    });
    const issue = async (title: string, issuer: TestCA, options: Parameters<TestCA['issue']>[0]): Promise<Client> => {
      const cert = await issuer.issue(options);
      return { title, cert, parsed: parseCertificate(cert.der) };
    };
    clients = await Promise.all(
      SUBJECTS.map((s, i) =>
        issue(s.title, i % 2 === 0 ? root : intermediate, {
          subject: s.subject,
          ...(s.serialNumber ? { serialNumber: s.serialNumber } : {}),
        }),
      ),
    );
    alice = await issue('alice', root, { subject: 'CN=alice,O=Acme\\, Inc.,C=US' });
    mallory = await issue('mallory', root, { subject: 'CN=mallory,O=Acme\\, Inc.,C=US' });
    nameless = await issue('an empty subject', intermediate, { subject: [], san: { dns: ['nameless.example'] } });
    const server = await root.issue({
      subject: 'CN=localhost',
      eku: ['serverAuth'],
      san: { dns: ['localhost'], ip: ['127.0.0.1'] },
    });

    upstream = http.createServer((req, res) => {
      recorded.set(req.url ?? '', req.headers);
      res.end('ok');
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const launch: ProxyLaunch = {
      kind: 'nginx',
      binary,
      files: { 'server.pem': server.cert, 'server.key': server.key, 'clients-ca.pem': root.cert },
      config: (port) => ({ name: 'nginx.conf', text: nginxConfig(port, upstreamPort) }),
      args: (dir, configFile) => ['-p', `${dir}/`, '-c', configFile, '-e', 'stderr', '-g', 'daemon off;'],
    };
    proxy = await startProxy(launch);
  });

  after(async () => {
    await proxy?.stop();
    if (upstream) await new Promise<void>((resolve) => upstream.close(() => resolve()));
  });

  describe("nginx's DN, serial and SHA-1 agree with the certificate it saw", () => {
    for (const [index, entry] of SUBJECTS.entries()) {
      it(entry.title, async () => {
        const client = clients[index]!;
        const headers = await send('pass', client);
        expect(headers['ssl-client-verify']).to.equal('SUCCESS');
        const forwarded = must(readHeaderSource(pass(), headers));
        expect(forwarded.leaf.equals(client.cert.der)).to.equal(true);
        const description = forwarded.description!;
        expect(Object.keys(description).sort()).to.deep.equal(['issuerDn', 'serial', 'sha1', 'subjectDn']);
        expect(descriptionMismatch(parseCertificate(forwarded.leaf), description)).to.equal(null);
        // Not by accident: the same headers do not describe another certificate.
        const other = clients[(index + 1) % clients.length]!;
        expect(descriptionMismatch(other.parsed, { subjectDn: description.subjectDn! })).to.equal(
          "The proxy's subject DN does not match the forwarded certificate.",
        );
        expect(descriptionMismatch(other.parsed, { serial: description.serial! })).to.equal(
          "The proxy's serial number does not match the forwarded certificate.",
        );
        expect(descriptionMismatch(other.parsed, { sha1: description.sha1! })).to.equal(
          "The proxy's SHA-1 fingerprint does not match the forwarded certificate.",
        );
        expect(descriptionMismatch(other.parsed, { issuerDn: description.issuerDn! })).to.equal(
          other.parsed.issuer.rfc4514 === client.parsed.issuer.rfc4514
            ? null
            : "The proxy's issuer DN does not match the forwarded certificate.",
        );
      });
    }

    it("HTTP trims the escaped trailing space of a DN's last value (nginx sends it, Node drops it)", async () => {
      const client = clients[SUBJECTS.findIndex((s) => s.title.startsWith('a trailing space'))]!;
      const dn = (await send('pass', client))['ssl-client-subject-dn'];
      expect(dn).to.equal('CN=t,O=trailing\\');
      expect(descriptionMismatch(client.parsed, { subjectDn: dn as string })).to.equal(null);
    });

    it("the two issuers' DN headers tell the issuers apart", async () => {
      const [fromRoot, fromIntermediate] = [clients[0]!, clients[1]!];
      const rootDn = (await send('pass', fromRoot))['ssl-client-issuer-dn'] as string;
      const intermediateDn = (await send('pass', fromIntermediate))['ssl-client-issuer-dn'] as string;
      expect(descriptionMismatch(fromRoot.parsed, { issuerDn: rootDn })).to.equal(null);
      expect(descriptionMismatch(fromIntermediate.parsed, { issuerDn: intermediateDn })).to.equal(null);
      expect(descriptionMismatch(fromRoot.parsed, { issuerDn: intermediateDn })).to.equal(
        "The proxy's issuer DN does not match the forwarded certificate.",
      );
      expect(descriptionMismatch(fromIntermediate.parsed, { issuerDn: rootDn })).to.equal(
        "The proxy's issuer DN does not match the forwarded certificate.",
      );
    });

    it('an empty subject: nginx sends no subject header; with `required` that reads as the empty name', async () => {
      const headers = await send('pass', nameless);
      expect(headers).to.not.have.property('ssl-client-subject-dn');
      expect(headers['ssl-client-issuer-dn']).to.be.a('string');
      const forwarded = must(readHeaderSource(ingress(), headers));
      expect(forwarded.description).to.include({ subjectDn: '' });
      expect(descriptionMismatch(parseCertificate(forwarded.leaf), forwarded.description!)).to.equal(null);
      expect(descriptionMismatch(alice.parsed, { subjectDn: '' })).to.equal(
        "The proxy's subject DN does not match the forwarded certificate.",
      );
    });

    it("a client-sent description header is replaced by nginx's (proxy_set_header)", async () => {
      const headers = await send('pass', mallory, {
        'ssl-client-subject-dn': alice.parsed.subject.rfc4514,
        'ssl-client-fingerprint': alice.parsed.fingerprints.sha1,
      });
      expect(descriptionMismatch(mallory.parsed, must(readHeaderSource(pass(), headers)).description!)).to.equal(null);
      expect(descriptionMismatch(alice.parsed, { subjectDn: headers['ssl-client-subject-dn'] as string })).to.not.equal(
        null,
      );
    });
  });

  describe('attack: ingress-nginx without auth-tls-pass-certificate-to-upstream', () => {
    it("Mallory presents her own valid certificate and sends Alice's in ssl-client-cert: the description gives her away", async () => {
      const headers = await send('nopass', mallory, { 'ssl-client-cert': nginxEscape(alice.cert.cert) });
      // What the app gets: Alice's certificate (not overwritten) and nginx's verdict and DNs for Mallory's.
      expect(headers['ssl-client-verify']).to.equal('SUCCESS');
      const forwarded = must(readHeaderSource(ingress(), headers));
      expect(forwarded.leaf.equals(alice.cert.der)).to.equal(true);
      expect(forwarded.proxyVerdict).to.equal('verified');
      expect(descriptionMismatch(parseCertificate(forwarded.leaf), forwarded.description!)).to.equal(
        "The proxy's subject DN does not match the forwarded certificate.",
      );
      // The same DNs do describe Mallory's certificate: the check is not refusing everything.
      expect(descriptionMismatch(mallory.parsed, forwarded.description!)).to.equal(null);
    });

    it('without a certificate of her own, the forged header comes with no description and is refused as untrusted', async () => {
      const headers = await send('nopass', null, {
        'ssl-client-cert': nginxEscape(alice.cert.cert),
        'ssl-client-verify': 'SUCCESS',
      });
      expect(headers['ssl-client-verify']).to.equal('NONE');
      expect(headers).to.not.have.property('ssl-client-subject-dn');
      expect(headers).to.not.have.property('ssl-client-issuer-dn');
      let error: unknown;
      try {
        readHeaderSource(
          compileHeaderSource({
            source: 'url-pem',
            describedBy: { subjectDn: 'ssl-client-subject-dn', issuerDn: 'ssl-client-issuer-dn', required: true },
          }),
          headers,
        );
      } catch (caught) {
        error = caught;
      }
      expect(isClientCertError(error)).to.equal(true);
      expect(error).to.include({ code: 'client_certificate_untrusted', check: PROXY_DESCRIPTION_CHECK });
    });
  });

  describe('XFCC built by nginx: Subject="$ssl_client_s_dn" matches the Cert (xfccSubjectMatches)', () => {
    for (const [index, entry] of SUBJECTS.entries()) {
      it(entry.title, async () => {
        const client = clients[index]!;
        const [element] = parseXfcc((await send('xfcc', client))['x-forwarded-client-cert'] as string);
        const cert = parseCertificate(element!.cert!);
        expect(cert.raw.equals(client.cert.der)).to.equal(true);
        expect(xfccSubjectMatches(element!.subject!, cert)).to.equal(true);
        expect(xfccSubjectMatches(element!.subject!, clients[(index + 1) % clients.length]!.parsed)).to.equal(false);
        expect(xfccSubjectMatches(element!.subject!, alice.parsed)).to.equal(false);
      });
    }

    it('an empty subject is Subject=""', async () => {
      const [element] = parseXfcc((await send('xfcc', nameless))['x-forwarded-client-cert'] as string);
      expect(element!.subject).to.equal('');
      expect(xfccSubjectMatches(element!.subject!, nameless.parsed)).to.equal(true);
      expect(xfccSubjectMatches(element!.subject!, alice.parsed)).to.equal(false);
    });
  });
});
