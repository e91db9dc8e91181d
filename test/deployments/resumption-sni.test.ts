/**
 * Direct mTLS with virtual hosts: one HTTPS server, two names, each with its own client CA
 * (`SNICallback`: a.test trusts CA-A, b.test trusts CA-B), and the default options (no `ca`: the
 * TLS stack's verdict). A client of CA-A that resumes its a.test session on b.test must not be
 * admitted there (the class of nginx CVE-2025-23419). TLS 1.2 and 1.3, every
 * adapter, the harness's servers. test/hardening/tls-resumption-sni.test.ts covers the mechanism
 * in depth; this is the deployment's view: the same client, the same session, two names.
 */

import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import { expect } from 'chai';
import { createCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { adapters, type TlsServerOptions } from '../conformance/harness.js';
import { captureLog, expectWhoCanMint, outcome } from './apps.js';
import { fixtures } from './fixtures.js';

type Version = 'TLSv1.2' | 'TLSv1.3';

interface Answer {
  outcome: string;
  /** The client's view: the server resumed the offered session. */
  reused: boolean;
  session: Buffer | undefined;
}

describe('deployments: direct mTLS with a client CA per server name (SNICallback): a session resumes no identity on another name', () => {
  let root: Awaited<ReturnType<typeof fixtures>>['root'];
  let server: TestCertificate;
  let alice: TestCertificate; // a client of CA-A: trusted on a.test only
  let caA: string;
  let caB: string;

  before(async () => {
    ({ root } = await fixtures());
    const [a, b] = await Promise.all([
      createCA({ subject: 'CN=Client CA A' }),
      createCA({ subject: 'CN=Client CA B' }),
    ]);
    [server, alice] = await Promise.all([
      root.issue({ subject: 'CN=a.test', eku: ['serverAuth'], san: { dns: ['a.test', 'b.test'] } }),
      a.issue({ subject: 'CN=alice-a' }),
    ]);
    caA = a.cert;
    caB = b.cert;
  });

  function get(
    port: number,
    servername: string,
    version: Version,
    session?: Buffer,
    host = servername,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      let saved: Buffer | undefined;
      const req = https.request(
        {
          // As a browser does: SNI and Host name the same site.
          host: '127.0.0.1',
          port,
          servername,
          headers: { host: `${host}:${port}` },
          path: '/whoami',
          agent: false,
          ca: root.cert,
          minVersion: version,
          maxVersion: version,
          cert: alice.cert,
          key: alice.key,
          ...(session ? { session } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const socket = res.socket as TLSSocket;
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              outcome: outcome({ status: res.statusCode ?? 0, headers: res.headers, text }),
              reused: socket.isSessionReused(),
              session: saved ?? socket.getSession(),
            });
          });
        },
      );
      // TLS 1.3 tickets arrive after the handshake, as 'session' events.
      req.on('socket', (socket) =>
        socket.on('session', (ticket: Buffer) => {
          saved = ticket;
        }),
      );
      req.on('error', reject);
      req.end();
    });
  }

  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
    for (const adapter of adapters) {
      it(`${version}, ${adapter.name}: a.test 200; b.test 403; a.test's session resumed on b.test, or a.test's connection asking for Host b.test → 403 client_certificate_untrusted`, async () => {
        const contexts = {
          'a.test': tls.createSecureContext({ cert: server.cert, key: server.key, ca: caA }),
          'b.test': tls.createSecureContext({ cert: server.cert, key: server.key, ca: caB }),
        };
        const tlsOptions = {
          cert: server.cert,
          key: server.key,
          ca: caA,
          requestCert: true,
          rejectUnauthorized: false,
          SNICallback: (name: string, done: (error: Error | null, context?: tls.SecureContext) => void) =>
            done(null, contexts[name as keyof typeof contexts] ?? contexts['a.test']),
        } as TlsServerOptions; // the harness hands its TLS options to the HTTPS server as they are
        const log = captureLog();
        const app = await adapter.start({ options: { logger: log.logger }, tls: tlsOptions });
        try {
          const port = Number(new URL(app.url).port);
          const first = await get(port, 'a.test', version);
          const again = await get(port, 'a.test', version, first.session);
          const other = await get(port, 'b.test', version);
          const crossed = await get(port, 'b.test', version, first.session);
          const fronted = await get(port, 'a.test', version, undefined, 'b.test');
          const resumed = (answer: Answer): string =>
            `${answer.outcome}${answer.reused ? ' (resumed)' : ' (full handshake)'}`;
          expect({
            'a.test, full handshake': first.outcome,
            'a.test, resumed': resumed(again),
            'b.test, full handshake': other.outcome,
            "b.test, a.test's session offered": resumed(crossed),
            'SNI a.test, Host b.test': fronted.outcome,
          }).to.deep.equal({
            'a.test, full handshake': '200 CN=alice-a source=tls verifiedBy=tls',
            // TLS 1.3 keeps the name it verified for; a TLS 1.2 resumption on a server with several
            // names says nothing of the name, and is refused (tls-source.ts resumedSessionRefusal).
            'a.test, resumed':
              version === 'TLSv1.3'
                ? '200 CN=alice-a source=tls verifiedBy=tls (resumed)'
                : '403 client_certificate_untrusted (resumed)',
            'b.test, full handshake': '403 client_certificate_untrusted',
            // The attack: the server really resumes a.test's session on b.test (the premise), and admits nobody.
            "b.test, a.test's session offered": '403 client_certificate_untrusted (resumed)',
            // Verified for a.test, asking for b.test: the verdict does not cover that host.
            'SNI a.test, Host b.test': '403 client_certificate_untrusted',
          });
          expectWhoCanMint(log, 'a TLS client holding the private key of a certificate that the TLS stack verified');
        } finally {
          await app.close();
        }
      });
    }
  }
});
