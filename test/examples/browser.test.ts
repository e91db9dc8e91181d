/**
 * A real browser: headless Chromium — Debian's `chromium` package — opens the express
 * example's "who am I" page (examples/express, `node server.mjs`, port 0, HTTPS with
 * clientCert({ mode: 'require' })).
 *
 * How Chromium is made to present a client certificate without anyone clicking:
 *   - its NSS database: Chromium on Linux reads `$HOME/.pki/nssdb`, so each browser runs with HOME
 *     set to a fresh temporary directory whose database (certutil) trusts the test CA for TLS
 *     servers ("C,,") and, for the browser with a certificate, holds alice's certificate and key
 *     (a PKCS#12 made by openssl, imported by pk12util);
 *   - the AutoSelectCertificateForUrls policy: a uniquely named file in Chromium's managed policy
 *     directory (/etc/chromium/policies/managed), for https://localhost:<port> only, removed
 *     afterwards. Without it, Chromium would ask the user to pick a certificate.
 * Then:
 *   - with the certificate, the page renders 200 with alice's subject, SANs and SHA-256
 *     fingerprint, read from the DOM;
 *   - without one (an empty database, the same policy), the browser receives the problem response:
 *     403, application/problem+json, `code` client_certificate_required, as Chromium rendered it.
 *
 * chromium, certutil/pk12util (libnss3-tools) and openssl missing, or the policy directory not
 * writable: the block is skipped on a developer machine and fails in CI (`CI` set), where `.ci/run`
 * installs the packages and runs as root.
 */

import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { type Browser, chromium } from 'playwright-core';
import type { TestCertificate } from '../../packages/core/src/testkit/index.js';
import { type RunningExample, startExample, tempFiles } from './example-process.js';
import { exampleFixtures, type Fixtures } from './fixtures.js';

const run = promisify(execFile);

/** Debian's chromium; CHROMIUM_PATH to use another. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where Debian's chromium reads mandatory policies. */
const POLICY_DIR = process.env.CHROMIUM_POLICY_DIR ?? '/etc/chromium/policies/managed';

function findExecutable(file: string): string | null {
  const candidates = file.includes('/')
    ? [file]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((dir) => path.join(dir, file));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Skip locally, fail in CI: the same rule as the interop tests' proxies. */
function unavailable(context: Mocha.Context, message: string): never {
  if (process.env.CI) throw new Error(`browser test: ${message}; CI must provide it`);
  console.warn(`      skipping the browser test: ${message}`);
  context.skip();
}

/** A HOME whose NSS database trusts `ca` for TLS servers and, if given, holds `client` with its key. */
async function browserHome(ca: string, client?: TestCertificate): Promise<string> {
  const home = await mkdtemp(path.join(tmpdir(), 'clientcert-browser-'));
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  await mkdir(path.join(home, '.pki', 'nssdb'), { recursive: true });
  await run('certutil', ['-N', '-d', db, '--empty-password']);
  await writeFile(path.join(home, 'ca.pem'), ca);
  await run('certutil', [
    '-A',
    '-d',
    db,
    '-n',
    'clientcert test CA',
    '-t',
    'C,,',
    '-a',
    '-i',
    path.join(home, 'ca.pem'),
  ]);
  if (client) {
    await writeFile(path.join(home, 'client.pem'), client.cert);
    await writeFile(path.join(home, 'client.key'), client.key, { mode: 0o600 });
    const p12 = path.join(home, 'client.p12');
    await run('openssl', [
      'pkcs12',
      '-export',
      '-in',
      path.join(home, 'client.pem'),
      '-inkey',
      path.join(home, 'client.key'),
      '-name',
      'alice',
      '-out',
      p12,
      '-passout',
      'pass:test',
    ]);
    await run('pk12util', ['-i', p12, '-d', db, '-W', 'test']);
  }
  return home;
}

describe('examples/express in a real browser (headless Chromium, NSS client certificate)', function () {
  this.timeout(60_000);
  let f: Fixtures;
  let executablePath: string;
  let files: Awaited<ReturnType<typeof tempFiles>> | undefined;
  let example: RunningExample | undefined;
  let url: string;
  let policyFile: string | undefined;
  const homes: string[] = [];

  before(async function () {
    const found = findExecutable(CHROMIUM);
    if (!found) unavailable(this, `${CHROMIUM} is not installed: apt-get install chromium (or set CHROMIUM_PATH)`);
    executablePath = found;
    for (const tool of ['certutil', 'pk12util', 'openssl']) {
      if (!findExecutable(tool))
        unavailable(
          this,
          `${tool} is not installed: apt-get install ${tool === 'openssl' ? 'openssl' : 'libnss3-tools'}`,
        );
    }
    f = await exampleFixtures();
    files = await tempFiles({ 'server.pem': f.server.cert, 'server.key': f.server.key, 'clients-ca.pem': f.root.cert });
    example = await startExample('express', { CERT_DIR: files.dir });
    url = `https://localhost:${example.port}/`;

    const policy = {
      AutoSelectCertificateForUrls: [JSON.stringify({ pattern: `https://localhost:${example.port}`, filter: {} })],
    };
    const file = path.join(POLICY_DIR, `clientcert-test-${process.pid}-${example.port}.json`);
    try {
      await mkdir(POLICY_DIR, { recursive: true });
      await writeFile(file, JSON.stringify(policy));
      policyFile = file;
    } catch (error) {
      unavailable(
        this,
        `cannot write the AutoSelectCertificateForUrls policy to ${POLICY_DIR} (${(error as Error).message}): run as root`,
      );
    }
  });

  after(async () => {
    if (policyFile) await rm(policyFile, { force: true });
    await example?.stop();
    await files?.remove();
    await Promise.all(homes.map((home) => rm(home, { recursive: true, force: true })));
  });

  async function withBrowser<T>(
    client: TestCertificate | undefined,
    use: (browser: Browser) => Promise<T>,
  ): Promise<T> {
    const home = await browserHome(f.root.cert, client);
    homes.push(home);
    const browser = await chromium.launch({
      executablePath,
      headless: true,
      // As root (CI) Chromium refuses to start with its sandbox.
      args: ['--no-sandbox'],
      env: { ...process.env, HOME: home },
      timeout: 20_000,
    });
    try {
      return await use(browser);
    } finally {
      await browser.close();
    }
  }

  it('with a client certificate in its NSS database: the page shows its subject, SANs and fingerprint', async () => {
    await withBrowser(f.alice, async (browser) => {
      const page = await browser.newPage();
      const response = await page.goto(url);
      expect(response, 'a response').not.to.equal(null);
      expect(response!.status(), await response!.text()).to.equal(200);
      expect(response!.headers()['content-type']).to.match(/^text\/html/);
      const text = (selector: string): Promise<string | null> => page.textContent(selector);
      expect(await page.title()).to.equal('Who am I');
      expect(await text('#greeting')).to.equal('Hello, alice');
      expect(await text('#subject')).to.equal('CN=alice,OU=payments,O=Acme');
      expect(await text('#issuer')).to.equal('CN=Examples Root CA,O=clientcert');
      expect(await text('#san')).to.equal(
        'dns:alice.example.org, uri:spiffe://example.org/ns/pay/sa/alice, email:alice@example.org',
      );
      expect(await text('#sha256')).to.equal(f.alice.sha256);
      expect(await text('#serial')).to.equal(f.alice.x509.serialNumber);
      expect(await text('#verified-by')).to.equal('tls');
    });
  });

  it('without a client certificate: the browser gets the 403 problem response, client_certificate_required', async () => {
    await withBrowser(undefined, async (browser) => {
      const page = await browser.newPage();
      const response = await page.goto(url);
      expect(response, 'a response').not.to.equal(null);
      expect(response!.status()).to.equal(403);
      expect(response!.headers()['content-type']).to.match(/^application\/problem\+json/);
      // What Chromium rendered: the problem document as text.
      const shown = JSON.parse((await page.textContent('body')) ?? '') as Record<string, unknown>;
      expect(shown).to.include({ status: 403, code: 'client_certificate_required' });
      expect(shown.type).to.equal('urn:clientcert:problem:client_certificate_required');
    });
  });
});
