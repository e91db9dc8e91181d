/**
 * `clientcert check` and the middleware agree on every row of the conformance table
 * (test/conformance/scenarios.ts): each row's configuration and request go once to a real
 * express server (the harness's app, real TLS or plain HTTP, from the row's address) and once
 * through check's own path (`readCheckInput` for what check is given, then `decide`, what the
 * binary runs after reading its arguments), and both must give the same status and problem code,
 * or the same client, source, verifier, pin and identity.
 *
 * How a row becomes check's arguments, as a user would give them:
 * - a client certificate over TLS: the certificate (or its chain) as the input, `--tls-ca` the
 *   server's ca, the row's forwarded headers as `--add-header`;
 * - a forwarded header: its value as the input, `--header` its name, any other header as
 *   `--add-header`; over HTTPS with `--tls-ca` (a TLS connection without a client certificate);
 * - nothing: `--no-certificate` (with `--tls-ca` over HTTPS);
 * - `--from` the row's peer.
 * A route that opts out of client certificates has no configuration to check: those rows are
 * counted and left out.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { expect } from 'chai';
import { type CheckResult, decide, HEADER_NAMES, readCheckInput } from '../../packages/cli/src/index.js';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { adapters, type RunningApp, type Whoami } from '../conformance/harness.js';
import { createFixtures, type Fixtures, resolve, type Scenario, scenarios } from '../conformance/scenarios.js';
import { type ClientResponse, request } from '../helpers/http-client.js';

/** What a request came to: a refusal's status and code, or what the handler got. */
type Verdict =
  | { status: number; code: string }
  | {
      status: 200;
      subject: string | null;
      source?: string | null;
      verifiedBy?: string | null;
      authorization?: unknown;
    };

function fromResponse(res: ClientResponse): Verdict {
  const body = JSON.parse(res.text) as Record<string, unknown>;
  if (res.status !== 200) return { status: res.status, code: body.code as string };
  const who = body as Whoami;
  if ('cert' in who) return { status: 200, subject: null };
  const { subject, source, verifiedBy, authorization } = who;
  return { status: 200, subject, source, verifiedBy, authorization };
}

function fromCheck(result: CheckResult): Verdict {
  if (result.verdict === 'rejected') return { status: result.status, code: result.code };
  if (result.verdict === 'anonymous') return { status: 200, subject: null };
  const { subject, source, verifiedBy, pin, identity } = result;
  return { status: 200, subject, source, verifiedBy, authorization: { pin, identity } };
}

/** The headers the row sends, as `[name, value]` lines (an XFCC array is several lines). */
function headerLines(scenario: Scenario, f: Fixtures): Array<[string, string]> {
  const lines: Array<[string, string]> = [];
  const { send } = scenario;
  if (send.xfcc !== undefined) {
    const value = resolve(send.xfcc, f);
    for (const v of Array.isArray(value) ? value : [value])
      lines.push([send.xfccHeader ?? 'x-forwarded-client-cert', v]);
  }
  if (send.headers !== undefined) lines.push(...Object.entries(resolve(send.headers, f)));
  return lines;
}

/** The configuration that decides the row's path: the app's, a route's own, or none (opted out). */
function configurationOf(scenario: Scenario, f: Fixtures): ClientCertOptions | false {
  const route = (scenario.routes ? resolve(scenario.routes, f) : []).find((r) => r.path === scenario.send.path);
  return route ? route.clientCert : resolve(scenario.options, f);
}

async function throughCheck(scenario: Scenario, f: Fixtures, config: ClientCertOptions): Promise<CheckResult> {
  const { send } = scenario;
  const lines = headerLines(scenario, f);
  const transport = {
    ...(scenario.server === 'https' ? { tlsCa: f.root.cert } : {}),
    from: send.from ?? '127.0.0.1',
  };
  if (send.cert) {
    const client = f.clients[send.cert];
    const input = readCheckInput(Buffer.from(send.presentChain ? client.fullChain : client.cert), 'client.pem');
    return decide(input, config, { ...transport, headers: lines });
  }
  if (lines.length === 0) return decide({ kind: 'none' }, config, transport);
  // The certificate's header is the input; the others go along.
  const index = Math.max(
    0,
    lines.findIndex(([name]) => HEADER_NAMES[name] !== undefined),
  );
  const [name, value] = lines[index]!;
  const input = readCheckInput(Buffer.from(value), 'the header value', { header: name });
  return decide(input, config, { ...transport, headers: lines.filter((_, i) => i !== index) });
}

async function throughServer(scenario: Scenario, f: Fixtures, app: RunningApp): Promise<Verdict> {
  const { send } = scenario;
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of headerLines(scenario, f)) {
    const before = headers[name];
    headers[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [String(before)]), value];
  }
  const client = send.cert ? f.clients[send.cert] : undefined;
  const res = await request({
    url: app.url,
    path: send.path ?? '/whoami',
    headers,
    localAddress: send.from ?? '127.0.0.1',
    ca: f.root.cert,
    ...(client ? { cert: send.presentChain ? client.fullChain : client.cert, key: client.key } : {}),
  });
  return fromResponse(res);
}

describe('clientcert check agrees with the middleware on the conformance table', () => {
  let f: Fixtures;
  let app: RunningApp | undefined;
  const express = adapters.find((a) => a.name === 'express')!;
  const compared: string[] = [];
  const optedOut: string[] = [];

  before(async function () {
    this.timeout(120_000); // RSA key generation
    f = await createFixtures();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  for (const scenario of scenarios) {
    it(scenario.name, async () => {
      const config = configurationOf(scenario, f);
      if (config === false) {
        optedOut.push(scenario.name);
        return;
      }
      app = await express.start({
        options: resolve(scenario.options, f),
        routes: scenario.routes ? resolve(scenario.routes, f) : [],
        ...(scenario.server === 'https'
          ? {
              tls: {
                cert: f.server.cert,
                key: f.server.key,
                ca: f.root.cert,
                requestCert: true,
                rejectUnauthorized: false,
              },
            }
          : {}),
      });
      const server = await throughServer(scenario, f, app);
      const checked = await throughCheck(scenario, f, { logger: false, ...config });
      expect(fromCheck(checked), `check: ${checked.notes.join('; ')}`).to.deep.equal(server);
      // And both are the row's expected answer (the conformance test holds the server to it).
      expect(server.status).to.equal(scenario.expect.status);
      if ('code' in scenario.expect)
        expect(server).to.deep.equal({ status: scenario.expect.status, code: scenario.expect.code });
      compared.push(scenario.name);
    });
  }

  it('compared every row but those whose route opts out', () => {
    expect(optedOut).to.have.length(2);
    expect(compared).to.have.length(scenarios.length - optedOut.length);
  });
});
