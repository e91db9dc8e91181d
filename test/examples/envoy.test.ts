/**
 * examples/envoy. There is no Envoy binary on the CI machines (nor in Debian), so:
 *   - envoy.yaml is checked for the settings the app relies on (each exactly once, read from the
 *     file itself): mTLS required and verified against trusted_ca, SANITIZE_SET, the XFCC details,
 *     the app cluster on 127.0.0.1:3000;
 *   - the example's real app (`node server.mjs`) on port 0 gets the XFCC header as Envoy writes
 *     it: from a TLS front configured from those settings (the core's createXfccForwarder, which
 *     writes the header as Envoy's mutateXfccRequestHeader does), and directly from the test kit's
 *     envoyXfcc().
 */

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { createXfccForwarder, type XfccDetail, type XfccForwardMode } from '../../packages/core/src/index.js';
import { envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { type ClientResponse, request } from '../helpers/http-client.js';
import { EXAMPLES, type RunningExample, startExample, tempFiles } from './example-process.js';
import { exampleFixtures, expectProblem, type Fixtures, json } from './fixtures.js';

const ENVOY_YAML = path.join(EXAMPLES, 'envoy', 'envoy.yaml');

const DETAIL_KEYS: Record<string, XfccDetail> = {
  cert: 'Cert',
  chain: 'Chain',
  subject: 'Subject',
  uri: 'URI',
  dns: 'DNS',
};
/** Envoy writes the details in this order whatever the order in its configuration. */
const ENVOY_ORDER: XfccDetail[] = ['Cert', 'Chain', 'Subject', 'URI', 'DNS'];

interface EnvoySettings {
  mode: XfccForwardMode;
  details: XfccDetail[];
}

/** The one match of `pattern` (multiline) in `text`; fails unless there is exactly one. */
function one(text: string, pattern: RegExp): RegExpMatchArray {
  const all = [...text.matchAll(new RegExp(pattern.source, 'gm'))];
  expect(all, `envoy.yaml: expected exactly one ${pattern}`).to.have.length(1);
  return all[0]!;
}

/** Checks envoy.yaml's shape and reads the XFCC settings from it. */
function readEnvoyYaml(): EnvoySettings {
  const text = readFileSync(ENVOY_YAML, 'utf8');
  // Block YAML as Envoy reads it: spaces only, two per level, flow collections closed on their line.
  expect(text).not.to.include('\t');
  text.split('\n').forEach((line, index) => {
    if (/^\s*(#|$)/.test(line)) return;
    const where = `envoy.yaml:${index + 1}: ${line}`;
    expect(/^ */.exec(line)![0].length % 2, where).to.equal(0);
    expect(line, where).to.match(/^ *(- )?("@type"|[a-z_]+): |^ *- [{[]|^ *(- )?[a-z_]+:$/);
    const count = (re: RegExp): number => (line.replace(/"[^"]*"/g, '').match(re) ?? []).length;
    expect(count(/\{/g), where).to.equal(count(/\}/g));
    expect(count(/\[/g), where).to.equal(count(/\]/g));
  });
  for (const [, type] of text.matchAll(/"@type": (\S+)/g))
    expect(type).to.match(/^type\.googleapis\.com\/envoy\.[a-z0-9_.]+\.v3\.[A-Za-z]+$/);
  one(text, /^ {14}require_client_certificate: true$/);
  one(text, /^ {18}trusted_ca: \{ filename: \S+ \}$/);
  one(text, /address: \{ socket_address: \{ address: 127\.0\.0\.1, port_value: 3000 \} \}/); // the app
  one(text, /cluster: app \}/);
  const mode = one(text, /^ {16}forward_client_cert_details: ([A-Z_]+)$/)[1] as XfccForwardMode;
  const flags = one(text, /^ {16}set_current_client_cert_details: \{ ([^}]*) \}$/)[1]!.split(/,\s*/);
  const details = flags.map((flag) => {
    const [key, value] = flag.split(/:\s*/);
    expect(value, flag).to.equal('true');
    expect(DETAIL_KEYS, flag).to.have.property(key!);
    return DETAIL_KEYS[key!]!;
  });
  return { mode, details: ENVOY_ORDER.filter((detail) => details.includes(detail)) };
}

interface Front {
  server: https.Server;
  /** The XFCC header the front sent the app last (undefined: none). */
  lastXfcc: string | string[] | undefined;
}

/** A TLS front doing what envoy.yaml's listener does: require and verify a client certificate, set XFCC. */
async function startFront(f: Fixtures, settings: EnvoySettings, upstreamPort: number): Promise<Front> {
  const forwarder = createXfccForwarder({ mode: settings.mode, details: settings.details });
  const front: Front = { server: undefined as unknown as https.Server, lastXfcc: undefined };
  const server = https.createServer(
    { cert: f.server.cert, key: f.server.key, ca: f.root.cert, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const headers = { ...req.headers };
      forwarder.apply(req, headers);
      front.lastXfcc = headers['x-forwarded-client-cert'];
      const upstream = http.request(
        { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent: false },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    },
  );
  front.server = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return front;
}

describe('examples/envoy', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let settings: EnvoySettings;
  let files: Awaited<ReturnType<typeof tempFiles>>;
  let example: RunningExample;
  let front: Front;
  let app: string;
  let envoy: string;

  before(async () => {
    f = await exampleFixtures();
    settings = readEnvoyYaml();
    files = await tempFiles({ 'clients-ca.pem': f.root.cert });
    example = await startExample('envoy', { CLIENT_CA_FILE: path.join(files.dir, 'clients-ca.pem') });
    app = `http://127.0.0.1:${example.port}`;
    front = await startFront(f, settings, example.port);
    envoy = `https://localhost:${(front.server.address() as AddressInfo).port}`;
  });

  after(async () => {
    front?.server.closeAllConnections();
    await new Promise((resolve) => (front ? front.server.close(resolve) : resolve(undefined)));
    await example?.stop();
    await files?.remove();
  });

  const alice = (f: Fixtures) => ({
    subject: 'CN=alice,OU=payments,O=Acme',
    sha256: f.alice.sha256,
    san: {
      dns: ['alice.example.org'],
      uri: ['spiffe://example.org/ns/pay/sa/alice'],
      email: ['alice@example.org'],
      ip: [],
    },
    spiffeId: 'spiffe://example.org/ns/pay/sa/alice',
    chainLength: 0,
    source: 'xfcc',
    verifiedBy: 'chain',
  });

  it('envoy.yaml: SANITIZE_SET with Cert, Chain, Subject, URI and DNS', () => {
    expect(settings).to.deep.equal({ mode: 'SANITIZE_SET', details: ['Cert', 'Chain', 'Subject', 'URI', 'DNS'] });
  });

  it('through the Envoy-configured front, a client certificate reaches the app: 200 with its identity', async () => {
    const res = await request({ url: envoy, path: '/whoami', ca: f.root.cert, cert: f.alice.cert, key: f.alice.key });
    expect(res.status, res.text).to.equal(200);
    expect(json(res)).to.deep.equal(alice(f));
    // What Envoy would have sent for these settings, as the test kit writes it.
    expect(front.lastXfcc).to.equal(envoyXfcc(f.alice, { details: settings.details }));
  });

  it('through the front, an XFCC the client sent is replaced (SANITIZE_SET): the app sees who connected', async () => {
    const res = await request({
      url: envoy,
      path: '/whoami',
      ca: f.root.cert,
      cert: f.bob.cert,
      key: f.bob.key,
      headers: { 'x-forwarded-client-cert': envoyXfcc(f.alice) },
    });
    expect(res.status, res.text).to.equal(200);
    expect(json(res)).to.include({ subject: 'CN=bob,O=Acme', sha256: f.bob.sha256 });
  });

  it('through the front, no client certificate: refused in the handshake (require_client_certificate)', async () => {
    let answer: ClientResponse | undefined;
    let failure: unknown;
    try {
      answer = await request({ url: envoy, path: '/whoami', ca: f.root.cert });
    } catch (error) {
      failure = error;
    }
    expect(answer, 'no HTTP response expected').to.equal(undefined);
    expect(String(failure)).to.match(/certificate required|ECONNRESET|socket hang up/i);
  });

  it('straight to the app, envoyXfcc() of the same certificate: the same identity', async () => {
    const res = await request({
      url: app,
      path: '/whoami',
      headers: { 'x-forwarded-client-cert': envoyXfcc(f.alice) },
    });
    expect(res.status, res.text).to.equal(200);
    expect(json(res)).to.deep.equal(alice(f));
  });

  it('no header: 403 client_certificate_required', async () => {
    expectProblem(await request({ url: app, path: '/whoami' }), 'client_certificate_required');
  });

  it('a certificate of another CA: 403 client_certificate_untrusted (the app verifies too)', async () => {
    const res = await request({
      url: app,
      path: '/whoami',
      headers: { 'x-forwarded-client-cert': envoyXfcc(f.mallory) },
    });
    expectProblem(res, 'client_certificate_untrusted');
  });

  it("two elements (an Envoy not in SANITIZE_SET appending to a client's value): 403 client_certificate_malformed", async () => {
    const appended = envoyXfcc(f.bob, { appendTo: envoyXfcc(f.alice) });
    expectProblem(
      await request({ url: app, path: '/whoami', headers: { 'x-forwarded-client-cert': appended } }),
      'client_certificate_malformed',
    );
  });
});
