/**
 * TLS session resumption over real HTTPS servers (port 0), TLS 1.2 and 1.3, every adapter. A
 * resumed session carries no new certificate: it must decide the identity of the handshake that
 * created the session (or none), never the identity of whichever certificate the resuming client
 * holds now, and never a 500. A fresh handshake with another certificate on the same server must
 * get its own decision, not one cached from an earlier connection.
 */

import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { ADAPTERS, parseBody, startServer } from './servers.js';

let root: TestCA;
let server: TestCertificate;
let alice: TestCertificate;
let bob: TestCertificate;
let mallory: TestCertificate;

before(async function () {
  this.timeout(30_000);
  root = await createCA({ subject: 'CN=Resumption Root' });
  const otherRoot = await createCA({ subject: 'CN=Elsewhere Root' });
  [server, alice, bob, mallory] = await Promise.all([
    root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } }),
    root.issue({ subject: 'CN=alice' }),
    root.issue({ subject: 'CN=bob' }),
    otherRoot.issue({ subject: 'CN=mallory' }),
  ]);
});

interface Answer {
  status: number;
  code?: string;
  sha256?: string | null;
  reused: boolean;
  session?: Buffer;
}

/** One HTTPS request on a fresh connection, optionally offering a saved session. */
function get(
  port: number,
  client: TestCertificate | null,
  session?: Buffer,
  maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let saved: Buffer | undefined;
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/whoami',
        agent: false,
        ca: root.cert,
        maxVersion,
        ...(client ? { cert: client.cert, key: client.key } : {}),
        ...(session ? { session } : {}),
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = parseBody(Buffer.concat(chunks).toString('utf8'));
          resolve({
            status: res.statusCode ?? 0,
            ...(body.code ? { code: body.code } : {}),
            ...('sha256' in body ? { sha256: body.sha256 } : {}),
            reused: socket.isSessionReused(),
            session: saved ?? socket.getSession(),
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
}

/**
 * A resumed connection answers the session owner's identity: OpenSSL keeps the peer certificate
 * in the session, and Node reports it on resumption (TLS 1.2 and 1.3 alike, Node 20+).
 */
function expectOwner(answer: Answer, owner: TestCertificate, what: string): void {
  expect(answer.status, what).to.equal(200);
  expect(answer.sha256, what).to.equal(owner.sha256);
}

describe('hardening: TLS session resumption', function () {
  this.timeout(30_000);

  for (const adapter of ADAPTERS) {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      it(`${adapter}, ${version}: a resumed session decides its own handshake's identity, never another's`, async () => {
        const app = await startServer(adapter, {
          options: { ca: root.cert },
          tls: {
            cert: server.cert,
            key: server.key,
            ca: root.cert,
            requestCert: true,
            rejectUnauthorized: false,
            maxVersion: version,
          },
        });
        try {
          const first = await get(app.port, alice, undefined, version);
          expect(first.status).to.equal(200);
          expect(first.sha256).to.equal(alice.sha256);
          expect(first.session, 'no session to resume').to.be.instanceOf(Buffer);

          // The same client resumes: it must actually resume, and be alice (or no one).
          const resumed = await get(app.port, alice, first.session, version);
          expect(resumed.reused, 'the session was not resumed').to.equal(true);
          expectOwner(resumed, alice, 'alice resuming');

          // Bob, holding alice's session (the ticket is alice's secret): if the server resumes, the
          // connection is alice's and is decided as alice, never as bob; if not, bob is bob.
          const bobWithAlicesSession = await get(app.port, bob, first.session, version);
          if (bobWithAlicesSession.reused) expectOwner(bobWithAlicesSession, alice, "bob on alice's session");
          else expect(bobWithAlicesSession.sha256).to.equal(bob.sha256);

          // Mallory (untrusted CA) with alice's session never gets in as herself.
          const mallorysTry = await get(app.port, mallory, first.session, version);
          if (mallorysTry.reused) expectOwner(mallorysTry, alice, "mallory on alice's session");
          else expect(mallorysTry.code).to.equal('client_certificate_untrusted');

          // Fresh handshakes afterwards get their own decisions.
          const bobFresh = await get(app.port, bob, undefined, version);
          expect(bobFresh.reused).to.equal(false);
          expect(bobFresh.sha256).to.equal(bob.sha256);
          const malloryFresh = await get(app.port, mallory, undefined, version);
          expect(malloryFresh.status).to.equal(403);
          expect(malloryFresh.code).to.equal('client_certificate_untrusted');
          const nobody = await get(app.port, null, undefined, version);
          expect(nobody.code).to.equal('client_certificate_required');

          // A session created without a certificate, resumed by a client that now has one: no one.
          const anonymousSession = (await get(app.port, null, undefined, version)).session;
          const aliceOnAnonymous = await get(app.port, alice, anonymousSession, version);
          if (aliceOnAnonymous.reused) expect(aliceOnAnonymous.code).to.equal('client_certificate_required');
          else expect(aliceOnAnonymous.sha256).to.equal(alice.sha256);
        } finally {
          await app.close();
        }
      });
    }
  }
});
