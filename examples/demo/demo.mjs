// End-to-end demo: the same express app, once terminating mTLS itself and once behind an
// Envoy-style front that forwards XFCC; every kind of caller; a table; exit 1 on any surprise.
import http from 'node:http';
import https from 'node:https';
import { createCA, createSelfSigned } from '@clientcert/core/testkit';
import { buildApp } from './app.mjs';
import { startFront } from './front.mjs';

const listen = (server, host = '127.0.0.1') => new Promise((resolve) => server.listen(0, host, () => resolve(server)));
const portOf = (server) => server.address().port;

function send({ port, tls = true, client, headers = {}, localAddress = '127.0.0.1', ca }) {
  return new Promise((resolve, reject) => {
    const options = { host: '127.0.0.1', port, path: '/whoami', headers, localAddress, agent: false };
    const request = tls
      ? https.request({
          ...options,
          ca,
          servername: 'localhost',
          ...(client ? { cert: client.fullChain, key: client.key } : {}),
        })
      : http.request(options);
    request.on('response', (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (chunk) => (body += chunk))
        .on('end', () => {
          resolve({ status: res.statusCode, type: res.headers['content-type'] ?? '', body: JSON.parse(body) });
        });
    });
    request.on('error', reject);
    request.end();
  });
}

async function main() {
  console.log('Creating throwaway certificates (a CA, a server, clients)...');
  const root = await createCA({ subject: 'CN=Demo Root CA,O=clientcert demo' });
  const otherCA = await createCA({ subject: 'CN=Some Other CA' });
  const server = await root.issue({
    subject: 'CN=localhost',
    eku: ['serverAuth'],
    san: { dns: ['localhost'], ip: ['127.0.0.1'] },
  });
  const alice = await root.issue({
    subject: 'CN=alice,OU=payments,O=clientcert demo',
    san: { uri: ['spiffe://demo.example/ns/pay/sa/alice'] },
  });
  const mallory = await otherCA.issue({ subject: 'CN=mallory' });
  const expired = await root.issue({
    subject: 'CN=old-alice',
    notBefore: new Date(Date.now() - 60 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const selfSigned = await createSelfSigned({ subject: 'CN=alice,OU=payments,O=clientcert demo' });

  const logger = { info: (line) => console.log(`  ${line}`), warn: (line) => console.log(`  warning: ${line}`) };
  const serverTls = { key: server.key, cert: server.cert, ca: root.cert };

  console.log('\nApp 1 terminates mTLS itself (https, requestCert, rejectUnauthorized: false):');
  const direct = await listen(
    https.createServer(
      { ...serverTls, requestCert: true, rejectUnauthorized: false },
      buildApp({ mode: 'require', ca: root.cert, logger }),
    ),
  );
  console.log('App 2 listens on plain http behind a TLS front that forwards XFCC like Envoy SANITIZE_SET:');
  const behind = await listen(
    http.createServer(buildApp({ mode: 'require', ca: root.cert, trustProxy: '127.0.0.1', logger })),
  );
  const front = await startFront({ tls: serverTls, upstreamPort: portOf(behind) });

  const forged = { 'x-forwarded-client-cert': `Hash=${alice.sha256};Cert="${encodeURIComponent(alice.cert)}"` };
  const cases = [
    [
      'direct mTLS',
      'valid certificate',
      { port: portOf(direct), client: alice },
      200,
      'CN=alice,OU=payments,O=clientcert demo',
    ],
    ['direct mTLS', 'no certificate', { port: portOf(direct) }, 403, 'client_certificate_required'],
    [
      'direct mTLS',
      'certificate from another CA',
      { port: portOf(direct), client: mallory },
      403,
      'client_certificate_untrusted',
    ],
    [
      'direct mTLS',
      'self-signed look-alike',
      { port: portOf(direct), client: selfSigned },
      403,
      'client_certificate_untrusted',
    ],
    [
      'direct mTLS',
      'expired certificate',
      { port: portOf(direct), client: expired },
      403,
      'client_certificate_expired',
    ],
    [
      'behind XFCC front',
      'valid certificate',
      { port: portOf(front), client: alice },
      200,
      'CN=alice,OU=payments,O=clientcert demo',
    ],
    ['behind XFCC front', 'no certificate', { port: portOf(front) }, 403, 'client_certificate_required'],
    [
      'behind XFCC front',
      'certificate from another CA',
      { port: portOf(front), client: mallory },
      403,
      'client_certificate_untrusted',
    ],
    [
      'behind XFCC front',
      'expired certificate',
      { port: portOf(front), client: expired },
      403,
      'client_certificate_expired',
    ],
    [
      'behind XFCC front',
      'forged XFCC through the front',
      { port: portOf(front), headers: forged },
      403,
      'client_certificate_required',
    ],
    [
      'straight to app 2',
      'forged XFCC from 127.0.0.2 (untrusted)',
      { port: portOf(behind), tls: false, headers: forged, localAddress: '127.0.0.2' },
      403,
      'client_certificate_required',
    ],
  ];

  const rows = [];
  let wrong = 0;
  for (const [where, what, request, wantStatus, want] of cases) {
    let got;
    try {
      const answer = await send({ ca: root.cert, ...request });
      const outcome = answer.status === 200 ? answer.body.subject : answer.body.code;
      const typeOk = answer.status === 200 || answer.type.startsWith('application/problem+json');
      got = {
        status: answer.status,
        outcome: `${outcome ?? '(none)'}${answer.body.source ? ` via ${answer.body.source}` : ''}`,
        ok: answer.status === wantStatus && outcome === want && typeOk,
      };
    } catch (error) {
      got = { status: 'error', outcome: error.message, ok: false };
    }
    if (!got.ok) wrong += 1;
    rows.push([
      got.ok ? 'ok' : 'WRONG',
      where,
      what,
      String(got.status),
      got.outcome,
      got.ok ? '' : `expected ${wantStatus} ${want}`,
    ]);
  }

  const header = ['', 'deployment', 'request', 'status', 'problem code / subject', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`);
  for (const row of rows) console.log(line(row));
  console.log(
    wrong === 0 ? `\nAll ${rows.length} outcomes are as expected.` : `\n${wrong} of ${rows.length} outcomes are WRONG.`,
  );

  for (const s of [direct, behind, front]) {
    s.closeAllConnections();
    s.close();
  }
  process.exitCode = wrong === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
