/**
 * `ws` servers authenticate the upgrade request, the two ways `ws` offers, with real `ws` clients:
 *
 * - `handleUpgrade`: `server.on('upgrade')` calls the core, then either `rejectUpgrade(socket,
 *   problem)` or `wss.handleUpgrade` (the README's recipe);
 * - `verifyClient`: the core in ws's hook, the problem handed to its callback
 *   (`done(false, status, body, headers)`), ws writing the response.
 *
 * Each over wss (the client's own TLS certificate) and behind a proxy on plain ws (XFCC from
 * `trustProxy`). A refusal is an HTTP response before the upgrade: exact status, problem+json,
 * no-store, and the problem `code`; an admitted client's WebSocket hears its subject from the server.
 */
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { type WebSocket, WebSocketServer } from 'ws';
import {
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  PROBLEM_CONTENT_TYPE,
  rejectUpgrade,
} from '../../packages/core/src/index.js';
import { createSelfSigned, envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { ALICE, connect, type Fixtures, fixtures, PROXY, refused, type Served, STRANGER, serve } from './fixtures.js';

type Style = 'handleUpgrade' | 'verifyClient';

/** Greets each admitted WebSocket with the subject the server saw. */
function greet(ws: WebSocket, certificate: ClientCertificate | null | undefined): void {
  ws.send(`hello ${certificate?.subject.rfc4514 ?? 'anonymous'}`);
}

/** Puts a `ws` server on `served`, authenticating each upgrade with `options` in the given style. */
function attach(style: Style, served: Served, options: ClientCertOptions): WebSocketServer {
  const auth = createClientCertAuth({ logger: false, ...options });
  if (style === 'handleUpgrade') {
    const wss = new WebSocketServer({ noServer: true });
    served.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      Promise.resolve(auth.authenticate(req)).then(
        (result) => {
          if (!result.ok) return rejectUpgrade(socket, result.problem);
          wss.handleUpgrade(req, socket, head, (ws) => greet(ws, result.certificate));
        },
        () => socket.destroy(),
      );
    });
    return wss;
  }
  const certificates = new WeakMap<IncomingMessage, ClientCertificate | null>();
  const wss = new WebSocketServer({
    server: served.server,
    verifyClient: (info, done) => {
      Promise.resolve(auth.authenticate(info.req)).then(
        (result) => {
          if (result.ok) {
            certificates.set(info.req, result.certificate);
            return done(true);
          }
          // ws's own header names: 'Content-Type' replaces its text/html instead of adding a second one.
          done(false, result.problem.status, JSON.stringify(result.problem), {
            'Content-Type': PROBLEM_CONTENT_TYPE,
            'Cache-Control': 'no-store',
          });
        },
        () => done(false, 500),
      );
    },
  });
  wss.on('connection', (ws, req) => greet(ws, certificates.get(req)));
  return wss;
}

for (const style of ['handleUpgrade', 'verifyClient'] as const) {
  describe(`websocket: ws ${style}`, function () {
    this.timeout(60_000);
    let f: Fixtures;
    let served: Served;
    let wss: WebSocketServer;

    before(async () => {
      f = await fixtures();
    });
    afterEach(async () => {
      wss.close();
      await served.close();
    });

    it('wss: the TLS peer certificate — a client of the CA is admitted, a foreign one or none refused before the upgrade', async () => {
      served = await serve(f, true);
      wss = attach(style, served, { ca: f.root.cert });
      const tls = { ca: f.root.cert };
      const forged = await createSelfSigned({ subject: ALICE });
      expect({
        alice: await connect(served.url, { ...tls, cert: f.alice.cert, key: f.alice.key }),
        foreign: await connect(served.url, { ...tls, cert: f.foreign.cert, key: f.foreign.key }),
        selfSigned: await connect(served.url, { ...tls, cert: forged.cert, key: forged.key }),
        none: await connect(served.url, tls),
        // No certificate, but Alice's XFCC, over TLS from loopback (a default trustProxy peer): the
        // shape of a re-encrypting proxy nobody named, refused rather than read (proxy_not_named).
        noneWithXfcc: await connect(served.url, { ...tls, headers: { 'x-forwarded-client-cert': envoyXfcc(f.alice) } }),
      }).to.deep.equal({
        alice: `open hello ${ALICE}`,
        foreign: refused('client_certificate_untrusted'),
        selfSigned: refused('client_certificate_untrusted'),
        none: refused('client_certificate_required'),
        noneWithXfcc: refused('client_certificate_untrusted'),
      });
    });

    it('behind a proxy: XFCC from trustProxy is the identity; from anyone else it is ignored', async () => {
      served = await serve(f, false);
      wss = attach(style, served, { trustProxy: PROXY, ca: f.root.cert });
      const xfcc = (cert: typeof f.alice) => ({ 'x-forwarded-client-cert': envoyXfcc(cert) });
      expect({
        alice: await connect(served.url, { localAddress: PROXY, headers: xfcc(f.alice) }),
        foreign: await connect(served.url, { localAddress: PROXY, headers: xfcc(f.foreign) }),
        none: await connect(served.url, { localAddress: PROXY }),
        // The attack: a peer outside trustProxy forges the header the proxy would send.
        forgedFromStranger: await connect(served.url, { localAddress: STRANGER, headers: xfcc(f.alice) }),
      }).to.deep.equal({
        alice: `open hello ${ALICE}`,
        foreign: refused('client_certificate_untrusted'),
        none: refused('client_certificate_required'),
        forgedFromStranger: refused('client_certificate_required'),
      });
    });

    it("mode 'accept': no certificate opens anonymously; a foreign one is still refused", async () => {
      served = await serve(f, true);
      wss = attach(style, served, { mode: 'accept', ca: f.root.cert });
      const tls = { ca: f.root.cert };
      expect({
        none: await connect(served.url, tls),
        foreign: await connect(served.url, { ...tls, cert: f.foreign.cert, key: f.foreign.key }),
      }).to.deep.equal({
        none: 'open hello anonymous',
        foreign: refused('client_certificate_untrusted'),
      });
    });

    it('rejectStatus applies to the upgrade as to any request (401)', async () => {
      served = await serve(f, true);
      wss = attach(style, served, { ca: f.root.cert, rejectStatus: 401 });
      expect(await connect(served.url, { ca: f.root.cert })).to.equal(refused('client_certificate_required', 401));
    });
  });
}

describe('websocket: rejectUpgrade', function () {
  this.timeout(60_000);

  it('attack: a client that resets its connection while the decision is pending cannot crash the server', async () => {
    const f = await fixtures();
    const served = await serve(f, false);
    let clientGone!: () => void;
    const gone = new Promise<void>((resolve) => {
      clientGone = resolve;
    });
    // An async rule keeps the decision pending until the client has reset the connection.
    const auth = createClientCertAuth({
      logger: false,
      trustProxy: PROXY,
      ca: f.root.cert,
      rules: { predicate: () => gone.then(() => false) },
    });
    const sockets: Duplex[] = [];
    // Deliberately no error listener of the app's own: Node's server no longer has one on an upgraded socket.
    served.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      sockets.push(socket);
      Promise.resolve(auth.authenticate(req)).then((result) => {
        if (!result.ok) rejectUpgrade(socket, result.problem);
      });
    });
    try {
      const port = Number(new URL(served.url).port);
      const raw = net.connect({ port, host: '127.0.0.1', localAddress: PROXY });
      await new Promise<void>((resolve) => raw.once('connect', resolve));
      raw.write(
        'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Forwarded-Client-Cert: ${envoyXfcc(f.alice)}\r\n\r\n`,
      );
      while (sockets.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await new Promise<void>((resolve) => raw.once('close', () => resolve()).resetAndDestroy());
      clientGone();
      // The next client is answered as usual, by the same process.
      const next = await connect(served.url, {
        localAddress: PROXY,
        headers: { 'x-forwarded-client-cert': envoyXfcc(f.alice) },
      });
      expect(next).to.equal(refused('client_certificate_rejected'));
      expect(sockets.map((socket) => socket.destroyed)).to.deep.equal([true, true]);
    } finally {
      await served.close();
    }
  });
});
