/**
 * Before any load: the fleet and HTTP/2 endpoints answer what they should. On one keep-alive
 * connection, three clients' XFCC headers in a row get three different CNs back (the identity
 * follows the header, never the connection); over TLS, each certificate gets its own CN; over
 * HTTP/2, a session with a certificate gets its CN and one without gets "anonymous". A benchmark
 * of a route that answered the wrong caller would measure nothing worth having.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { Framework, Variant } from './config.js';
import { CLIENT_CN, type Fixtures, fleetCN } from './fixtures.js';

const SAMPLE = 3;

function firstOf(file: string): string[] {
  return (JSON.parse(readFileSync(file, 'utf8')) as string[]).slice(0, SAMPLE);
}

function body(response: http.IncomingMessage): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (text += chunk));
    response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    response.on('error', reject);
  });
}

function expectAnswer(where: string, got: { status: number; text: string }, want: string): void {
  if (got.status !== 200 || got.text !== want) {
    throw new Error(`${where}: expected 200 "${want}", got ${got.status} "${got.text.slice(0, 200)}"`);
  }
}

/** Three clients' headers, one after another, on one kept-alive connection. */
async function checkXfcc(port: number, values: string[], want: (i: number) => string, where: string): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (const [i, value] of values.entries()) {
      const got = await new Promise<{ status: number; text: string; reused: boolean }>((resolve, reject) => {
        const request = http.get(
          { host: '127.0.0.1', port, path: '/', agent, headers: { 'x-forwarded-client-cert': value } },
          (response) => body(response).then((answer) => resolve({ ...answer, reused: request.reusedSocket }), reject),
        );
        request.on('error', reject);
      });
      expectAnswer(`${where}, client ${i}`, got, want(i));
      if (i > 0 && !got.reused) throw new Error(`${where}: client ${i} was not sent on the same connection`);
    }
  } finally {
    agent.destroy();
  }
}

async function checkTls(
  port: number,
  fixtures: Fixtures,
  chains: string[],
  want: (i: number) => string,
  where: string,
) {
  const key = readFileSync(fixtures.fleetKeyFile, 'utf8');
  const ca = readFileSync(fixtures.caFile, 'utf8');
  for (const [i, cert] of chains.entries()) {
    const got = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const options = { host: '127.0.0.1', port, path: '/', cert, key, ca, rejectUnauthorized: false, agent: false };
      https.get(options, (response) => body(response).then(resolve, reject)).on('error', reject);
    });
    expectAnswer(`${where}, client ${i}`, got, want(i));
  }
}

async function checkH2(port: number, fixtures: Fixtures, withCert: boolean, want: string, where: string) {
  const ca = readFileSync(fixtures.caFile, 'utf8');
  const credentials = withCert
    ? { cert: readFileSync(fixtures.clientCertFile, 'utf8'), key: readFileSync(fixtures.clientKeyFile, 'utf8') }
    : {};
  const session = http2.connect(`https://127.0.0.1:${port}`, { ca, ...credentials, rejectUnauthorized: false });
  try {
    const got = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      session.on('error', reject);
      const stream = session.request({ ':path': '/' });
      let status = 0;
      let text = '';
      stream.setEncoding('utf8');
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: string) => (text += chunk));
      stream.on('end', () => resolve({ status, text }));
      stream.on('error', reject);
      stream.end();
    });
    expectAnswer(where, got, want);
  } finally {
    session.close();
  }
}

/** Throws, naming the endpoint, when one of the given framework's endpoints answers wrongly. */
export async function checkAnswers(
  fixtures: Fixtures,
  framework: Framework,
  ports: Partial<Record<Variant, number>>,
  variants: ReadonlySet<Variant>,
): Promise<void> {
  const xfcc = firstOf(fixtures.fleetXfccFile);
  const chains = firstOf(fixtures.fleetChainFile);
  const ok = (): string => 'ok';
  const at = (variant: Variant): number => ports[variant]!;
  if (variants.has('xfcc-cn')) await checkXfcc(at('xfcc-cn'), xfcc, fleetCN, `${framework} xfcc-cn`);
  if (variants.has('xfcc-cn')) await checkXfcc(at('bare-http'), xfcc, ok, `${framework} bare-http`);
  if (variants.has('tls-cn')) await checkTls(at('tls-cn'), fixtures, chains, fleetCN, `${framework} tls-cn`);
  if (variants.has('tls-cn')) await checkTls(at('bare-https'), fixtures, chains, ok, `${framework} bare-https`);
  if (variants.has('tls-h2')) {
    await checkH2(at('tls-h2'), fixtures, true, CLIENT_CN, `${framework} tls-h2 with a certificate`);
    await checkH2(at('tls-h2'), fixtures, false, 'anonymous', `${framework} tls-h2 without one`);
    await checkH2(at('bare-h2'), fixtures, true, 'ok', `${framework} bare-h2`);
  }
}
