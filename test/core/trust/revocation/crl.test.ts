/**
 * CRL validity (RFC 5280 §5 and §6.3.3): a CRL its issuer signed must still not be used when it
 * has no cRLNumber, a critical or out-of-range one, a critical CRL or entry extension that is not
 * processed, an issuer whose keyUsage lacks cRLSign, or is a kind of CRL not supported. Such a
 * CRL is "no data": the status is unknown (strict refuses, soft passes and warns), never good
 * and never revoked.
 *
 * First against the checker with CRLs the test kit builds, then through the whole pipeline: a
 * real express server over TLS on port 0 with `revocation: { crls, policy }`, and real clients.
 */

import type { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { ClientCertOptions } from '../../../../packages/core/src/index.js';
import {
  type CrlOptions,
  createCA,
  createCrl,
  crlDistributionPointsExtension,
  issuingDistributionPointExtension,
  type RawExtension,
  type TestCA,
  type TestCertificate,
  type TestCrl,
  unknownExtension,
} from '../../../../packages/core/src/testkit/index.js';
import { derOid, derTlv } from '../../../../packages/core/src/testkit/shared.js';
import { verifyChainSync } from '../../../../packages/core/src/trust/path/verify.js';
import {
  compileRevocation,
  decideRevocation,
  type RevocationResult,
} from '../../../../packages/core/src/trust/revocation/index.js';
import { adapters, type RunningApp } from '../../../conformance/harness.js';
import { request } from '../../../helpers/http-client.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Set when the certificates are made (not when the file loads: the suite may reach it minutes later). */
let NOW = Math.floor(Date.now() / 1000) * 1000;
const at = (offset = 0): Date => new Date(NOW + offset);

/** A critical authorityKeyIdentifier: understood, but RFC 5280 §5.2.1 says it MUST NOT be critical. */
const CRITICAL_AKI: RawExtension = {
  oid: '2.5.29.35',
  critical: true,
  value: derTlv(0x30, derTlv(0x80, Buffer.alloc(20, 7))),
};
/** A critical issuerAltName (allowed: it only names the issuer again). */
const CRITICAL_IAN: RawExtension = {
  oid: '2.5.29.18',
  critical: true,
  value: derTlv(0x30, derTlv(0x86, Buffer.from('https://ca.example/'))),
};
/** issuingDistributionPoint with onlySomeReasons (keyCompromise): a CRL partitioned by reason. */
const SOME_REASONS: RawExtension = {
  oid: '2.5.29.28',
  critical: true,
  value: derTlv(0x30, derTlv(0x83, Buffer.from([0x06, 0x40]))),
};
/** A critical reasonCode entry extension (certificateHold): processed, so allowed. */
const CRITICAL_HOLD: RawExtension = { oid: '2.5.29.21', critical: true, value: derTlv(0x0a, Buffer.from([6])) };
/** certificateIssuer: only an indirect CRL has it. */
const CERTIFICATE_ISSUER: RawExtension = {
  oid: '2.5.29.29',
  critical: true,
  value: derTlv(
    0x30,
    derTlv(0xa4, derTlv(0x30, derTlv(0x31, derTlv(0x30, derOid('2.5.4.3'), derTlv(0x0c, Buffer.from('other ca')))))),
  ),
};

function sync(result: RevocationResult | Promise<RevocationResult>): RevocationResult {
  expect(result).not.to.be.instanceOf(Promise);
  return result as RevocationResult;
}

function pathOf(leaf: TestCertificate, root: TestCertificate): X509Certificate[] {
  const result = verifyChainSync({ leaf: leaf.cert, intermediates: leaf.chain, trustAnchors: root.cert, at: at() });
  if (!result.ok) throw new Error(`test path does not verify: ${result.message}`);
  return result.chain;
}

const MESSAGE_PREFIX =
  'revocation status of the certificate at depth 0 could not be determined: its CRL is not valid: ';

describe('CRL validation (RFC 5280 §5, §6.3.3)', () => {
  let root: TestCA;
  /** A CA whose keyUsage has keyCertSign but not cRLSign. */
  let noCrlSign: TestCA;
  /** A CA without a keyUsage extension: RFC 5280 §6.3.3 (f) checks cRLSign only when keyUsage is present. */
  let noKeyUsage: TestCA;
  let alice: TestCertificate;
  let bob: TestCertificate;
  let carol: TestCertificate;
  let dave: TestCertificate;
  let server: TestCertificate;

  before(async () => {
    NOW = Math.floor(Date.now() / 1000) * 1000; // the test CAs are valid from a minute before now
    root = await createCA({ subject: 'CN=CRL validation root' });
    noCrlSign = await createCA({ subject: 'CN=CA without cRLSign', keyUsage: ['keyCertSign', 'digitalSignature'] });
    noKeyUsage = await createCA({ subject: 'CN=CA without keyUsage', keyUsage: null });
    [alice, bob, carol, dave, server] = await Promise.all([
      root.issue({ subject: 'CN=alice', serialNumber: '1001' }),
      root.issue({ subject: 'CN=bob', serialNumber: '1002' }),
      noCrlSign.issue({ subject: 'CN=carol', serialNumber: '2001' }),
      noKeyUsage.issue({ subject: 'CN=dave', serialNumber: '3001' }),
      root.issue({ subject: 'CN=server', eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
    ]);
  });

  /** A CRL of `ca` listing bob (1002), with `options` on top. */
  function crlOf(ca: TestCA, options: CrlOptions = {}): Promise<TestCrl> {
    return createCrl(ca, {
      thisUpdate: at(-HOUR),
      nextUpdate: at(DAY),
      revoked: [{ serialNumber: '1002' }],
      ...options,
    });
  }

  /** Each CRL RFC 5280 says not to use, with the text naming why. */
  const INVALID: ReadonlyArray<readonly [what: string, options: CrlOptions, defect: string]> = [
    ['without cRLNumber', { crlNumber: null }, 'it has no cRLNumber (RFC 5280 §5.2.3)'],
    ['with a critical cRLNumber', { crlNumberCritical: true }, 'its cRLNumber is marked critical (RFC 5280 §5.2.3)'],
    [
      'with a negative cRLNumber',
      { crlNumber: -5 },
      'its cRLNumber is negative or longer than 20 octets (RFC 5280 §5.2.3)',
    ],
    [
      'with a 21-octet cRLNumber',
      { crlNumber: 2n ** 160n },
      'its cRLNumber is negative or longer than 20 octets (RFC 5280 §5.2.3)',
    ],
    [
      'with an unknown critical extension',
      { extensions: [unknownExtension()] },
      'it has a critical extension that is not supported (RFC 5280 §5.2)',
    ],
    [
      'with a critical authorityKeyIdentifier',
      { extensions: [CRITICAL_AKI] },
      'it has a critical extension that is not supported (RFC 5280 §5.2)',
    ],
    [
      'partitioned by reason (onlySomeReasons)',
      { extensions: [SOME_REASONS] },
      'it covers only some revocation reasons, which is not supported',
    ],
    [
      'with an unknown critical entry extension',
      {
        revoked: [{ serialNumber: '1002' }, { serialNumber: '9999', extensions: [unknownExtension()] }],
      },
      'it has a critical entry extension that is not supported (RFC 5280 §5.3)',
    ],
    [
      'with a certificateIssuer entry extension (indirect)',
      {
        revoked: [{ serialNumber: '1002', extensions: [CERTIFICATE_ISSUER] }],
      },
      'it is an indirect CRL, which is not supported',
    ],
  ];

  describe('the checker', () => {
    for (const [what, options, defect] of INVALID) {
      it(`a CRL ${what} is no data: unknown for a listed and an unlisted certificate alike`, async () => {
        const crl = await crlOf(root, options);
        const checker = compileRevocation({ crls: [crl.der], policy: 'strict' });
        expect(checker.problems).to.deep.equal([
          `revocation.crls[0] is not a valid CRL: ${defect}; the certificates it covers have no revocation status from it`,
        ]);
        for (const leaf of [alice, bob]) {
          const result = sync(checker.check(pathOf(leaf, root), at()));
          expect(result.status, `${leaf === bob ? 'bob (listed)' : 'alice'}`).to.equal('unknown');
          if (result.status !== 'unknown') return;
          expect(result.message).to.equal(`${MESSAGE_PREFIX}${defect}`);
          expect(result.transient).to.equal(false);
          expect(checker.decide(result)).to.deep.equal({
            ok: false,
            code: 'client_certificate_untrusted',
            message: result.message,
            cacheUntil: Infinity,
          });
          expect(decideRevocation(result, 'soft')).to.deep.equal({
            ok: true,
            cacheUntil: Infinity,
            warning: result.message,
          });
        }
      });
    }

    it('a conforming CRL: good for alice, revoked for bob; nothing in problems', async () => {
      const checker = compileRevocation({ crls: [(await crlOf(root)).der] });
      expect(checker.problems).to.deep.equal([]);
      expect(sync(checker.check(pathOf(alice, root), at()))).to.deep.equal({ status: 'good', validUntil: NOW + DAY });
      expect(sync(checker.check(pathOf(bob, root), at()))).to.include({ status: 'revoked', depth: 0 });
    });

    it('what the rules allow stays usable: a 20-octet cRLNumber, critical issuerAltName and reasonCode, unknown non-critical extensions', async () => {
      for (const options of [
        { crlNumber: 2n ** 159n }, // 20 octets after the sign octet
        { crlNumber: 0 },
        { extensions: [CRITICAL_IAN] },
        { extensions: [unknownExtension(false)] },
        { revoked: [{ serialNumber: '1002', extensions: [unknownExtension(false)] }] },
        { revoked: [{ serialNumber: '1002', extensions: [CRITICAL_HOLD] }] },
      ] satisfies CrlOptions[]) {
        const checker = compileRevocation({ crls: [(await crlOf(root, options)).der] });
        expect(
          checker.problems,
          JSON.stringify(options, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
        ).to.deep.equal([]);
        expect(sync(checker.check(pathOf(alice, root), at())).status).to.equal('good');
        expect(sync(checker.check(pathOf(bob, root), at())).status).to.equal('revoked');
      }
    });

    it('an issuer whose keyUsage lacks cRLSign: its CRL is no data, even listing the certificate', async () => {
      const crl = await createCrl(noCrlSign, { revoked: [{ serialNumber: '2001' }] });
      const checker = compileRevocation({ crls: [crl.der] });
      expect(checker.problems, 'only seen with the issuer certificate, at check time').to.deep.equal([]);
      const result = sync(checker.check(pathOf(carol, noCrlSign), at()));
      expect(result).to.include({ status: 'unknown', depth: 0 });
      expect((result as { message: string }).message).to.equal(
        `${MESSAGE_PREFIX}the keyUsage of its issuer does not include cRLSign (RFC 5280 §6.3.3)`,
      );
    });

    it('an issuer without keyUsage may sign CRLs (§6.3.3 (f) applies only when keyUsage is present)', async () => {
      const crl = await createCrl(noKeyUsage, { revoked: [{ serialNumber: '3001' }] });
      // The path as given, not verified: whether such a CA may issue is path validation's question.
      const path = [dave.x509, noKeyUsage.x509];
      expect(sync(compileRevocation({ crls: [crl.der] }).check(path, at()))).to.include({
        status: 'revoked',
        depth: 0,
      });
    });

    it('an invalid CRL beside a valid one of the same issuer changes nothing: the valid one answers', async () => {
      const invalidListingAlice = await crlOf(root, { crlNumber: null, revoked: [{ serialNumber: '1001' }] });
      const checker = compileRevocation({ crls: [invalidListingAlice.der, (await crlOf(root)).der] });
      expect(checker.problems).to.have.length(1);
      expect(sync(checker.check(pathOf(alice, root), at())).status, 'the invalid listing is no evidence').to.equal(
        'good',
      );
      expect(sync(checker.check(pathOf(bob, root), at())).status).to.equal('revoked');
    });

    it('a CRL scoped to other certificates (issuingDistributionPoint) is no evidence for this one', async () => {
      const point = 'http://crl.example/partition-1.crl';
      const cases: ReadonlyArray<readonly [RawExtension, TestCertificate | null]> = [
        [issuingDistributionPointExtension({ onlyContainsCACerts: true }), null],
        [issuingDistributionPointExtension({ uri: point }), null],
        [
          issuingDistributionPointExtension({ uri: point }),
          await root.issue({
            serialNumber: '1003',
            extensions: [crlDistributionPointsExtension(['http://crl.example/partition-2.crl'])],
          }),
        ],
      ];
      for (const [idp, subject] of cases) {
        const crl = await crlOf(root, { extensions: [idp] });
        const result = sync(compileRevocation({ crls: [crl.der] }).check(pathOf(subject ?? alice, root), at()));
        expect(result).to.include({ status: 'unknown' });
        expect((result as { message: string }).message).to.match(/: no CRL covers it$/);
      }
    });

    it('a CRL fetched over HTTP with a defect is no data too (not a failed download, not good)', async () => {
      const crl = await crlOf(root, { crlNumber: null });
      const httpServer = http.createServer((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/pkix-crl' });
        response.end(crl.der);
      });
      await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', () => resolve()));
      try {
        const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/root.crl`;
        const checker = compileRevocation({ crls: [url] });
        expect(checker.problems, 'not loaded yet at start-up').to.deep.equal([]);
        const first = await checker.check(pathOf(alice, root), at());
        expect(first).to.include({ status: 'unknown', transient: false });
        expect((first as { message: string }).message).to.equal(
          `${MESSAGE_PREFIX}it has no cRLNumber (RFC 5280 §5.2.3)`,
        );
        // In hand now: answered at once, and the same.
        expect(sync(checker.check(pathOf(bob, root), at()))).to.include({ status: 'unknown', transient: false });
      } finally {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      }
    });
  });

  describe('through the pipeline: express over TLS with revocation: { crls, policy }', () => {
    const express = adapters.find((adapter) => adapter.name === 'express')!;
    let app: RunningApp | undefined;
    let warnings: string[];

    afterEach(async () => {
      await app?.close();
      app = undefined;
    });

    async function start(crls: Buffer[], policy: 'strict' | 'soft'): Promise<RunningApp> {
      warnings = [];
      const options: ClientCertOptions = {
        ca: [root.cert, noCrlSign.cert],
        revocation: { crls, policy },
        logger: { info: () => undefined, warn: (line: string) => void warnings.push(line), debug: () => undefined },
      };
      app = await express.start({
        options,
        tls: {
          cert: server.cert,
          key: server.key,
          ca: `${root.cert}${noCrlSign.cert}`,
          requestCert: true,
          rejectUnauthorized: false,
        },
      });
      return app;
    }

    async function send(
      running: RunningApp,
      client: TestCertificate,
    ): Promise<{ status: number; body: Record<string, unknown> }> {
      const response = await request({
        url: running.url,
        path: '/whoami',
        ca: root.cert,
        cert: client.cert,
        key: client.key,
      });
      return { status: response.status, body: JSON.parse(response.text) as Record<string, unknown> };
    }

    it('a valid CRL: 200 for a certificate it does not list, 403 client_certificate_revoked for one it lists', async () => {
      const running = await start([(await crlOf(root)).der], 'strict');
      const good = await send(running, alice);
      expect(good.status).to.equal(200);
      expect(good.body.subject).to.equal('CN=alice');
      const revoked = await send(running, bob);
      expect(revoked.status).to.equal(403);
      expect(revoked.body.code).to.equal('client_certificate_revoked');
    });

    for (const [what, options] of INVALID) {
      it(`strict, a CRL ${what}: 403 client_certificate_untrusted, for a listed certificate too`, async () => {
        const running = await start([(await crlOf(root, options)).der], 'strict');
        for (const client of [alice, bob]) {
          const response = await send(running, client);
          expect(response.status, client === bob ? 'bob' : 'alice').to.equal(403);
          expect(response.body.code).to.equal('client_certificate_untrusted');
        }
      });
    }

    it('strict, a CRL from an issuer whose keyUsage lacks cRLSign: 403 client_certificate_untrusted', async () => {
      const running = await start(
        [(await createCrl(noCrlSign, { revoked: [{ serialNumber: '2001' }] })).der],
        'strict',
      );
      const response = await send(running, carol);
      expect(response.status).to.equal(403);
      expect(response.body.code).to.equal('client_certificate_untrusted');
    });

    it('soft, each invalid CRL: 200, and a warning line naming what is wrong with the CRL', async () => {
      for (const [what, options, defect] of INVALID) {
        const running = await start([(await crlOf(root, options)).der], 'soft');
        const response = await send(running, alice);
        expect(response.status, what).to.equal(200);
        expect(response.body.subject).to.equal('CN=alice');
        const soft = warnings.filter((line) => line.includes('revocation_soft_fail'));
        expect(soft, what).to.have.length(1);
        expect(soft[0]).to.include(`${MESSAGE_PREFIX}${defect}`);
        await running.close();
        app = undefined;
      }
      const running = await start([(await createCrl(noCrlSign, { revoked: [{ serialNumber: '2001' }] })).der], 'soft');
      expect((await send(running, carol)).status).to.equal(200);
      expect(warnings.filter((line) => line.includes('revocation_soft_fail'))).to.have.length(1);
      expect(warnings.join('\n')).to.include('the keyUsage of its issuer does not include cRLSign');
    });
  });
});
