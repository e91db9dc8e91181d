/**
 * End to end over real TLS: "API Gateway in a box" (an HTTPS server that completes the mutual-TLS
 * handshake against its truststore, refuses a presented certificate the truststore does not
 * accept, and invokes the handler with a REST event built as API Gateway builds it) against the
 * express adapter serving the same clients itself. Both trust stores hold two CAs, the function
 * and express trust one: the same status and problem code for every client.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { expect } from 'chai';
import express from 'express';
import { createEventAuth, type LambdaProblemResponse, problemResponse } from '../../packages/aws-lambda/src/index.js';
import { createCA, type TestCA, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { clientCert } from '../../packages/express/src/index.js';
import { request } from '../helpers/http-client.js';
import { clientCertOf, restEvent } from './events.js';

type Handler = (event: unknown) => Promise<LambdaProblemResponse | { statusCode: number; body: string }>;

/** API Gateway's part: the handshake against the truststore, then the event, then the proxy result as HTTP. */
function apiGatewayInABox(truststore: string[], server: TestCertificate, handler: Handler): https.Server {
  return https.createServer(
    { key: server.key, cert: server.cert, ca: truststore, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerX509Certificate();
      if (peer && !socket.authorized) {
        socket.destroy(); // API Gateway refuses the handshake: the function is never invoked
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([name, value]) => [name, String(value)]));
      handler(restEvent(peer ? clientCertOf(peer) : null, headers)).then(
        (result) => {
          res.writeHead(result.statusCode, 'headers' in result ? result.headers : {});
          res.end(result.body);
        },
        () => res.writeHead(502).end(),
      );
    },
  );
}

function listen(server: https.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

describe('aws-lambda: over real TLS, the same answers as express', () => {
  let root: TestCA;
  let otherRoot: TestCA;
  let alice: TestCertificate;
  let foreign: TestCertificate;
  let stranger: TestCertificate;
  const servers: https.Server[] = [];
  const urls: Record<'lambda' | 'express', string> = { lambda: '', express: '' };
  let invocations = 0;

  before(async () => {
    root = await createCA({ subject: 'CN=Clients Root,O=Acme' });
    otherRoot = await createCA({ subject: 'CN=Partner Root,O=Partner' });
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    foreign = await otherRoot.issue({ subject: 'CN=alice,O=Acme' });
    stranger = await (await createCA({ subject: 'CN=Nobody' })).issue({ subject: 'CN=alice,O=Acme' });
    const tlsServer = await root.issue({ subject: 'CN=localhost', san: { ip: ['127.0.0.1'] }, eku: ['serverAuth'] });
    const truststore = [root.cert, otherRoot.cert];

    const auth = createEventAuth({ ca: root.cert, logger: false });
    const handler: Handler = async (event) => {
      invocations += 1;
      const result = await auth.authenticate(event);
      if (!result.ok) return problemResponse(result.problem, event);
      return { statusCode: 200, body: result.certificate!.subject.rfc4514 };
    };
    const lambda = apiGatewayInABox(truststore, tlsServer, handler);

    const app = express();
    app.use(clientCert({ ca: root.cert, logger: false }));
    app.get('/whoami', (req, res) => res.send(req.clientCert!.subject.rfc4514));
    const direct = https.createServer(
      { key: tlsServer.key, cert: tlsServer.cert, ca: truststore, requestCert: true, rejectUnauthorized: false },
      app,
    );
    servers.push(lambda, direct);
    [urls.lambda, urls.express] = await Promise.all([listen(lambda), listen(direct)]);
  });
  after(() => {
    for (const server of servers) server.close();
  });

  async function both(client: TestCertificate | null, headers: Record<string, string> = {}) {
    const answers = await Promise.all(
      (['lambda', 'express'] as const).map(async (name) => {
        const response = await request({
          url: urls[name],
          path: '/whoami',
          ca: root.cert,
          headers,
          ...(client ? { cert: client.cert, key: client.key } : {}),
        });
        const code = response.status === 200 ? null : JSON.parse(response.text).code;
        return { status: response.status, type: response.headers['content-type'], code, text: response.text };
      }),
    );
    return { lambda: answers[0]!, express: answers[1]! };
  }

  it("Alice: 200 with Alice's subject from both", async () => {
    const { lambda, express: direct } = await both(alice);
    expect([lambda.status, lambda.text]).to.deep.equal([200, 'CN=alice,O=Acme']);
    expect([direct.status, direct.text]).to.deep.equal([200, 'CN=alice,O=Acme']);
  });

  it('a certificate from the other CA of the truststore: 403 client_certificate_untrusted from both', async () => {
    const { lambda, express: direct } = await both(foreign);
    for (const answer of [lambda, direct]) {
      expect([answer.status, answer.type, answer.code]).to.deep.equal([
        403,
        'application/problem+json',
        'client_certificate_untrusted',
      ]);
    }
  });

  it("no certificate, Alice's in forwarded headers: 403 client_certificate_required from both", async () => {
    const forged = {
      'x-amzn-mtls-clientcert': encodeURIComponent(alice.cert),
      'x-amzn-request-context': JSON.stringify({ authentication: { clientCert: clientCertOf(alice) } }),
    };
    const { lambda, express: direct } = await both(null, forged);
    for (const answer of [lambda, direct]) {
      expect([answer.status, answer.type, answer.code]).to.deep.equal([
        403,
        'application/problem+json',
        'client_certificate_required',
      ]);
    }
  });

  it('a certificate outside the truststore never reaches the function (the handshake is refused)', async () => {
    const before = invocations;
    let error: unknown = null;
    await request({ url: urls.lambda, path: '/whoami', ca: root.cert, cert: stranger.cert, key: stranger.key }).catch(
      (caught: unknown) => {
        error = caught;
      },
    );
    expect(error, 'the connection is closed before any response').to.be.instanceOf(Error);
    expect(invocations - before, 'invocations').to.equal(0);
  });
});
