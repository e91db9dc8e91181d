/**
 * Runs the adversarial corpus (corpus.ts) over real HTTP on every adapter, plus what does not fit
 * a header table: 1 MB values (over HTTP with a raised header limit, and through the core API),
 * control characters on the wire, and the core parsers' typed errors for the same inputs.
 */

import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { type ClientCertOptions, createClientCertAuth } from '../../packages/core/src/index.js';
import { compileHeaderSource, readHeaderSource } from '../../packages/core/src/sources/headers.js';
import { parseXfcc } from '../../packages/core/src/sources/xfcc.js';
import { envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { parseCertificate } from '../../packages/core/src/x509/certificate.js';
import { expectClientCertError } from '../helpers/errors.js';
import { request } from '../helpers/http-client.js';
import { CORPUS, type CorpusCerts, type CorpusRow, createCorpusCerts } from './corpus.js';
import { ADAPTERS, parseBody, type Running, rawRequest, startServer } from './servers.js';

const PROXY = '127.0.0.1';
const MB = 1024 * 1024;

let certs: CorpusCerts;

before(async function () {
  this.timeout(60_000);
  certs = await createCorpusCerts();
});

const defaultOptions = (c: CorpusCerts): ClientCertOptions => ({ ca: c.root.cert, trustProxy: PROXY });

describe('hardening: adversarial corpus over real HTTP', function () {
  this.timeout(60_000);

  for (const adapter of ADAPTERS) {
    describe(adapter, () => {
      // One server per distinct configuration, started on first use.
      const servers = new Map<CorpusRow['options'] | undefined, Promise<Running>>();
      const serverFor = (row: CorpusRow): Promise<Running> => {
        let server = servers.get(row.options);
        if (!server) {
          server = startServer(adapter, { options: (row.options ?? defaultOptions)(certs) });
          servers.set(row.options, server);
        }
        return server;
      };
      after(async () => {
        for (const server of servers.values()) await (await server).close();
      });

      for (const row of CORPUS) {
        it(row.name, async () => {
          const app = await serverFor(row);
          const res = await request({
            url: app.url(),
            path: '/whoami',
            headers: row.headers(certs),
            localAddress: PROXY,
          });
          const body = parseBody(res.text);
          expect(res.status, res.text).to.equal(row.expect.status);
          if ('code' in row.expect) {
            expect(body.code).to.equal(row.expect.code);
            expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
          } else {
            expect(body.sha256).to.equal(row.expect.sha256(certs));
          }
        });
      }

      it('a 1 MB XFCC value (header limit raised to 2 MB) → 403 malformed', async () => {
        const app = await startServer(adapter, { options: defaultOptions(certs), maxHeaderSize: 2 * MB });
        try {
          const value = `Subject="${'a'.repeat(MB)}";${envoyXfcc(certs.alice)}`;
          const res = await request({
            url: app.url(),
            path: '/whoami',
            headers: { 'x-forwarded-client-cert': value },
            localAddress: PROXY,
          });
          expect(res.status).to.equal(403);
          expect(parseBody(res.text).code).to.equal('client_certificate_malformed');
        } finally {
          await app.close();
        }
      });

      it('a 1 MB RFC 9440 value (header limit raised) → 403 malformed', async () => {
        const app = await startServer(adapter, {
          options: { ...defaultOptions(certs), source: 'rfc9440' },
          maxHeaderSize: 2 * MB,
        });
        try {
          const res = await request({
            url: app.url(),
            path: '/whoami',
            headers: { 'client-cert': `:${'A'.repeat(MB)}:` },
            localAddress: PROXY,
          });
          expect(res.status).to.equal(403);
          expect(parseBody(res.text).code).to.equal('client_certificate_malformed');
        } finally {
          await app.close();
        }
      });

      it('XFCC sent as two raw lines with different case → 403 malformed', async () => {
        const app = await serverFor({ name: 'raw', headers: () => ({}), expect: { status: 0, code: '' } });
        const res = await rawRequest(app.port, [
          `X-Forwarded-Client-Cert: ${envoyXfcc(certs.alice)}`,
          `x-forwarded-client-cert: ${envoyXfcc(certs.bob)}`,
        ]);
        expect(res.status).to.equal(403);
        expect(parseBody(res.body).code).to.equal('client_certificate_malformed');
      });

      it('a control character (0x01) in the raw header line is refused by Node before the app → 400, never 200 or 500', async () => {
        const app = await serverFor({ name: 'raw', headers: () => ({}), expect: { status: 0, code: '' } });
        const res = await rawRequest(app.port, [`X-Forwarded-Client-Cert: Cert="a\x01b"`]);
        expect(res.status).to.equal(400);
      });
    });
  }
});

/** A request as the core sees it, from the trusted proxy. */
function fakeRequest(headers: IncomingHttpHeaders): { socket: Socket; headers: IncomingHttpHeaders } {
  return { socket: { remoteAddress: PROXY, encrypted: false } as unknown as Socket, headers };
}

describe('hardening: adversarial corpus through the core API', () => {
  it('parseXfcc: a 1 MB value → xfcc_malformed (limit checked first)', () => {
    expectClientCertError(() => parseXfcc('a'.repeat(MB)), 'xfcc_malformed');
    expectClientCertError(() => parseXfcc(`Subject="${'\\"'.repeat(MB / 2)}"`), 'xfcc_malformed');
  });

  it('parseXfcc: every C0 control except HTAB, and DEL, → xfcc_malformed; HTAB is whitespace', () => {
    for (let code = 0; code < 0x20; code++) {
      if (code === 0x09) continue;
      expectClientCertError(() => parseXfcc(`Subject="a${String.fromCharCode(code)}b"`), 'xfcc_malformed');
    }
    expectClientCertError(() => parseXfcc('Subject="a\x7fb"'), 'xfcc_malformed');
    expect(parseXfcc('\tBy=a\t;\tURI=b\t')[0]!.uri).to.deep.equal(['b']);
  });

  it('header decoders: a 1 MB value and control / non-ASCII characters → forwarded_header_malformed', () => {
    for (const source of ['rfc9440', 'traefik', 'url-pem', 'base64-der', 'aws-alb'] as const) {
      const compiled = compileHeaderSource({ source });
      for (const value of ['A'.repeat(MB), 'MIIB\x00', 'MIIB\u00e9', 'MII\r\nB', 'MIIB\u2028']) {
        expectClientCertError(
          () => readHeaderSource(compiled, { [compiled.header]: value }),
          'forwarded_header_malformed',
        );
      }
    }
  });

  it('createClientCertAuth: a 1 MB XFCC value → rejected as client_certificate_malformed, synchronously', () => {
    const auth = createClientCertAuth({ ca: certs.root.cert, trustProxy: PROXY, logger: false });
    const result = auth.authenticate(
      fakeRequest({ 'x-forwarded-client-cert': `${envoyXfcc(certs.alice)};Subject="${'x'.repeat(MB)}"` }),
    );
    expect(result).to.not.be.instanceOf(Promise);
    expect((result as { ok: boolean }).ok).to.equal(false);
    expect((result as { problem: { code: string; status: number } }).problem).to.include({
      code: 'client_certificate_malformed',
      status: 403,
    });
  });

  it('parseCertificate: odd string types decode; a lone surrogate in a BMPString is certificate_malformed', () => {
    expect(parseCertificate(certs.bmpName.der).subject.get('CN')).to.equal('Bmp Ωmega ü');
    expect(parseCertificate(certs.universalName.der).subject.get('CN')).to.equal('Univ');
    expect(parseCertificate(certs.teletexHighBytes).subject.get('CN')).to.equal(
      '\u00c0\u00c9\u00d6\u00e9\u00f1\u00fc\u00fe\u00ff',
    );
    expectClientCertError(() => parseCertificate(certs.badBmp), 'certificate_malformed');
  });

  it('parseCertificate: huge and negative serials keep their encoded bytes', () => {
    expect(parseCertificate(certs.hugeSerial.der).serialNumber).to.equal(`7F${'AB'.repeat(63)}`);
    // Node's signed form of the INTEGER 0xFF01 (-255): distinct from every positive serial.
    expect(parseCertificate(certs.negativeSerial).serialNumber).to.equal('-FF');
  });

  it('parseCertificate: trailing bytes, garbage and truncation → certificate_malformed', () => {
    expectClientCertError(
      () => parseCertificate(Buffer.concat([certs.alice.der, Buffer.from([0])])),
      'certificate_malformed',
    );
    expectClientCertError(() => parseCertificate(certs.alice.der.subarray(0, -1)), 'certificate_malformed');
    expectClientCertError(() => parseCertificate(Buffer.from('3080', 'hex')), 'certificate_malformed');
    expectClientCertError(() => parseCertificate(Buffer.alloc(0)), 'certificate_malformed');
  });
});
