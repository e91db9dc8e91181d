import type { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import {
  createCA,
  generateKeyPair,
  type TestCA,
  type TestCertificate,
} from '../../../../packages/core/src/testkit/index.js';
import {
  createCrl,
  crlDistributionPointsExtension,
  deltaCrlIndicatorExtension,
  issuingDistributionPointExtension,
  type OcspResponder,
  ocspAiaExtension,
  startOcspResponder,
  type TestCrl,
} from '../../../../packages/core/src/testkit/revocation.js';
import { verifyChainSync } from '../../../../packages/core/src/trust/path/verify.js';
import {
  compileRevocation,
  decideRevocation,
  type RevocationOptions,
  type RevocationResult,
} from '../../../../packages/core/src/trust/revocation/index.js';
import { expectClientCertError } from '../../../helpers/errors.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Whole seconds, as certificates and CRLs store times. */
const NOW = Math.floor(Date.now() / SECOND) * SECOND;
const OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

function validity(): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(NOW - DAY), notAfter: new Date(NOW + 30 * DAY) };
}

function at(offset = 0): Date {
  return new Date(NOW + offset);
}

/** The verified path of `leaf` up to `root`, as the pipeline hands it to the checker. */
function pathOf(leaf: TestCertificate, root: TestCertificate): X509Certificate[] {
  const result = verifyChainSync({ leaf: leaf.cert, intermediates: leaf.chain, trustAnchors: root.cert, at: at() });
  if (!result.ok) throw new Error(`test path does not verify: ${result.message}`);
  return result.chain;
}

/** Asserts that the checker answered without a Promise, and returns the answer. */
function sync(result: RevocationResult | Promise<RevocationResult>): RevocationResult {
  expect(result).not.to.be.instanceOf(Promise);
  return result as RevocationResult;
}

/** Asserts that the checker had to fetch something, and waits for the answer. */
async function fetched(result: RevocationResult | Promise<RevocationResult>): Promise<RevocationResult> {
  expect(result).to.be.instanceOf(Promise);
  return result;
}

function expectGood(result: RevocationResult): Extract<RevocationResult, { status: 'good' }> {
  if (result.status !== 'good') expect.fail(`expected good, got ${result.status}: ${result.message}`);
  return result;
}

function expectRevoked(result: RevocationResult, depth: number): void {
  if (result.status !== 'revoked') expect.fail(`expected revoked, got ${result.status}`);
  expect(result.depth).to.equal(depth);
  expect(result.message).to.equal(`certificate at depth ${depth} has been revoked`);
}

function expectUnknown(
  result: RevocationResult,
  depth: number,
  transient: boolean,
  reason?: string,
): Extract<RevocationResult, { status: 'unknown' }> {
  if (result.status !== 'unknown') expect.fail(`expected unknown, got ${result.status}`);
  expect(result.depth, result.message).to.equal(depth);
  expect(result.transient, result.message).to.equal(transient);
  expect(result.message).to.match(
    new RegExp(`^revocation status of the certificate at depth ${depth} could not be determined: `),
  );
  if (reason !== undefined) expect(result.message).to.contain(reason);
  return result;
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) expect.fail(`timed out waiting for ${what}`);
}

/** A port nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A real HTTP server on loopback serving one CRL (swappable), counting requests. */
interface CrlServer {
  readonly url: string;
  readonly port: number;
  requests: number;
  body: Buffer | string;
  close(): Promise<void>;
}

async function startCrlServer(body: Buffer | string, port = 0): Promise<CrlServer> {
  const server = http.createServer((_request, response) => {
    state.requests++;
    response.writeHead(200, { 'content-type': 'application/pkix-crl' });
    response.end(state.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as net.AddressInfo).port;
  const state: CrlServer = {
    url: `http://127.0.0.1:${bound}/ca.crl`,
    port: bound,
    requests: 0,
    body,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

describe('revocation', () => {
  let root: TestCA;
  let intermediate: TestCA;
  let leaf: TestCertificate;
  let revokedLeaf: TestCertificate;
  let path: X509Certificate[];
  let revokedPath: X509Certificate[];
  let dir: string;
  /** Empty CRLs of both CAs, valid for a day. */
  let rootCrl: TestCrl;
  let intermediateCrl: TestCrl;

  before(async () => {
    root = await createCA({ subject: 'CN=revocation test root', ...validity() });
    intermediate = await root.intermediate({
      subject: 'CN=revocation test intermediate',
      serialNumber: '0a01',
      ...validity(),
    });
    leaf = await intermediate.issue({ subject: 'CN=good client', serialNumber: '1001', ...validity() });
    revokedLeaf = await intermediate.issue({ subject: 'CN=revoked client', serialNumber: '1002', ...validity() });
    path = pathOf(leaf, root);
    revokedPath = pathOf(revokedLeaf, root);
    rootCrl = await createCrl(root, { thisUpdate: at(-HOUR), nextUpdate: at(DAY) });
    intermediateCrl = await createCrl(intermediate, {
      thisUpdate: at(-HOUR),
      nextUpdate: at(2 * DAY),
      revoked: [{ serialNumber: '1002' }],
    });
    dir = await mkdtemp(join(tmpdir(), 'clientcert-revocation-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, contents: string | Buffer): Promise<string> {
    const target = join(dir, name);
    await writeFile(target, contents);
    return target;
  }

  describe('options', () => {
    it('is off, and does nothing, when nothing is configured', () => {
      const checker = compileRevocation(undefined);
      expect(checker.policy).to.equal('off');
      expect(checker.description).to.equal('off');
      expect(sync(checker.check(path, at()))).to.deep.equal({ status: 'good', validUntil: Infinity });
      expect(compileRevocation({}).policy).to.equal('off');
    });

    it('defaults to strict when CRLs or OCSP are configured', async () => {
      const checker = compileRevocation({ crls: [await file('default.pem', rootCrl.pem)] });
      expect(checker.policy).to.equal('strict');
      expect(checker.description).to.equal('strict; 1 CRL file; whole chain');
      expect(compileRevocation({ ocsp: true, scope: 'leaf' }).description).to.equal('strict; OCSP; leaf only');
      expect(compileRevocation({ crls: rootCrl.der, policy: 'soft' }).description).to.equal(
        'soft; 1 inline CRL; whole chain',
      );
    });

    it('refuses a policy that has nothing to check', () => {
      expectClientCertError(() => compileRevocation({ policy: 'strict' }), 'invalid_option');
      expectClientCertError(() => compileRevocation({ policy: 'soft', crls: [] }), 'invalid_option');
      expect(compileRevocation({ policy: 'off' }).policy).to.equal('off');
    });

    it('names the option at fault', async () => {
      const cases: Array<[RevocationOptions, string]> = [
        [{ policy: 'lenient' as never }, 'revocation.policy'],
        [{ scope: 'all' as never }, 'revocation.scope'],
        [{ timeoutMs: 0 }, 'revocation.timeoutMs'],
        [{ retryAfterMs: -1 }, 'revocation.retryAfterMs'],
        [{ crl: [] } as never, 'revocation.crl'],
        [{ crls: [rootCrl.der, join(dir, 'missing.crl')] }, 'revocation.crls[1]'],
        [{ crls: [rootCrl.der, await file('garbage.crl', 'not a CRL')] }, 'revocation.crls[1]'],
        [{ crls: [await file('truncated.crl', rootCrl.der.subarray(0, 40))] }, 'revocation.crls[0]'],
        [{ crls: 'ftp://127.0.0.1/ca.crl' }, 'revocation.crls'],
        [{ crls: [42 as never] }, 'revocation.crls[0]'],
        [{ ocsp: 'yes' as never }, 'revocation.ocsp'],
        [{ ocsp: { responderUrl: 'ldap://example/' } }, 'revocation.ocsp.responderUrl'],
        [{ ocsp: { timeout: 5 } as never }, 'revocation.ocsp.timeout'],
        [{ ocsp: { maxCacheSeconds: 0 } }, 'revocation.ocsp.maxCacheSeconds'],
      ];
      for (const [options, name] of cases) {
        let thrown: unknown;
        try {
          compileRevocation(options);
        } catch (error) {
          thrown = error;
        }
        expect((thrown as { code?: string } | undefined)?.code, name).to.equal('invalid_option');
        expect((thrown as Error).message, name).to.contain(`"${name}"`);
      }
    });

    it('names the path it was given', () => {
      expect(() => compileRevocation({ policy: 'x' as never }, 'routes[2].revocation')).to.throw(
        /"routes\[2\]\.revocation\.policy"/,
      );
    });

    it('does not use CRLs it cannot process (delta, indirect): no status from them, and start-up lists them', async () => {
      const delta = await createCrl(intermediate, { crlNumber: 2, extensions: [deltaCrlIndicatorExtension(1)] });
      const withDelta = compileRevocation({ crls: [rootCrl.der, delta.der] });
      expect(withDelta.problems).to.deep.equal([
        'revocation.crls[1] is not a valid CRL: it is a delta CRL, which is not supported; the certificates it covers have no revocation status from it',
      ]);
      expectUnknown(sync(withDelta.check(path, at())), 0, false, 'its CRL is not valid: it is a delta CRL');
      const indirect = await createCrl(intermediate, {
        extensions: [issuingDistributionPointExtension({ indirectCRL: true })],
      });
      const withIndirect = compileRevocation({ crls: [rootCrl.pem + indirect.pem] });
      expect(withIndirect.problems).to.deep.equal([
        'revocation.crls[0] (CRL 2 of 2) is not a valid CRL: it is an indirect CRL, which is not supported; the certificates it covers have no revocation status from it',
      ]);
      expectUnknown(sync(withIndirect.check(path, at())), 0, false, 'its CRL is not valid: it is an indirect CRL');
      expect(compileRevocation({ crls: [rootCrl.der, intermediateCrl.der] }).problems).to.deep.equal([]);
    });

    it('does no work under policy off even with sources configured', () => {
      const checker = compileRevocation({ policy: 'off', crls: [intermediateCrl.der] });
      expect(sync(checker.check(revokedPath, at()))).to.deep.equal({ status: 'good', validUntil: Infinity });
    });
  });

  describe('decideRevocation', () => {
    const unknown = (transient: boolean): RevocationResult => ({
      status: 'unknown',
      depth: 0,
      transient,
      message: 'revocation status of the certificate at depth 0 could not be determined: x',
      validUntil: NOW + HOUR,
    });

    it('passes good answers, cacheable until validUntil', () => {
      expect(decideRevocation({ status: 'good', validUntil: NOW + HOUR }, 'strict')).to.deep.equal({
        ok: true,
        cacheUntil: NOW + HOUR,
        warning: null,
      });
    });

    it('fails revoked under every policy with client_certificate_revoked', () => {
      for (const policy of ['soft', 'strict'] as const) {
        const decision = decideRevocation(
          { status: 'revoked', depth: 1, message: 'certificate at depth 1 has been revoked', validUntil: 5 },
          policy,
        );
        expect(decision).to.deep.equal({
          ok: false,
          code: 'client_certificate_revoked',
          message: 'certificate at depth 1 has been revoked',
          cacheUntil: 5,
        });
      }
    });

    it('fails unknown under strict with client_certificate_untrusted, passes it under soft', () => {
      const strict = decideRevocation(unknown(false), 'strict');
      expect(strict).to.include({ ok: false, code: 'client_certificate_untrusted', cacheUntil: NOW + HOUR });
      const soft = decideRevocation(unknown(false), 'soft');
      expect(soft).to.include({ ok: true, cacheUntil: NOW + HOUR });
      expect((soft as { warning: string }).warning).to.contain('could not be determined');
    });

    it('lets a transient answer be cached until validUntil (when its source may be tried again), refusal and pass alike', () => {
      // Changed on purpose: a transient answer used to be cached for no time at all, so every
      // request during an outage decided again; its validUntil is now the end of the back-off.
      expect(decideRevocation(unknown(true), 'strict')).to.include({
        ok: false,
        code: 'client_certificate_untrusted',
        cacheUntil: NOW + HOUR,
      });
      expect(decideRevocation(unknown(true), 'soft')).to.include({ ok: true, cacheUntil: NOW + HOUR });
    });
  });

  describe('CRLs from files and memory', () => {
    it('finds an unlisted chain good from PEM files, synchronously, valid until the earliest nextUpdate', async () => {
      const checker = compileRevocation({
        crls: [await file('root.pem', rootCrl.pem), await file('intermediate.pem', intermediateCrl.pem)],
      });
      const result = expectGood(sync(checker.check(path, at())));
      expect(result.validUntil).to.equal(NOW + DAY);
    });

    it('finds a listed leaf revoked from a DER file', async () => {
      const checker = compileRevocation({
        crls: [await file('root.der', rootCrl.der), await file('intermediate.der', intermediateCrl.der)],
      });
      expectRevoked(sync(checker.check(revokedPath, at())), 0);
      expect(decideRevocation(sync(checker.check(revokedPath, at())), 'strict')).to.include({
        ok: false,
        code: 'client_certificate_revoked',
      });
    });

    it('reads several CRLs from one PEM bundle', async () => {
      const checker = compileRevocation({ crls: await file('bundle.pem', rootCrl.pem + intermediateCrl.pem) });
      expectGood(sync(checker.check(path, at())));
      expectRevoked(sync(checker.check(revokedPath, at())), 0);
    });

    it('finds a revoked intermediate at depth 1', async () => {
      const rootRevoking = await createCrl(root, {
        thisUpdate: at(-HOUR),
        revoked: [{ serialNumber: '0a01', reason: 'cACompromise' }],
      });
      const checker = compileRevocation({ crls: [rootRevoking.der, intermediateCrl.der] });
      expectRevoked(sync(checker.check(path, at())), 1);
    });

    it('with scope leaf, checks the leaf only', async () => {
      const rootRevoking = await createCrl(root, { revoked: [{ serialNumber: '0a01' }] });
      const leafOnly = compileRevocation({ crls: [rootRevoking.der, intermediateCrl.der], scope: 'leaf' });
      expectGood(sync(leafOnly.check(path, at())));
      expectRevoked(sync(leafOnly.check(revokedPath, at())), 0);
      // Without the root's CRL the intermediate is simply not checked.
      expectGood(sync(compileRevocation({ crls: [intermediateCrl.der], scope: 'leaf' }).check(path, at())));
    });

    it('needs a CRL for every certificate of the chain: one without is unknown (not transient)', () => {
      const checker = compileRevocation({ crls: [intermediateCrl.der] });
      const result = expectUnknown(sync(checker.check(path, at())), 1, false, 'no CRL covers it');
      expect(result.validUntil).to.equal(NOW + 2 * DAY);
      expect(checker.decide(result)).to.include({ ok: false, code: 'client_certificate_untrusted' });
      expect(decideRevocation(result, 'soft')).to.include({ ok: true, cacheUntil: NOW + 2 * DAY });
      // A listed leaf is still revoked: revoked wins over unknown.
      expectRevoked(sync(checker.check(revokedPath, at())), 0);
    });

    it('treats a stale CRL (past nextUpdate) as unknown: strict fails, soft passes', async () => {
      const stale = await createCrl(intermediate, { thisUpdate: at(-2 * DAY), nextUpdate: at(-10 * MINUTE) });
      const strict = compileRevocation({ crls: [rootCrl.der, stale.der] });
      const result = expectUnknown(sync(strict.check(path, at())), 0, false, 'its CRL is out of date');
      expect(strict.decide(result)).to.include({ ok: false, code: 'client_certificate_untrusted' });
      const soft = compileRevocation({ crls: [rootCrl.der, stale.der], policy: 'soft' });
      const decision = soft.decide(sync(soft.check(path, at())));
      expect(decision.ok).to.equal(true);
      // The same CRL before its nextUpdate was fine.
      expectGood(sync(strict.check(path, at(-20 * MINUTE))));
    });

    it('re-reads a stale CRL file; when it is still stale the answer is transient', async () => {
      const stale = await createCrl(intermediate, { thisUpdate: at(-2 * DAY), nextUpdate: at(-HOUR) });
      const target = await file('stale.pem', stale.pem);
      const soft = compileRevocation({ crls: [rootCrl.der, target], policy: 'soft', retryAfterMs: 0 });
      const result = expectUnknown(await fetched(soft.check(path, at())), 0, true, 'its CRL is out of date');
      // Valid until the file may be read again: at once with retryAfterMs 0 (the read took a few ms).
      expect(result.validUntil).to.be.within(NOW, NOW + SECOND);
      expect(soft.decide(result)).to.include({ ok: true, cacheUntil: result.validUntil });
      // The file is renewed: the next check reads it again and the chain is good.
      const renewed = await createCrl(intermediate, { thisUpdate: at(-MINUTE), nextUpdate: at(DAY) });
      await writeFile(target, renewed.pem);
      expectGood(await fetched(soft.check(path, at())));
      expectGood(sync(soft.check(path, at())));
    });

    it('ignores a CRL that the issuer did not sign', async () => {
      const forgedKeys = await generateKeyPair();
      const forged = await createCrl(intermediate, { signingKeys: forgedKeys, revoked: [{ serialNumber: '1001' }] });
      const checker = compileRevocation({ crls: [rootCrl.der, forged.der] });
      expectUnknown(sync(checker.check(path, at())), 0, false, 'no CRL covers it');
      // Alongside the genuine one, the forged listing has no effect.
      const both = compileRevocation({ crls: [rootCrl.der, forged.der, intermediateCrl.der] });
      expectGood(sync(both.check(path, at())));
    });

    it('ignores a CRL of another CA with the same name', async () => {
      const twin = await createCA({ subject: 'CN=revocation test intermediate' });
      const twinCrl = await createCrl(twin, { revoked: [{ serialNumber: '1001' }] });
      const checker = compileRevocation({ crls: [rootCrl.der, twinCrl.der] });
      expectUnknown(sync(checker.check(path, at())), 0, false);
    });

    it('does not use a CRL before its thisUpdate (beyond 5 minutes of clock skew)', async () => {
      const future = await createCrl(intermediate, { thisUpdate: at(HOUR), nextUpdate: at(DAY) });
      expectUnknown(sync(compileRevocation({ crls: [rootCrl.der, future.der] }).check(path, at())), 0, false);
      const skewed = await createCrl(intermediate, { thisUpdate: at(2 * MINUTE), nextUpdate: at(DAY) });
      expectGood(sync(compileRevocation({ crls: [rootCrl.der, skewed.der] }).check(path, at())));
    });

    it('honours entry reasons: certificateHold revokes, removeFromCRL does not', async () => {
      const crl = await createCrl(intermediate, {
        revoked: [
          { serialNumber: '1001', reason: 'removeFromCRL' },
          { serialNumber: '1002', reason: 'certificateHold' },
        ],
      });
      const checker = compileRevocation({ crls: [rootCrl.der, crl.der] });
      expectGood(sync(checker.check(path, at())));
      expectRevoked(sync(checker.check(revokedPath, at())), 0);
    });

    it('applies an issuingDistributionPoint scope (user/CA certificates, distribution point)', async () => {
      const caOnly = await createCrl(intermediate, {
        extensions: [issuingDistributionPointExtension({ onlyContainsCACerts: true })],
      });
      expectUnknown(sync(compileRevocation({ crls: [rootCrl.der, caOnly.der] }).check(path, at())), 0, false);
      const userOnly = await createCrl(intermediate, {
        extensions: [issuingDistributionPointExtension({ onlyContainsUserCerts: true })],
      });
      expectGood(sync(compileRevocation({ crls: [rootCrl.der, userOnly.der] }).check(path, at())));
      const rootUserOnly = await createCrl(root, {
        extensions: [issuingDistributionPointExtension({ onlyContainsUserCerts: true })],
      });
      expectUnknown(
        sync(compileRevocation({ crls: [rootUserOnly.der, intermediateCrl.der] }).check(path, at())),
        1,
        false,
      );

      const point = 'http://crl.example/partition-1.crl';
      const partition = await createCrl(intermediate, {
        extensions: [issuingDistributionPointExtension({ uri: point })],
      });
      const inPartition = await intermediate.issue({
        serialNumber: '1003',
        extensions: [crlDistributionPointsExtension([point])],
        ...validity(),
      });
      const elsewhere = await intermediate.issue({
        serialNumber: '1004',
        extensions: [crlDistributionPointsExtension(['http://crl.example/partition-2.crl'])],
        ...validity(),
      });
      const checker = compileRevocation({ crls: [rootCrl.der, partition.der] });
      expectGood(sync(checker.check(pathOf(inPartition, root), at())));
      expectUnknown(sync(checker.check(pathOf(elsewhere, root), at())), 0, false);
      expectUnknown(sync(checker.check(path, at())), 0, false); // no cRLDistributionPoints at all
    });

    it('has nothing to check for a path of one certificate', () => {
      expect(sync(compileRevocation({ crls: [rootCrl.der] }).check([root.x509], at()))).to.deep.equal({
        status: 'good',
        validUntil: Infinity,
      });
    });
  });

  describe('CRLs from URLs (a real HTTP server on loopback)', () => {
    const servers: CrlServer[] = [];
    async function serve(body: Buffer | string, port = 0): Promise<CrlServer> {
      const server = await startCrlServer(body, port);
      servers.push(server);
      return server;
    }

    afterEach(async () => {
      await Promise.all(servers.splice(0).map((server) => server.close()));
    });

    it('fetches on first use, then answers from memory', async () => {
      const server = await serve(intermediateCrl.der);
      const checker = compileRevocation({ crls: [rootCrl.der, server.url] });
      expect(server.requests).to.equal(0); // lazily
      expectGood(await fetched(checker.check(path, at())));
      expect(server.requests).to.equal(1);
      expectRevoked(sync(checker.check(revokedPath, at())), 0);
      expectGood(sync(checker.check(path, at(HOUR))));
      expect(server.requests).to.equal(1);
    });

    it('accepts PEM over HTTP and shares one download between concurrent checks', async () => {
      const server = await serve(intermediateCrl.pem);
      const checker = compileRevocation({ crls: [rootCrl.der, server.url] });
      const results = await Promise.all([
        checker.check(path, at()),
        checker.check(revokedPath, at()),
        checker.check(path, at()),
      ]);
      expectGood(results[0]!);
      expectRevoked(results[1]!, 0);
      expect(server.requests).to.equal(1);
    });

    it('refreshes ahead of nextUpdate in the background, and before answering once it has passed', async () => {
      const first = await createCrl(intermediate, { thisUpdate: at(-HOUR), nextUpdate: at(HOUR), crlNumber: 1 });
      const server = await serve(first.der);
      const checker = compileRevocation({ crls: [rootCrl.der, server.url], retryAfterMs: 0 });
      expectGood(await fetched(checker.check(revokedPath, at())));
      expectGood(sync(checker.check(revokedPath, at(30 * MINUTE))));
      expect(server.requests).to.equal(1);

      // The last tenth of the period (12 minutes here): the answer still comes from the CRL in
      // hand, synchronously, while a newer one is fetched.
      const second = await createCrl(intermediate, {
        thisUpdate: at(50 * MINUTE),
        nextUpdate: at(3 * HOUR),
        crlNumber: 2,
        revoked: [{ serialNumber: '1002' }],
      });
      server.body = second.der;
      expectGood(sync(checker.check(revokedPath, at(55 * MINUTE))));
      await waitFor(
        () => sync(checker.check(revokedPath, at(56 * MINUTE))).status === 'revoked',
        'the background refresh',
      );
      expectRevoked(sync(checker.check(revokedPath, at(56 * MINUTE))), 0);
      expect(server.requests).to.equal(2);

      // Past nextUpdate the check waits for the download.
      const third = await createCrl(intermediate, { thisUpdate: at(3 * HOUR), nextUpdate: at(6 * HOUR), crlNumber: 3 });
      server.body = third.der;
      expectGood(await fetched(checker.check(revokedPath, at(4 * HOUR))));
      expect(server.requests).to.equal(3);
    });

    it('does not let an older CRL replace a newer one', async () => {
      const newer = await createCrl(intermediate, {
        thisUpdate: at(-MINUTE),
        nextUpdate: at(HOUR),
        crlNumber: 7,
        revoked: [{ serialNumber: '1002' }],
      });
      const older = await createCrl(intermediate, { thisUpdate: at(-DAY), nextUpdate: at(2 * HOUR), crlNumber: 6 });
      const server = await serve(newer.der);
      const checker = compileRevocation({ crls: [rootCrl.der, server.url], retryAfterMs: 0 });
      expectRevoked(await fetched(checker.check(revokedPath, at())), 0);
      // A replay of an earlier CRL that did not list the certificate yet, still within its own
      // validity: refused, so once the newer one has expired the status is unknown, not good.
      server.body = older.der;
      expectUnknown(await fetched(checker.check(revokedPath, at(90 * MINUTE))), 0, true, 'its CRL is out of date');
      expect(server.requests).to.equal(2);
    });

    it('reports an unreachable URL as transient, valid until it may be tried again, and recovers when the server is up', async () => {
      const port = await closedPort();
      const url = `http://127.0.0.1:${port}/ca.crl`;
      const strict = compileRevocation({ crls: [rootCrl.der, url], retryAfterMs: 0 });
      const result = expectUnknown(await fetched(strict.check(path, at())), 0, true, 'a CRL could not be loaded');
      // retryAfterMs 0: the URL may be tried again as soon as the refusal came (a few ms after NOW).
      expect(result.validUntil).to.be.within(NOW, NOW + SECOND);
      expect(strict.decide(result)).to.include({
        ok: false,
        code: 'client_certificate_untrusted',
        cacheUntil: result.validUntil,
      });
      const soft = compileRevocation({ crls: [rootCrl.der, url], retryAfterMs: 0, policy: 'soft' });
      const softResult = await soft.check(path, at());
      expect(soft.decide(softResult)).to.include({ ok: true, cacheUntil: softResult.validUntil });

      const server = await serve(intermediateCrl.der, port);
      expectGood(await fetched(strict.check(path, at())));
      expectRevoked(sync(strict.check(revokedPath, at())), 0);
      expect(server.requests).to.equal(1);
    });

    it('does not try a failed URL again for retryAfterMs, answering at once', async () => {
      const port = await closedPort();
      const checker = compileRevocation({
        crls: [rootCrl.der, `http://127.0.0.1:${port}/ca.crl`],
        retryAfterMs: 60_000,
      });
      expectUnknown(await fetched(checker.check(path, at())), 0, true);
      const server = await serve(intermediateCrl.der, port);
      const again = expectUnknown(sync(checker.check(path, at())), 0, true, 'a CRL could not be loaded');
      expect(server.requests).to.equal(0);
      // Valid (and so cacheable) until the URL may be tried again, a minute after the failure.
      expect(again.validUntil).to.be.within(NOW + 59 * SECOND, NOW + MINUTE);
      expect(checker.decide(again)).to.include({ ok: false, cacheUntil: again.validUntil });
    });

    it('treats an error status or a body that is not a CRL as a failed download', async () => {
      const server = await serve('<html>not found</html>');
      const checker = compileRevocation({ crls: [rootCrl.der, server.url], retryAfterMs: 0 });
      expectUnknown(await fetched(checker.check(path, at())), 0, true, 'a CRL could not be loaded');
      server.body = intermediateCrl.der;
      expectGood(await fetched(checker.check(path, at())));
    });
  });

  describe('OCSP (a real openssl ocsp responder on loopback)', () => {
    let responder: OcspResponder;
    let good: TestCertificate;
    let revoked: TestCertificate;
    let unknown: TestCertificate;
    let noAia: TestCertificate;
    const extra: OcspResponder[] = [];

    before(async () => {
      responder = await startOcspResponder(root, {
        good: ['2001', '2004'],
        revoked: [{ serialNumber: '2002', reason: 'keyCompromise' }],
        nextUpdateMinutes: 30,
      });
      const aia = [ocspAiaExtension(responder.url)];
      good = await root.issue({ subject: 'CN=ocsp good', serialNumber: '2001', extensions: aia, ...validity() });
      revoked = await root.issue({ subject: 'CN=ocsp revoked', serialNumber: '2002', extensions: aia, ...validity() });
      unknown = await root.issue({ subject: 'CN=ocsp unknown', serialNumber: '2003', extensions: aia, ...validity() });
      noAia = await root.issue({ subject: 'CN=ocsp no aia', serialNumber: '2004', ...validity() });
    });

    after(async () => {
      await Promise.all([responder?.close(), ...extra.splice(0).map((r) => r.close())]);
    });

    /** The checks run at the real time: the responder dates its answers with it. */
    const now = (): Date => new Date();
    const chainOf = (cert: TestCertificate): X509Certificate[] => [cert.x509, root.x509];

    it('asks the responder named in authorityInfoAccess and finds a good certificate', async () => {
      const checker = compileRevocation({ ocsp: true });
      const before = responder.requests;
      const started = Date.now();
      const result = expectGood(await fetched(checker.check(chainOf(good), now())));
      expect(responder.requests).to.equal(before + 1);
      // Cached until the answer's nextUpdate (30 minutes), which is under the one-hour cap.
      expect(result.validUntil).to.be.within(started + 29 * MINUTE, Date.now() + 30 * MINUTE + 5 * SECOND);
    });

    it('serves a cached answer synchronously, without asking again', async () => {
      const checker = compileRevocation({ ocsp: true });
      expectGood(await fetched(checker.check(chainOf(good), now())));
      const before = responder.requests;
      const again = checker.check(chainOf(good), now());
      expect(again).not.to.be.instanceOf(Promise);
      expectGood(again as RevocationResult);
      expect(responder.requests).to.equal(before);
    });

    it('reports a revoked certificate', async () => {
      const checker = compileRevocation({ ocsp: true });
      expectRevoked(await fetched(checker.check(chainOf(revoked), now())), 0);
      expectRevoked(sync(checker.check(chainOf(revoked), now())), 0);
    });

    it('reports a serial the responder does not know as unknown (an answer: not transient)', async () => {
      const checker = compileRevocation({ ocsp: true });
      const result = expectUnknown(
        await fetched(checker.check(chainOf(unknown), now())),
        0,
        false,
        'the OCSP responder does not know the certificate',
      );
      expect(result.validUntil).to.be.greaterThan(Date.now() + 25 * MINUTE);
      expect(checker.decide(result)).to.include({ ok: false, code: 'client_certificate_untrusted' });
      const before = responder.requests;
      expectUnknown(sync(checker.check(chainOf(unknown), now())), 0, false);
      expect(responder.requests).to.equal(before);
    });

    it('caps the cache at maxCacheSeconds', async () => {
      const checker = compileRevocation({ ocsp: { maxCacheSeconds: 60 } });
      const checkedAt = now();
      const result = expectGood(await fetched(checker.check(chainOf(good), checkedAt)));
      expect(result.validUntil).to.equal(checkedAt.getTime() + MINUTE);
      const before = responder.requests;
      expectGood(await fetched(checker.check(chainOf(good), new Date(checkedAt.getTime() + 2 * MINUTE))));
      expect(responder.requests).to.equal(before + 1);
    });

    it('a certificate without a responder is unknown, unless responderUrl names one', async () => {
      expectUnknown(
        sync(compileRevocation({ ocsp: true }).check(chainOf(noAia), now())),
        0,
        false,
        'it names no OCSP responder',
      );
      const fixed = compileRevocation({ ocsp: { responderUrl: responder.url } });
      expect(fixed.description).to.equal('strict; OCSP (fixed responder); whole chain');
      expectGood(await fetched(fixed.check(chainOf(noAia), now())));
    });

    it('sends a nonce when asked and checks the echo', async () => {
      const checker = compileRevocation({ ocsp: { nonce: true } });
      expectGood(await fetched(checker.check(chainOf(good), now())));
    });

    it('a responder that is down: transient unknown, strict fails, soft passes, valid until it may be asked again', async () => {
      const port = await closedPort();
      const down = await root.issue({
        serialNumber: '2001',
        extensions: [ocspAiaExtension(`http://127.0.0.1:${port}/`)],
        ...validity(),
      });
      const strict = compileRevocation({ ocsp: true, retryAfterMs: 0 });
      const result = expectUnknown(
        await fetched(strict.check(chainOf(down), now())),
        0,
        true,
        'the OCSP responder could not be reached',
      );
      // retryAfterMs 0: valid only until the refusal came, when the responder may be asked again.
      expect(strict.decide(result)).to.include({
        ok: false,
        code: 'client_certificate_untrusted',
        cacheUntil: result.validUntil,
      });
      expect(result.validUntil).to.be.at.most(Date.now());
      const soft = compileRevocation({ ocsp: true, policy: 'soft', retryAfterMs: 0 });
      const softResult = await fetched(soft.check(chainOf(down), now()));
      expect(soft.decide(softResult)).to.include({ ok: true, cacheUntil: softResult.validUntil });
      // The next check asks again.
      expect(strict.check(chainOf(down), now())).to.be.instanceOf(Promise);
      // With the default retryAfterMs the next check within 5 s answers at once, valid until then.
      const backingOff = compileRevocation({ ocsp: true });
      const failedBy = Date.now();
      expectUnknown(await fetched(backingOff.check(chainOf(down), now())), 0, true);
      const checkedAt = now();
      const again = expectUnknown(
        sync(backingOff.check(chainOf(down), checkedAt)),
        0,
        true,
        'the OCSP responder could not be reached',
      );
      // Whole milliseconds, rounded down from the monotonic clock: up to 2 ms before failedBy + 5 s.
      expect(again.validUntil).to.be.within(failedBy + 5 * SECOND - 2, Date.now() + 5 * SECOND);
      expect(backingOff.decide(again)).to.include({ ok: false, cacheUntil: again.validUntil });
    });

    it('gives up on a responder that does not answer within the timeout', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
      try {
        const { port } = silent.address() as net.AddressInfo;
        const checker = compileRevocation({ ocsp: { responderUrl: `http://127.0.0.1:${port}/`, timeoutMs: 200 } });
        const started = Date.now();
        expectUnknown(await fetched(checker.check(chainOf(good), now())), 0, true, 'could not be reached');
        expect(Date.now() - started).to.be.below(1500);
        expect(sockets.size).to.equal(1);
      } finally {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      }
    });

    it('policy off does no work: no connection to the responder', () => {
      const checker = compileRevocation({ ocsp: true, policy: 'off' });
      const before = responder.requests;
      expect(sync(checker.check(chainOf(good), now()))).to.deep.equal({ status: 'good', validUntil: Infinity });
      expect(sync(checker.check(chainOf(revoked), now())).status).to.equal('good');
      expect(responder.requests).to.equal(before);
    });

    it('asks OCSP only when no CRL answered', async () => {
      const rootRevoking = await createCrl(root, { revoked: [{ serialNumber: '2001' }] });
      const before = responder.requests;
      const withCrl = compileRevocation({ crls: [rootCrl.der], ocsp: true });
      expectGood(sync(withCrl.check(chainOf(revoked), now()))); // the CRL answers; OCSP is not asked
      expectRevoked(sync(compileRevocation({ crls: [rootRevoking.der], ocsp: true }).check(chainOf(good), now())), 0);
      expect(responder.requests).to.equal(before);
      const otherCaOnly = compileRevocation({ crls: [intermediateCrl.der], ocsp: true });
      expectRevoked(await fetched(otherCaOnly.check(chainOf(revoked), now())), 0);
      expect(responder.requests).to.equal(before + 1);
    });

    it('checks every certificate of the chain, each with its own answer', async () => {
      // A responder for the root answers for certificates the root issued, such as this revoked
      // intermediate (serial 2002), but not for the intermediate's own certificates: its answer
      // about the leaf is signed by a key that has no authority over the leaf.
      const issuing = await root.intermediate({
        serialNumber: '2002',
        extensions: [ocspAiaExtension(responder.url)],
        ...validity(),
      });
      const below = await issuing.issue({
        serialNumber: '3001',
        extensions: [ocspAiaExtension(responder.url)],
        ...validity(),
      });
      const checker = compileRevocation({ ocsp: true });
      expectRevoked(await fetched(checker.check(pathOf(below, root), now())), 1);
      const leafScope = compileRevocation({ ocsp: true, scope: 'leaf' });
      expectUnknown(await fetched(leafScope.check(pathOf(below, root), now())), 0, true, 'could not be validated');
    });

    it('accepts a delegated responder that the CA certified for OCSP signing', async () => {
      const delegate = await root.issue({ subject: 'CN=ocsp signer', eku: [OCSP_SIGNING], ...validity() });
      const delegated = await startOcspResponder(root, { good: ['2001'], signer: delegate, nextUpdateMinutes: 10 });
      extra.push(delegated);
      const checker = compileRevocation({ ocsp: { responderUrl: delegated.url } });
      expectGood(await fetched(checker.check(chainOf(good), now())));
    });

    it('refuses answers signed by a certificate without the OCSPSigning EKU, or by another CA', async () => {
      const notSigner = await root.issue({ subject: 'CN=not an ocsp signer', eku: ['clientAuth'], ...validity() });
      const impostor = await startOcspResponder(root, { good: ['2001'], signer: notSigner });
      extra.push(impostor);
      const checker = compileRevocation({ ocsp: { responderUrl: impostor.url }, policy: 'soft' });
      const result = expectUnknown(
        await fetched(checker.check(chainOf(good), now())),
        0,
        true,
        'could not be validated',
      );
      // Not a network failure, but an answer not to be trusted: this query is not sent again
      // for retryAfterMs (default 5 s), and the answer holds until then.
      expect(result.validUntil).to.be.within(Date.now() + 4 * SECOND, Date.now() + 5 * SECOND);
      expect(checker.decide(result)).to.include({ ok: true, cacheUntil: result.validUntil });

      const otherCa = await createCA({ subject: 'CN=revocation test root' });
      const foreign = await startOcspResponder(otherCa, { good: ['2001'] });
      extra.push(foreign);
      expectUnknown(
        await fetched(compileRevocation({ ocsp: { responderUrl: foreign.url } }).check(chainOf(good), now())),
        0,
        true,
      );
    });

    it('answers without nextUpdate are cached for at most an hour', async () => {
      const plain = await startOcspResponder(root, { good: ['2001'] });
      extra.push(plain);
      const checker = compileRevocation({ ocsp: { responderUrl: plain.url } });
      const checkedAt = now();
      const result = expectGood(await fetched(checker.check(chainOf(good), checkedAt)));
      expect(result.validUntil).to.equal(checkedAt.getTime() + HOUR);
    });
  });
});
