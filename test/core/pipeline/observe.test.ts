import diagnosticsChannel from 'node:diagnostics_channel';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import {
  type AuthResult,
  type ClientCertOptions,
  createClientCertAuth,
  DECISION_CHANNEL,
  type DecisionEvent,
  type Logger,
} from '../../../packages/core/src/index.js';
import { escapeForLog } from '../../../packages/core/src/options/warnings.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { request } from '../../helpers/http-client.js';

function proxySocket(remoteAddress = '127.0.0.1'): Socket {
  return { remoteAddress, encrypted: false } as unknown as Socket;
}

/** An auth whose decisions are collected; requests come from a trusted proxy on one connection. */
function observed(options: ClientCertOptions): {
  events: DecisionEvent[];
  send: (header?: string, socket?: Socket) => Promise<AuthResult>;
} {
  const events: DecisionEvent[] = [];
  const auth = createClientCertAuth({
    logger: false,
    trustProxy: '127.0.0.1',
    ...options,
    onDecision: (event) => void events.push(event),
  });
  const socket = proxySocket();
  return {
    events,
    send: async (header, on = socket) =>
      auth.authenticate({ socket: on, headers: header === undefined ? {} : { 'x-forwarded-client-cert': header } }),
  };
}

describe('observability', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let stranger: TestCertificate;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    stranger = await (await createCA()).issue({ subject: 'CN=stranger' });
  });

  describe('onDecision', () => {
    it('an authenticated request: fingerprint, identity, source, proxy hop, and whether it came from a cache', async () => {
      const { events, send } = observed({
        ca: root.cert,
        rules: { identities: [{ name: 'alice', commonName: 'alice' }] },
      });
      await send(envoyXfcc(alice));
      await send(envoyXfcc(alice));
      expect(events).to.have.length(2);
      expect(events[0]).to.deep.equal({
        outcome: 'authenticated',
        ok: true,
        mode: 'require',
        code: null,
        check: null,
        instance: null,
        fingerprint: alice.sha256,
        subject: 'CN=alice,O=Acme',
        identity: 'alice',
        pin: null,
        verifiedBy: 'chain',
        source: 'xfcc',
        hop: '127.0.0.1',
        cached: false,
      });
      expect(events[1]).to.deep.include({ outcome: 'authenticated', cached: true });
    });

    it('a rejected request: the code, the deciding check, the problem instance, and the fingerprint of what was presented', async () => {
      const { events, send } = observed({ ca: root.cert });
      const first = await send(envoyXfcc(stranger));
      await send(envoyXfcc(stranger));
      expect(first.ok).to.equal(false);
      expect(events[0]).to.deep.equal({
        outcome: 'rejected',
        ok: false,
        mode: 'require',
        code: 'client_certificate_untrusted',
        check: 'chain.untrusted',
        instance: first.ok ? null : first.problem.instance,
        fingerprint: stranger.sha256,
        subject: null,
        identity: null,
        pin: null,
        verifiedBy: null,
        source: 'xfcc',
        hop: '127.0.0.1',
        cached: false,
      });
      expect(events[1]).to.deep.include({
        code: 'client_certificate_untrusted',
        fingerprint: stranger.sha256,
        cached: true,
      });
    });

    it('no certificate: required in require mode, anonymous in accept mode', async () => {
      const required = observed({ ca: root.cert });
      await required.send();
      expect(required.events[0]).to.deep.include({
        outcome: 'rejected',
        code: 'client_certificate_required',
        check: 'presence',
        source: null,
        hop: null,
        fingerprint: null,
        cached: false,
      });
      const accepting = observed({ ca: root.cert, mode: 'accept', warnings: { accept_mode: false } });
      await accepting.send();
      expect(accepting.events[0]).to.deep.include({
        outcome: 'anonymous',
        ok: true,
        mode: 'accept',
        code: null,
        source: null,
      });
    });

    it('an async rule: the event comes once it settles, naming the rule that refused', async () => {
      const { events, send } = observed({ ca: root.cert, rules: { predicate: async () => false } });
      const pending = send(envoyXfcc(alice));
      expect(events).to.deep.equal([]);
      await pending;
      expect(events).to.have.length(1);
      expect(events[0]).to.deep.include({
        outcome: 'rejected',
        code: 'client_certificate_rejected',
        check: 'rules.predicate',
        fingerprint: alice.sha256,
        source: 'xfcc',
      });
    });

    it('the TLS connection: source tls, no proxy hop', async () => {
      const server = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } });
      const events: DecisionEvent[] = [];
      const auth = createClientCertAuth({
        logger: false,
        ca: root.cert,
        onDecision: (event) => void events.push(event),
      });
      const tlsServer = https.createServer(
        { key: server.key, cert: server.cert, ca: root.cert, requestCert: true, rejectUnauthorized: false },
        (req, res) => {
          res.writeHead((auth.authenticate(req) as AuthResult).ok ? 200 : 403).end();
        },
      );
      await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
      try {
        const url = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
        expect((await request({ url, ca: root.cert, cert: alice.cert, key: alice.key })).status).to.equal(200);
      } finally {
        tlsServer.close();
      }
      expect(events[0]).to.deep.include({
        outcome: 'authenticated',
        source: 'tls',
        hop: null,
        fingerprint: alice.sha256,
        verifiedBy: 'chain',
      });
    });

    it('is safe for logs: no PEM, no header text, escaped subject', async () => {
      const evil = await root.issue({ subject: [{ CN: [{ utf8String: 'mallory"\u0007\u202e' }] }] });
      const { events, send } = observed({ ca: root.cert });
      await send(envoyXfcc(evil));
      await send('Cert="garbage\r\nInjected: yes"');
      const text = JSON.stringify(events);
      expect(text).not.to.include('BEGIN CERTIFICATE').and.not.to.include('garbage').and.not.to.include('Injected');
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that no control character reaches the event
      expect(events[0]!.subject).not.to.match(/[\u0000-\u001f\u007f\u202e]/);
      expect(events[0]!.subject)
        .to.include('\\u202e')
        .and.not.match(/[^\\]"/);
      expect(events[1]).to.deep.include({ code: 'client_certificate_malformed', fingerprint: null });
    });

    it('a hook that throws does not change the decision, and is reported once', async () => {
      const warnings: string[] = [];
      const logger: Logger = { info: () => {}, warn: (message) => void warnings.push(message) };
      const auth = createClientCertAuth({
        logger,
        trustProxy: '127.0.0.1',
        ca: root.cert,
        onDecision: () => {
          throw new Error('boom\n');
        },
      });
      for (let i = 0; i < 3; i++) {
        const result = await auth.authenticate({
          socket: proxySocket(),
          headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
        });
        expect(result.ok).to.equal(true);
      }
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include('warning on_decision_error').and.include('boom\\x0a');
    });
  });

  describe(`the ${DECISION_CHANNEL} diagnostics channel`, () => {
    it('gets the same events while subscribed, without any option', async () => {
      const auth = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
      const seen: DecisionEvent[] = [];
      const listener = (message: unknown): void => void seen.push(message as DecisionEvent);
      await auth.authenticate({ socket: proxySocket(), headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
      diagnosticsChannel.subscribe(DECISION_CHANNEL, listener);
      try {
        await auth.authenticate({ socket: proxySocket(), headers: { 'x-forwarded-client-cert': envoyXfcc(stranger) } });
      } finally {
        diagnosticsChannel.unsubscribe(DECISION_CHANNEL, listener);
      }
      await auth.authenticate({ socket: proxySocket(), headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
      expect(seen.map((event) => event.code)).to.deep.equal(['client_certificate_untrusted']);
    });
  });

  describe('debug', () => {
    function debugLines(options: ClientCertOptions): {
      lines: string[];
      auth: ReturnType<typeof createClientCertAuth>;
    } {
      const lines: string[] = [];
      const logger: Logger = { info: () => {}, warn: () => {}, debug: (line) => void lines.push(line) };
      return { lines, auth: createClientCertAuth({ trustProxy: '127.0.0.1', ca: root.cert, ...options, logger }) };
    }

    it('debug: true explains each decision in one line, with the steps taken', async () => {
      const { lines, auth } = debugLines({ debug: true });
      await auth.authenticate({ socket: proxySocket(), headers: { 'x-forwarded-client-cert': envoyXfcc(stranger) } });
      await auth.authenticate({
        socket: proxySocket('203.0.113.9'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
      });
      await auth.authenticate({ socket: proxySocket(), headers: { 'x-forwarded-client-cert': envoyXfcc(alice) } });
      expect(lines).to.have.length(3);
      for (const line of lines) expect(line).not.to.match(/[\r\n]/);
      expect(lines[0])
        .to.match(
          /^clientcert: rejected mode=require code=client_certificate_untrusted check=chain.untrusted source=xfcc hop=127.0.0.1 sha256=[0-9a-f]{64} cached=no/,
        )
        .and.include('reason="')
        .and.include('steps: x-forwarded-client-cert: client_certificate_untrusted at chain.untrusted');
      expect(lines[1])
        .to.include('rejected')
        .and.include('code=client_certificate_required')
        .and.include('x-forwarded-client-cert: ignored, peer 203.0.113.9 is outside trustProxy');
      expect(lines[2])
        .to.match(/^clientcert: authenticated /)
        .and.include('subject="CN=alice,O=Acme"')
        .and.include('verifiedBy=chain');
    });

    it('DEBUG=clientcert turns it on (to stderr) for auths created after; debug: false keeps it off', async () => {
      const saved = { env: process.env.DEBUG, error: console.error };
      const written: string[] = [];
      process.env.DEBUG = 'express:*,clientcert';
      console.error = (line: unknown) => void written.push(String(line));
      try {
        const on = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert });
        const off = createClientCertAuth({ logger: false, trustProxy: '127.0.0.1', ca: root.cert, debug: false });
        await on.authenticate({ socket: proxySocket(), headers: {} });
        await off.authenticate({ socket: proxySocket(), headers: {} });
      } finally {
        if (saved.env === undefined) delete process.env.DEBUG;
        else process.env.DEBUG = saved.env;
        console.error = saved.error;
      }
      expect(written).to.have.length(1);
      expect(written[0]).to.match(/^clientcert: rejected .*code=client_certificate_required/);
    });
  });

  it('onDecision and debug are validated at construction', () => {
    for (const [option, value] of [
      ['onDecision', 'log'],
      ['debug', 'yes'],
    ] as const) {
      let caught: { code?: string; message?: string } | undefined;
      try {
        createClientCertAuth({ logger: false, [option]: value } as unknown as ClientCertOptions);
      } catch (error) {
        caught = error as { code: string; message: string };
      }
      expect(caught?.code, option).to.equal('invalid_option');
      expect(caught?.message).to.include(`"${option}"`);
    }
  });

  it('escapeForLog escapes control characters, quotes, backslashes and direction marks, and nothing else', () => {
    expect(escapeForLog('CN=alice,O=Acme é')).to.equal('CN=alice,O=Acme é');
    expect(escapeForLog('a"b\\c\nd\u0000e\u009bf\u2028g\u202eh')).to.equal(
      'a\\"b\\\\c\\x0ad\\x00e\\x9bf\\u2028g\\u202eh',
    );
  });
});
