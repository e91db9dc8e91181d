/**
 * The fastify plugin logs through the app's own logger (pino) when the app has one: the start-up
 * report and a rejection are pino records, and a successful request logs nothing.
 */
import { Writable } from 'node:stream';
import { expect } from 'chai';
import Fastify from 'fastify';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../packages/core/src/testkit/index.js';
import { clientCert } from '../packages/fastify/src/index.js';

/** pino's records written by the app, parsed. */
function recordingStream(): { stream: Writable; records: Array<{ level: number; msg: string }> } {
  const records: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) records.push(JSON.parse(line));
      done();
    },
  });
  return { stream, records };
}

describe("fastify: the plugin logs through fastify's logger", () => {
  let root: TestCA;
  let alice: TestCertificate;
  let stranger: TestCertificate;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice' });
    stranger = await (await createCA()).issue({ subject: 'CN=stranger' });
  });

  it('start-up at info, a rejection at warn, nothing for a success', async () => {
    const { stream, records } = recordingStream();
    const app = Fastify({ logger: { stream, level: 'info' } });
    await app.register(clientCert, { source: 'xfcc', ca: root.cert, trustProxy: '127.0.0.1' });
    app.get('/', async (request) => request.clientCert?.subject.get('CN'));
    await app.ready();
    const ours = () => records.filter((record) => record.msg.startsWith('clientcert:'));
    expect(ours().map((record) => record.level)).to.deep.equal([30]); // the start-up report
    const ok = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
    });
    expect(ok.statusCode).to.equal(200);
    expect(ours()).to.have.length(1);
    const refused = await app.inject({
      url: '/',
      remoteAddress: '127.0.0.1',
      headers: { 'x-forwarded-client-cert': envoyXfcc(stranger) },
    });
    expect(refused.statusCode).to.equal(403);
    expect(ours().map((record) => record.level)).to.deep.equal([30, 40]);
    expect(ours()[1]!.msg).to.include('client_certificate_untrusted').and.include('CN=stranger');
    await app.close();
  });

  it('without a fastify logger, the options logger (or console) as before', async () => {
    const lines: string[] = [];
    const app = Fastify();
    await app.register(clientCert, {
      source: 'xfcc',
      ca: root.cert,
      trustProxy: '127.0.0.1',
      logger: { info: (m) => void lines.push(m), warn: (m) => void lines.push(m) },
    });
    await app.ready();
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^clientcert: mode require;/);
    await app.close();
  });
});
