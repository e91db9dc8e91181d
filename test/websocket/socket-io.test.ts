/**
 * Socket.IO servers authenticate with the core, with real `socket.io-client` clients (and a raw
 * `ws` client for the exact answer to a refused upgrade):
 *
 * - `io.engine.use(...)` (the README's recipe): every HTTP request of a session — the handshake,
 *   each long-polling request, the upgrade — is authenticated; a refusal is the problem response
 *   (403, problem+json): on a polling request through `res`, on an upgrade with `rejectUpgrade`
 *   (engine.io's stand-in response on an upgrade writes nothing).
 * - `allowRequest`: the handshake only, answered in engine.io's own shape: 403
 *   `{"code":4,"message":"<problem code>"}` on polling, 400 text on a WebSocket-only handshake.
 *   These tests pin that shape so the README says it truthfully.
 */
import { type IncomingMessage, ServerResponse } from 'node:http';
import { expect } from 'chai';
import { Server } from 'socket.io';
import { io as ioClient, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import {
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  PROBLEM_HEADERS,
  rejectUpgrade,
} from '../../packages/core/src/index.js';
import { envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { ALICE, connect, type Fixtures, fixtures, PROXY, refused, type Served, STRANGER, serve } from './fixtures.js';

type Style = 'engine.use' | 'allowRequest';

function attach(style: Style, served: Served, options: ClientCertOptions): Server {
  const auth = createClientCertAuth({ logger: false, ...options });
  const certificates = new WeakMap<IncomingMessage, ClientCertificate | null>();
  let io: Server;
  if (style === 'engine.use') {
    io = new Server(served.server);
    io.engine.use((req: IncomingMessage, res: ServerResponse, next: (error?: Error) => void) => {
      Promise.resolve(auth.authenticate(req)).then((result) => {
        if (result.ok) {
          certificates.set(req, result.certificate);
          return next();
        }
        if (res instanceof ServerResponse) {
          res.writeHead(result.problem.status, PROBLEM_HEADERS).end(JSON.stringify(result.problem));
        } else {
          rejectUpgrade(req.socket, result.problem); // an upgrade: engine.io's `res` writes nothing
        }
      }, next);
    });
  } else {
    io = new Server(served.server, {
      allowRequest: (req, callback) => {
        Promise.resolve(auth.authenticate(req)).then(
          (result) => {
            if (result.ok) certificates.set(req, result.certificate);
            callback(result.ok ? null : result.problem.code, result.ok);
          },
          () => callback('error', false),
        );
      },
    });
  }
  io.on('connection', (socket) => {
    socket.emit('hello', certificates.get(socket.request)?.subject.rfc4514 ?? 'anonymous');
  });
  return io;
}

interface XhrLike {
  status?: number;
  responseText?: string;
  getResponseHeader?(name: string): string | null;
}

/**
 * One Socket.IO connection: `open hello <subject>`, or the connect_error as the client sees it:
 * over polling `polling <status> <content-type> <body code>`, over WebSocket `websocket <message>`.
 */
function sio(url: string, options: Partial<ManagerOptions & SocketOptions>, upgrade = false): Promise<string> {
  return new Promise((resolve) => {
    const socket = ioClient(url, { reconnection: false, forceNew: true, ...options });
    // With `upgrade`, also wait for the polling session to move to WebSocket (its upgrade request authenticated too).
    const upgraded = new Promise<string>((done) => {
      if (upgrade)
        socket.io.engine.once('upgrade', (transport: { name: string }) => done(` upgraded to ${transport.name}`));
      else done('');
    });
    socket.on('hello', async (subject: string) => {
      resolve(`open hello ${subject}${await upgraded}`);
      socket.disconnect();
    });
    socket.on('connect_error', (error: Error & { description?: unknown; context?: unknown }) => {
      socket.disconnect();
      const xhr = error.context as XhrLike | undefined;
      if (xhr?.responseText !== undefined) {
        const body = JSON.parse(xhr.responseText) as { code?: unknown; message?: unknown };
        const code = typeof body.code === 'string' ? body.code : `${String(body.code)}:${String(body.message)}`;
        return resolve(`polling ${xhr.status} ${xhr.getResponseHeader?.('content-type')} ${code}`);
      }
      const cause = (error.description as { message?: string } | undefined)?.message;
      resolve(`websocket ${cause ?? error.message}`);
    });
  });
}

/** The engine.io WebSocket endpoint, for a raw `ws` handshake. */
const engineWs = (served: Served): string => `${served.url}/socket.io/?EIO=4&transport=websocket`;

describe('websocket: Socket.IO', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let served: Served;
  let io: Server;

  before(async () => {
    f = await fixtures();
  });
  afterEach(async () => {
    io.close();
    await served.close();
  });

  const https = (served: Served): string => served.url.replace(/^ws/, 'http');

  describe('io.engine.use: every request of the session, answered with the problem', () => {
    it('over TLS: a client of the CA is admitted (polling, then upgraded); a foreign one or none refused with 403 problem+json', async () => {
      served = await serve(f, true);
      io = attach('engine.use', served, { ca: f.root.cert });
      const tls = { ca: f.root.cert };
      const alice = { ...tls, cert: f.alice.cert, key: f.alice.key };
      const foreign = { ...tls, cert: f.foreign.cert, key: f.foreign.key };
      expect({
        alicePolling: await sio(https(served), alice, true),
        aliceWebSocket: await sio(https(served), { ...alice, transports: ['websocket'] }),
        foreignPolling: await sio(https(served), foreign),
        nonePolling: await sio(https(served), tls),
        noneWebSocket: await sio(https(served), { ...tls, transports: ['websocket'] }),
        noneUpgradeAnswer: await connect(engineWs(served), tls),
        foreignUpgradeAnswer: await connect(engineWs(served), foreign),
      }).to.deep.equal({
        alicePolling: `open hello ${ALICE} upgraded to websocket`,
        aliceWebSocket: `open hello ${ALICE}`,
        foreignPolling: 'polling 403 application/problem+json client_certificate_untrusted',
        nonePolling: 'polling 403 application/problem+json client_certificate_required',
        noneWebSocket: 'websocket Unexpected server response: 403',
        noneUpgradeAnswer: refused('client_certificate_required'),
        foreignUpgradeAnswer: refused('client_certificate_untrusted'),
      });
    });

    it('behind a proxy: XFCC from trustProxy is the identity; a forged one from anyone else is ignored', async () => {
      served = await serve(f, false);
      io = attach('engine.use', served, { trustProxy: PROXY, ca: f.root.cert });
      const xfcc = { 'x-forwarded-client-cert': envoyXfcc(f.alice) };
      const ws = { transports: ['websocket'] as string[] };
      expect({
        alice: await sio(https(served), { ...ws, localAddress: PROXY, extraHeaders: xfcc } as never),
        none: await connect(engineWs(served), { localAddress: PROXY }),
        foreign: await connect(engineWs(served), {
          localAddress: PROXY,
          headers: { 'x-forwarded-client-cert': envoyXfcc(f.foreign) },
        }),
        forgedFromStranger: await connect(engineWs(served), { localAddress: STRANGER, headers: xfcc }),
      }).to.deep.equal({
        alice: `open hello ${ALICE}`,
        none: refused('client_certificate_required'),
        foreign: refused('client_certificate_untrusted'),
        forgedFromStranger: refused('client_certificate_required'),
      });
    });
  });

  describe("allowRequest: the handshake only, in engine.io's shape", () => {
    it('over TLS: admitted with the subject; refused as 403 {code: 4, message: <problem code>} on polling, 400 on a WebSocket-only handshake', async () => {
      served = await serve(f, true);
      io = attach('allowRequest', served, { ca: f.root.cert });
      const tls = { ca: f.root.cert };
      const alice = { ...tls, cert: f.alice.cert, key: f.alice.key };
      expect({
        alicePolling: await sio(https(served), alice),
        aliceWebSocket: await sio(https(served), { ...alice, transports: ['websocket'] }),
        foreignPolling: await sio(https(served), { ...tls, cert: f.foreign.cert, key: f.foreign.key }),
        nonePolling: await sio(https(served), tls),
        noneWebSocket: await sio(https(served), { ...tls, transports: ['websocket'] }),
      }).to.deep.equal({
        alicePolling: `open hello ${ALICE}`,
        aliceWebSocket: `open hello ${ALICE}`,
        foreignPolling: 'polling 403 application/json 4:client_certificate_untrusted',
        nonePolling: 'polling 403 application/json 4:client_certificate_required',
        noneWebSocket: 'websocket Unexpected server response: 400',
      });
    });

    it('behind a proxy: a forged XFCC from a peer outside trustProxy is ignored', async () => {
      served = await serve(f, false);
      io = attach('allowRequest', served, { trustProxy: PROXY, ca: f.root.cert });
      const xfcc = { 'x-forwarded-client-cert': envoyXfcc(f.alice) };
      const ws = { transports: ['websocket'] as string[] };
      expect({
        alice: await sio(https(served), { ...ws, localAddress: PROXY, extraHeaders: xfcc } as never),
        forgedFromStranger: await sio(https(served), { ...ws, localAddress: STRANGER, extraHeaders: xfcc } as never),
      }).to.deep.equal({
        alice: `open hello ${ALICE}`,
        forgedFromStranger: 'websocket Unexpected server response: 400',
      });
    });
  });
});
