/**
 * Attack: replaying a header value the proxy sent before. Decisions are now kept by header value
 * across connections (a proxy's pool), so a value the proxy forwarded once is in the cache: a peer
 * outside trustProxy that sends the very same value must still be ignored, every time, before any
 * cache is consulted. Over a real express server, XFCC and RFC 9440, with the stranger first and
 * after the proxy, on new and kept-alive connections.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import express from 'express';
import type { ClientCertOptions } from '../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';

/** GET / with `headers` from `localAddress` over `agent`: `status CN-or-code`. */
function get(url: string, localAddress: string, headers: Record<string, string>, agent: http.Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${url}/`, { localAddress, headers, agent }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk));
      res.on('end', () => {
        const code = res.statusCode === 200 ? body : (JSON.parse(body) as { code: string }).code;
        resolve(`${res.statusCode} ${code}`);
      });
    });
    request.on('error', reject);
  });
}

describe('attack: a stranger replays a header value the proxy sent (now cached by value)', () => {
  let alice: TestCertificate;
  let ca: string;

  before(async () => {
    const root = await createCA();
    ca = root.cert;
    alice = await root.issue({ subject: 'CN=alice' });
  });

  const cases: Array<[string, ClientCertOptions, () => Record<string, string>]> = [
    ['xfcc', { source: 'xfcc' }, () => ({ 'x-forwarded-client-cert': envoyXfcc(alice) })],
    ['rfc9440', { source: 'rfc9440' }, () => ({ 'client-cert': `:${alice.der.toString('base64')}:` })],
  ];
  for (const [name, options, headersOf] of cases) {
    it(`${name}: admitted from the proxy, refused from 127.0.0.2 on every connection, before and after`, async () => {
      const app = express();
      app.use(clientCert({ logger: false, ca, trustProxy: '127.0.0.1', ...options }));
      app.get('/', (req, res) => {
        res.send(req.clientCert?.subject.get('CN'));
      });
      const server = http.createServer(app);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const keptAlive = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const fresh = new http.Agent({ keepAlive: false });
      try {
        const headers = headersOf();
        const answers = [
          await get(url, '127.0.0.2', headers, fresh),
          await get(url, '127.0.0.1', headers, fresh),
          await get(url, '127.0.0.1', headers, fresh), // from the cache, on another connection
          await get(url, '127.0.0.2', headers, fresh),
          await get(url, '127.0.0.2', headers, keptAlive),
          await get(url, '127.0.0.2', headers, keptAlive), // the same connection again
        ];
        expect(answers).to.deep.equal([
          '403 client_certificate_required',
          '200 alice',
          '200 alice',
          '403 client_certificate_required',
          '403 client_certificate_required',
          '403 client_certificate_required',
        ]);
      } finally {
        keptAlive.destroy();
        server.close();
      }
    });
  }
});
