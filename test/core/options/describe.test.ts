/**
 * The trust model of a configuration: who a peer is, what the start-up line says about
 * who can mint an identity, the platform detected from the environment, and the hook that must
 * never end the process. Over real servers: test/conformance (all adapters) and test/deployments.
 */

import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { expect } from 'chai';
import { type ClientCertOptions, createClientCertAuth } from '../../../packages/core/src/index.js';
import { createCA, envoyXfcc, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';
import { request } from '../../helpers/http-client.js';

function peer(remoteAddress: string): Socket {
  return { remoteAddress, encrypted: false } as unknown as Socket;
}

function recorder(): { infos: string[]; warns: string[]; info(m: string): void; warn(m: string): void } {
  const infos: string[] = [];
  const warns: string[] = [];
  return { infos, warns, info: (m) => void infos.push(m), warn: (m) => void warns.push(m) };
}

function withEnv<T>(vars: Record<string, string>, run: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  Object.assign(process.env, vars);
  try {
    return run();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const ACA_ENV = {
  CONTAINER_APP_NAME: 'orders',
  CONTAINER_APP_ENV_DNS_SUFFIX: 'blue-sea-123.westeurope.azurecontainerapps.io',
};

describe('trust model', () => {
  let root: TestCA;
  let alice: TestCertificate;
  let selfMade: TestCertificate;

  before(async () => {
    root = await createCA();
    alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    selfMade = await (await createCA({ subject: 'CN=anyone-at-all' })).issue({ subject: 'CN=admin' });
  });

  describe('the default trustProxy is loopback only', () => {
    for (const address of ['10.1.2.3', '172.16.0.9', '192.168.1.1', 'fd00::2', '100.64.0.7', '::ffff:10.0.0.1']) {
      it(`a forwarded certificate from ${address} is ignored, and the warning names the peer`, async () => {
        const logger = recorder();
        const auth = createClientCertAuth({ logger, ca: root.cert, source: 'xfcc' });
        const result = await auth.authenticate({
          socket: peer(address),
          headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
        });
        expect(result.ok ? null : result.error.code).to.equal('client_certificate_required');
        const ignored = logger.warns.filter((line) => line.includes('untrusted_peer_header'));
        expect(ignored).to.have.length(1);
        expect(ignored[0])
          .to.include(`header from ${address}, a peer outside trustProxy (loopback)`)
          .and.include('untrusted_peer_header');
      });
    }

    it('the same request from loopback is honored', async () => {
      const auth = createClientCertAuth({ logger: false, ca: root.cert, source: 'xfcc' });
      const result = await auth.authenticate({
        socket: peer('127.0.0.1'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
      });
      expect(result.ok && result.certificate?.subject.rfc4514).to.equal('CN=alice,O=Acme');
    });
  });

  describe('Azure Container Apps detected from its environment', () => {
    it('is named in the start-up line, widens trustProxy to the private networks ACA connects from, and admits nobody without ca', async () => {
      const logger = recorder();
      const auth = withEnv(ACA_ENV, () => createClientCertAuth({ logger }));
      expect(logger.infos[0])
        .to.include('proxy azure-container-apps (detected from the environment)')
        .and.include(
          'forwarded headers trusted from loopback, uniquelocal, 100.64.0.0/10 (default for azure-container-apps)',
        )
        .and.include('who can mint an identity: nobody');
      expect(logger.warns.join('\n'))
        .to.include('forwarded_untrusted')
        .and.include('forwards certificates without verifying them')
        .and.not.include('proxyVerified');
      const result = await auth.authenticate({
        socket: peer('100.100.0.7'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(selfMade) },
      });
      expect(result.ok ? null : result.error.code).to.equal('client_certificate_untrusted');
    });

    it('refuses proxyVerified, naming the detection', () => {
      expect(() => withEnv(ACA_ENV, () => createClientCertAuth({ logger: false, proxyVerified: true }))).to.throw(
        /proxyVerified.*azure-container-apps \(detected from the environment\) forwards certificates without verifying them/,
      );
    });

    it('with ca, verifies the chain itself: Alice in, a self-made certificate out', async () => {
      const auth = withEnv(ACA_ENV, () => createClientCertAuth({ logger: false, ca: root.cert }));
      const ok = await auth.authenticate({
        socket: peer('100.100.0.7'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
      });
      expect(ok.ok && ok.certificate?.verifiedBy).to.equal('chain');
      const forged = await auth.authenticate({
        socket: peer('100.100.0.8'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(selfMade) },
      });
      expect(forged.ok ? null : forged.error.code).to.equal('client_certificate_untrusted');
    });

    it('an explicit proxy wins over the detection', () => {
      const logger = recorder();
      withEnv(ACA_ENV, () => createClientCertAuth({ logger, proxy: 'envoy', ca: root.cert }));
      expect(logger.infos[0]).to.include('proxy envoy;').and.not.include('detected');
    });
  });

  describe('the trust anchors, named in the start-up line', () => {
    it('each by subject and expiry, in the one info line, before who can mint an identity', async () => {
      const clients = await createCA({ subject: 'CN=Clients CA,O=Acme' });
      const logger = recorder();
      createClientCertAuth({ logger, source: 'xfcc', ca: clients.cert });
      expect(logger.infos).to.have.length(1);
      expect(logger.infos[0]).to.include(
        `; trust: 1 trust anchor(s); trust anchors: "CN=Clients CA,O=Acme" (until ${clients.notAfter.toISOString().slice(0, 10)}); who can mint`,
      );
      expect(logger.warns).to.deep.equal([]);
    });

    it('a bundle of many: the first five, then how many more', async () => {
      const cas = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => createCA({ subject: `CN=Root ${n}` })));
      const logger = recorder();
      createClientCertAuth({ logger, source: 'xfcc', ca: cas.map((ca) => ca.cert).join('') });
      const named = /trust anchors: (.*?); who can mint/.exec(logger.infos[0]!)?.[1];
      expect(named?.match(/"CN=Root \d"/g)).to.deep.equal([
        '"CN=Root 1"',
        '"CN=Root 2"',
        '"CN=Root 3"',
        '"CN=Root 4"',
        '"CN=Root 5"',
      ]);
      expect(named).to.match(/ and 2 more$/);
    });

    it('not said without ca', () => {
      const logger = recorder();
      createClientCertAuth({ logger, source: 'tls' });
      expect(logger.infos[0]).to.not.include('trust anchors');
    });
  });

  describe('who can mint an identity (the start-up line)', () => {
    const cases: Array<[string, ClientCertOptions, string]> = [
      [
        'direct mTLS',
        { source: 'tls' },
        'who can mint an identity: a TLS client holding the private key of a certificate that the TLS stack verified',
      ],
      [
        'a sidecar with ca',
        { source: 'xfcc', ca: '' },
        'who can mint an identity: any peer in trustProxy (loopback), with any certificate the trust anchors accept: forwarded certificates prove no key possession',
      ],
      [
        'nginx trusted for its verdict',
        { proxy: 'nginx' },
        "trust: the proxy's verification when ssl-client-verify says SUCCESS; who can mint an identity: any peer in trustProxy (loopback), with any certificate it says it verified",
      ],
      [
        'nobody verifies',
        { proxy: 'azure-container-apps', trustProxy: '10.0.0.4', dangerouslyTrustAnyForwardedCertificate: true },
        'who can mint an identity: any peer in trustProxy (10.0.0.4), with any certificate at all, even one it made itself',
      ],
      [
        'nothing can be trusted',
        { source: 'xfcc' },
        'who can mint an identity: nobody (no certificate can be trusted)',
      ],
    ];
    for (const [name, options, expected] of cases) {
      it(name, () => {
        const logger = recorder();
        createClientCertAuth({ ...options, ...(options.ca === '' ? { ca: root.cert } : {}), logger });
        expect(logger.infos).to.have.length(1);
        expect(logger.infos[0]).to.include(expected);
      });
    }

    it('dangerouslyTrustAnyForwardedCertificate warns at every start-up, naming who can get in', () => {
      const logger = recorder();
      createClientCertAuth({ logger, proxy: 'azure-container-apps', dangerouslyTrustAnyForwardedCertificate: true });
      expect(logger.warns.filter((w) => w.includes('unverified_forwarded'))).to.have.length(1);
      expect(logger.warns.join('\n')).to.include('can present a certificate it made itself and be admitted');
    });

    it('a remote proxy with the default trustProxy is named as a mistake (trust_proxy_default)', () => {
      const logger = recorder();
      createClientCertAuth({ logger, proxy: 'ingress-nginx', ca: root.cert });
      expect(logger.warns.filter((w) => w.includes('warning trust_proxy_default'))).to.have.length(1);
      expect(logger.warns.join('\n')).to.include("ingress-nginx connects from the ingress controller's pods");
    });
  });

  describe('source auto without a proxy, over TLS', () => {
    it('a TLS connection from a trusted peer that forwards XFCC is a re-encrypting proxy nobody named: refused, warned once (proxy_not_named)', async () => {
      const server = await root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { ip: ['127.0.0.1'] } });
      const logger = recorder();
      const auth = createClientCertAuth({ logger, ca: root.cert, trustProxy: '127.0.0.1' });
      const app = https.createServer(
        { cert: server.cert, key: server.key, ca: root.cert, requestCert: true, rejectUnauthorized: false },
        async (req, res) => {
          const result = await auth.authenticate(req);
          res.end(result.ok ? `ok ${result.certificate?.subject.get('CN')}` : result.error.code);
        },
      );
      await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
      try {
        const url = `https://127.0.0.1:${(app.address() as AddressInfo).port}`;
        for (let i = 0; i < 2; i++) {
          const res = await request({
            url,
            ca: root.cert,
            cert: alice.cert,
            key: alice.key,
            headers: { 'x-forwarded-client-cert': envoyXfcc(selfMade) },
          });
          expect(res.text).to.equal('client_certificate_untrusted'); // neither the proxy's certificate nor the unnamed proxy's header
        }
        // Without the header the peer is the client (direct mTLS from this host).
        expect((await request({ url, ca: root.cert, cert: alice.cert, key: alice.key })).text).to.equal('ok alice');
        // From a peer outside trustProxy the header is nobody's word: ignored, the connection's certificate counts.
        const stranger = await request({
          url,
          localAddress: '127.0.0.2',
          ca: root.cert,
          cert: alice.cert,
          key: alice.key,
          headers: { 'x-forwarded-client-cert': envoyXfcc(selfMade) },
        });
        expect(stranger.text).to.equal('ok alice');
        expect(logger.warns.filter((w) => w.includes('warning proxy_not_named'))).to.have.length(1);
        expect(logger.warns.join('\n'))
          .to.include('a TLS connection from 127.0.0.1, a peer in trustProxy, sent x-forwarded-client-cert')
          .and.include('until the proxy is named with `proxy`');
      } finally {
        app.close();
      }
    });
  });

  describe('a proxy that reports its verdict per request', () => {
    for (const proxy of ['nginx', 'aws-alb', 'cloudflare'] as const) {
      it(`${proxy}: its verification is not believed on a source that carries no verdict (source xfcc)`, async () => {
        const auth = createClientCertAuth({ logger: false, proxy, source: 'xfcc' });
        const result = await auth.authenticate({
          socket: peer('127.0.0.1'),
          headers: { 'x-forwarded-client-cert': envoyXfcc(selfMade) },
        });
        expect(result.ok ? result.certificate?.verifiedBy : result.error.code).to.equal('client_certificate_untrusted');
      });
    }

    it("envoy (verifies by configuration, reports nothing): proxyVerified is the operator's word for it", async () => {
      const auth = createClientCertAuth({ logger: false, proxy: 'envoy', proxyVerified: true });
      const result = await auth.authenticate({
        socket: peer('127.0.0.1'),
        headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
      });
      expect(result.ok && result.certificate?.verifiedBy).to.equal('proxy');
    });
  });

  describe('onDecision', () => {
    it('an async hook that rejects neither ends the process nor changes the decision; reported once', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const logger = recorder();
        const auth = createClientCertAuth({
          logger,
          ca: root.cert,
          source: 'xfcc',
          onDecision: async () => {
            throw new Error('hook down');
          },
        });
        for (let i = 0; i < 3; i++) {
          const result = await auth.authenticate({
            socket: peer('127.0.0.1'),
            headers: { 'x-forwarded-client-cert': envoyXfcc(alice) },
          });
          expect(result.ok).to.equal(true);
        }
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).to.deep.equal([]);
        expect(logger.warns.filter((w) => w.includes('on_decision_error'))).to.have.length(1);
        expect(logger.warns.join('\n')).to.include('hook down');
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});
