/**
 * TLS session resumption across server names (the class of nginx
 * CVE-2025-23419), over real HTTPS servers on port 0, every adapter, TLS 1.2 and 1.3.
 *
 * One server, two names, each with its own client CA: `a.test` trusts CA-A, `b.test` trusts CA-B
 * (an `SNICallback`, `requestCert: true`, `rejectUnauthorized: false`). Node shares one ticket key
 * and session cache across the names and never runs the `SNICallback` on a resumption, so a
 * session verified under a.test resumes on b.test with a.test's verdict. With trust left to the TLS
 * stack (no `ca` in the middleware) that verdict must not count for b.test. Every resumption below
 * is checked to have happened on the server, so the tests fail if a refusal came from a full
 * handshake instead.
 */

import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { expect } from 'chai';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { ADAPTERS, type AdapterName, parseBody, type Running, startServer } from './servers.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

let serverRoot: TestCA;
let caA: TestCA;
let caB: TestCA;
let serverCert: TestCertificate;
let alice: TestCertificate; // trusted for a.test only
let bob: TestCertificate; // trusted for b.test only

before(async function () {
  this.timeout(30_000);
  [serverRoot, caA, caB] = await Promise.all([
    createCA({ subject: 'CN=Server Root' }),
    createCA({ subject: 'CN=Client CA A' }),
    createCA({ subject: 'CN=Client CA B' }),
  ]);
  [serverCert, alice, bob] = await Promise.all([
    serverRoot.issue({ subject: 'CN=a.test', eku: ['serverAuth'], san: { dns: ['a.test', 'b.test'] } }),
    caA.issue({ subject: 'CN=alice' }),
    caB.issue({ subject: 'CN=bob' }),
  ]);
});

interface Answer {
  status: number;
  code?: string;
  sha256?: string | null;
  /** Whether the server resumed a session on this connection (its own `isSessionReused()`). */
  resumed: boolean;
  session: Buffer;
}

interface Vhosts {
  app: Running;
  get(servername: string, client: TestCertificate, session?: Buffer, host?: string): Promise<Answer>;
}

/** A server with a.test (CA-A) and b.test (CA-B), and a client that asks for either name. */
async function vhosts(
  adapter: AdapterName,
  version: Version,
  options: ClientCertOptions,
  select: 'SNICallback' | 'addContext' = 'SNICallback',
): Promise<Vhosts> {
  const forA = { cert: serverCert.cert, key: serverCert.key, ca: caA.cert };
  const forB = { cert: serverCert.cert, key: serverCert.key, ca: caB.cert };
  const contexts = new Map([
    ['a.test', tls.createSecureContext(forA)],
    ['b.test', tls.createSecureContext(forB)],
  ]);
  const app = await startServer(adapter, {
    options,
    tls: {
      ...forA,
      requestCert: true,
      rejectUnauthorized: false,
      maxVersion: version,
      ...(select === 'SNICallback'
        ? {
            SNICallback: (name: string, done: (e: Error | null, c?: tls.SecureContext) => void) =>
              done(null, contexts.get(name)),
          }
        : {}),
    },
  });
  if (select === 'addContext') {
    (app.server as https.Server).addContext('a.test', forA);
    (app.server as https.Server).addContext('b.test', forB);
  }
  // The server's view of each connection, by the client's port.
  const resumedByPort = new Map<number, boolean>();
  app.server.on('secureConnection', (socket: TLSSocket) =>
    resumedByPort.set(socket.remotePort!, socket.isSessionReused()),
  );

  const get = (servername: string, client: TestCertificate, session?: Buffer, host = servername): Promise<Answer> =>
    new Promise((resolve, reject) => {
      let saved: Buffer | undefined;
      const req = https.request(
        {
          host: '127.0.0.1',
          port: app.port,
          path: '/whoami',
          agent: false,
          servername,
          headers: { host },
          ca: serverRoot.cert,
          cert: client.cert,
          key: client.key,
          maxVersion: version,
          ...(session ? { session } : {}),
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = parseBody(Buffer.concat(chunks).toString('utf8'));
            const resumed = resumedByPort.get(socket.localPort!);
            if (resumed === undefined) return reject(new Error('the server saw no TLS connection from this client'));
            resolve({
              status: res.statusCode ?? 0,
              ...(body.code ? { code: body.code } : {}),
              ...('sha256' in body ? { sha256: body.sha256 } : {}),
              resumed,
              session: saved ?? socket.getSession()!,
            });
          });
        },
      );
      req.on('socket', (socket) =>
        socket.on('session', (ticket: Buffer) => {
          saved = ticket;
        }),
      );
      req.on('error', reject);
      req.end();
    });
  return { app, get };
}

function expectRefused(answer: Answer, what: string): void {
  expect(answer.status, what).to.equal(403);
  expect(answer.code, what).to.equal('client_certificate_untrusted');
}

function expectIn(answer: Answer, who: TestCertificate, what: string): void {
  expect(answer.status, what).to.equal(200);
  expect(answer.sha256, what).to.equal(who.sha256);
}

describe('hardening: TLS session resumption across server names', function () {
  this.timeout(30_000);

  for (const adapter of ADAPTERS) {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      it(`${adapter}, ${version}, trust from the TLS stack: a session verified for a.test is no evidence on b.test`, async () => {
        const { app, get } = await vhosts(adapter, version, {});
        try {
          const onA = await get('a.test', alice);
          expect(onA.resumed).to.equal(false);
          expectIn(onA, alice, 'alice on a.test, full handshake');

          // The attack: alice's a.test session, offered for b.test, whose CA never trusted her.
          const crossed = await get('b.test', alice, onA.session);
          expect(crossed.resumed, 'the a.test session was not resumed on b.test').to.equal(true);
          expectRefused(crossed, 'alice resuming her a.test session on b.test');

          // The TLS stack's own verdict on b.test, and the attack again after it.
          const fresh = await get('b.test', alice);
          expect(fresh.resumed).to.equal(false);
          expectRefused(fresh, 'alice on b.test, full handshake');
          const again = await get('b.test', alice, onA.session);
          expect(again.resumed).to.equal(true);
          expectRefused(again, 'alice resuming on b.test after a refused full handshake there');

          // b.test does admit its own CA's clients.
          expectIn(await get('b.test', bob), bob, 'bob on b.test, full handshake');

          // Ordinary resumption on the same name: TLS 1.3 reports the name this connection asked
          // for, and alice was verified for a.test, so she stays in. TLS 1.2 reports no name on a
          // resumption (OpenSSL keeps the session's, and Node's sessions record none): it cannot
          // be told from the attack above, so it is refused — `ca` in the middleware is the fix.
          const same = await get('a.test', alice, onA.session);
          expect(same.resumed, 'the a.test session was not resumed on a.test').to.equal(true);
          if (version === 'TLSv1.3') expectIn(same, alice, 'alice resuming on a.test');
          else expectRefused(same, 'alice resuming on a.test over TLS 1.2');
        } finally {
          await app.close();
        }
      });

      it(`${adapter}, ${version}, the middleware's own ca (CA-B): the a.test session is refused on b.test, b.test's clients resume`, async () => {
        const { app, get } = await vhosts(adapter, version, { ca: caB.cert });
        try {
          const onA = await get('a.test', alice);
          expect(onA.resumed).to.equal(false);
          expectRefused(onA, 'alice on a.test: CA-B does not trust her');
          const crossed = await get('b.test', alice, onA.session);
          expect(crossed.resumed).to.equal(true);
          expectRefused(crossed, 'alice resuming her a.test session on b.test');

          // The library verifies the session's certificate itself: resumption keeps working.
          const onB = await get('b.test', bob);
          expectIn(onB, bob, 'bob on b.test, full handshake');
          const resumed = await get('b.test', bob, onB.session);
          expect(resumed.resumed).to.equal(true);
          expectIn(resumed, bob, 'bob resuming on b.test');
        } finally {
          await app.close();
        }
      });
    }
  }

  for (const adapter of ADAPTERS) {
    it(`${adapter}: a certificate verified for the TLS server name a.test is no evidence for a request to Host b.test`, async () => {
      const { app, get } = await vhosts(adapter, 'TLSv1.3', {});
      try {
        expectRefused(await get('a.test', alice, undefined, 'b.test'), 'alice verified for a.test, asking for b.test');
        expectRefused(await get('a.test', alice, undefined, 'b.test:443'), 'with a port');
        expectIn(await get('a.test', alice, undefined, 'A.TEST:8443'), alice, 'the same name, another case, a port');
        expectIn(await get('a.test', alice), alice, 'the same name');
      } finally {
        await app.close();
      }
    });
  }

  it("with the middleware's own ca, the Host is not the TLS stack's business: the library verified the certificate itself", async () => {
    const { app, get } = await vhosts('express', 'TLSv1.3', { ca: [caA.cert, caB.cert] });
    try {
      expectIn(await get('a.test', alice, undefined, 'b.test'), alice, "alice, verified against the middleware's ca");
    } finally {
      await app.close();
    }
  });

  it('a server whose names come from addContext gets the same rule (TLS 1.3)', async () => {
    const { app, get } = await vhosts('express', 'TLSv1.3', {}, 'addContext');
    try {
      const onA = await get('a.test', alice);
      expectIn(onA, alice, 'alice on a.test');
      expectRefused(await get('b.test', alice), 'alice on b.test, full handshake');
      const crossed = await get('b.test', alice, onA.session);
      expect(crossed.resumed).to.equal(true);
      expectRefused(crossed, 'alice resuming her a.test session on b.test');
      const same = await get('a.test', alice, onA.session);
      expect(same.resumed).to.equal(true);
      expectIn(same, alice, 'alice resuming on a.test');
    } finally {
      await app.close();
    }
  });
});
