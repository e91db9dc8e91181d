/**
 * The root README's quick start, followed as written in an empty directory: the tarballs packed
 * as "Before the packages are on the registry" says, installed with its npm line, certificates
 * from `npx clientcert gen`, the app (the TLS block and the express block, saved as app.mjs)
 * started with `node app.mjs`, and the curl lines — which must print what the README shows. Every
 * command comes from the README, so a change there is a change here.
 *
 * What the test does differently, and only this: the clone is a link to this working tree (named
 * as the clone would be), `npm run setup` is not run again (npm test has just built; a build
 * older than the sources fails here naming the fix), npm installs share the cache with
 * --prefer-offline, and the app's fixed port is replaced by a free one, in the app and in curl.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { childEnv } from './packaging/consumers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const README = readFileSync(join(root, 'README.md'), 'utf8');
/** What the quick start installs from tarballs: the ones its npm line names. */
const BUILT = ['core', 'express', 'cli'];
const NPM_FLAGS = '--prefer-offline --no-audit --no-fund --loglevel=error';

/** The text of a section: from its heading to the next heading of the same or a higher level. */
function section(heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = README.indexOf(`\n${heading}\n`);
  expect(start, `README.md has the section "${heading}"`).to.be.at.least(0);
  const rest = README.slice(start + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/** The fenced blocks of one language in a piece of markdown, in order. */
function blocks(text: string, language: string): string[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].filter((m) => m[1] === language).map((m) => m[2]!);
}

function lines(block: string): string[] {
  return block.split('\n').filter((line) => line.trim() !== '');
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A shell script run by bash, stopping at the first command that fails. */
function bash(script: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', script.join('\n')], {
      cwd,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function ok(result: Run, what: string): Run {
  expect(result.status, `${what}\n${result.stdout}\n${result.stderr}`).to.equal(0);
  return result;
}

function newest(dir: string): number {
  let time = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    time = Math.max(time, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return time;
}

/** The README's `npm run setup` has run since the sources last changed. */
function expectBuilt(): void {
  for (const pkg of BUILT) {
    const built = join(root, 'packages', pkg, 'dist', pkg === 'cli' ? 'cli.js' : 'index.js');
    const fresh = existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'packages', pkg, 'src'));
    if (!fresh) throw new Error(`packages/${pkg}/dist is missing or older than its src: run \`npm run setup\` first`);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Output of a child process as it arrives, and a way to wait for a piece of it. */
function watch(child: ChildProcess): { text: () => string; until: (pattern: RegExp) => Promise<void> } {
  let text = '';
  const waiting = new Set<() => void>();
  const onData = (chunk: string) => {
    text += chunk;
    for (const check of waiting) check();
  };
  child.stdout!.setEncoding('utf8').on('data', onData);
  child.stderr!.setEncoding('utf8').on('data', onData);
  return {
    text: () => text,
    until: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(text)) return;
          waiting.delete(check);
          resolve();
        };
        waiting.add(check);
        child.once('exit', (code) => reject(new Error(`the app exited (${code}) before ${pattern}:\n${text}`)));
        check();
      }),
  };
}

describe('the root README quick start, followed literally from packed tarballs', function () {
  this.timeout(90_000);
  let work: string;
  let app: ChildProcess | undefined;

  before(() => {
    expectBuilt();
    beforeRegistry = section('### Before the packages are on the registry');
    quickStart = section('## Quick start');
    callIt = section('### Call it');
    work = mkdtempSync(join(tmpdir(), 'clientcert-quickstart-'));
  });

  after(() => {
    app?.kill();
    if (work && !process.env.KEEP_QUICKSTART) rmSync(work, { recursive: true, force: true });
  });

  let beforeRegistry: string;
  let quickStart: string;
  let callIt: string;

  it('packs the packages as the README says, beside the clone', async () => {
    const [clone, setup, ...rest] = lines(blocks(beforeRegistry, 'sh')[0] ?? '');
    const url = /^git clone (\S+)$/.exec(clone ?? '');
    expect(url, 'the first line clones the repository').to.not.equal(null);
    expect(setup, 'then `cd` into it').to.match(/^cd clientcert$/);
    expect(rest[0], 'then set-up').to.match(/^npm run setup\b/);
    symlinkSync(root, join(work, /([^/]+?)(\.git)?$/.exec(url![1]!)![1]!));
    ok(await bash([setup!, ...rest.slice(1)], work), 'the pack lines');
    const packs = readdirSync(join(work, 'packs')).sort();
    for (const pkg of BUILT)
      expect(
        packs.some((f) => f.startsWith(`clientcert-${pkg}-`)),
        pkg,
      ).to.equal(true);
  });

  it('installs the tarballs and writes certificates with `npx clientcert gen`; the files are the ones the README names', async () => {
    const [tarballs] = lines(blocks(beforeRegistry, 'sh')[1] ?? '');
    const steps = lines(blocks(quickStart, 'sh')[0] ?? '');
    const install = steps.findIndex((line) => line.startsWith('npm install '));
    expect(install, 'the quick start has an npm install line').to.be.at.least(0);
    // The registry line and the tarballs line install the same packages (core comes with the adapter).
    const named = (line: string) =>
      [...line.matchAll(/(?:@clientcert\/|clientcert-)(\w+)/g)]
        .map((m) => m[1]!)
        .filter((n, i, all) => all.indexOf(n) === i);
    expect([...named(steps[install]!), 'core'].sort()).to.deep.equal(named(tarballs!).sort());
    expect(named(tarballs!).sort()).to.deep.equal([...BUILT].sort());
    steps[install] = `${tarballs} ${NPM_FLAGS}`;
    const result = ok(await bash(steps, work), 'the quick start');

    // The files the README says gen writes are the files it wrote, and the ones the app reads.
    const listed = [...result.stdout.matchAll(/^ {2}(\S+\.(?:pem|key))$/gm)].map((m) => m[1]!);
    const described = [...quickStart.matchAll(/`((?:clients-ca|server|client)\.(?:pem|key))`/g)].map((m) => m[1]!);
    expect([...new Set(described)].sort(), 'the files the README names').to.deep.equal([...listed].sort());
    for (const file of listed) expect(existsSync(join(work, 'hello-mtls', 'certs', file)), file).to.equal(true);
  });

  it('starts the app (the TLS block, then the express block): curl with the client certificate prints its subject; without one, 403 and one log line; a forged XFCC header is refused', async () => {
    const [tls] = blocks(quickStart, 'js');
    const [express] = blocks(section('### With express'), 'js');
    const [start] = lines(blocks(callIt, 'sh')[0] ?? '');
    const [curl] = lines(blocks(callIt, 'sh')[1] ?? '');
    const [printed] = blocks(callIt, 'json');
    expect(start).to.equal('node app.mjs');
    expect(express).to.include('8443');
    expect(curl).to.include('--cert certs/client.pem --key certs/client.key').and.include('https://localhost:8443/');
    for (const file of (tls! + express!).match(/certs\/[\w.-]+/g) ?? []) {
      expect(existsSync(join(work, 'hello-mtls', file)), `${file}, which the app reads`).to.equal(true);
    }

    const port = String(await freePort());
    const cwd = join(work, 'hello-mtls');
    writeFileSync(join(cwd, 'app.mjs'), `${tls}${express!.replaceAll('8443', port)}`);
    app = spawn('bash', ['-c', `exec ${start}`], { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const output = watch(app);
    await output.until(new RegExp(`listening on https://localhost:${port}`));

    const answer = ok(await bash([curl!.replaceAll('8443', port)], cwd), 'curl with the certificate');
    expect(answer.stdout).to.equal(printed!.trim());
    expect(JSON.parse(answer.stdout)).to.deep.equal({ subject: 'CN=alice,O=Acme' });

    // Without the certificate: a problem response, and one line in the app's log saying why.
    const [anonymous] = lines(blocks(callIt, 'sh')[2] ?? '');
    expect(anonymous).to.not.include('--cert');
    const refused = ok(await bash([anonymous!.replaceAll('8443', port)], cwd), 'curl without a certificate');
    expect(JSON.parse(refused.stdout)).to.deep.include({ status: 403, code: 'client_certificate_required' });
    await output.until(/rejected a request: client_certificate_required/);
    const logged = output
      .text()
      .split('\n')
      .filter((line) => line.includes('client_certificate_required'));
    expect(logged, output.text()).to.have.length(1);

    // An attack: over TLS without a certificate, alice's certificate in an XFCC header from
    // loopback, a peer the default trustProxy names. The header is not alice: a certificate header
    // on a TLS connection means a re-encrypting proxy nobody named, refused until it is named.
    const alice = encodeURIComponent(readFileSync(join(cwd, 'certs/client.pem'), 'utf8'));
    const forged = ok(
      await bash([`${anonymous!.replaceAll('8443', port)} -H 'x-forwarded-client-cert: Cert="${alice}"'`], cwd),
      'curl with a forged XFCC header',
    );
    expect(JSON.parse(forged.stdout)).to.deep.include({ status: 403, code: 'client_certificate_untrusted' });
    await output.until(/rejected a request: client_certificate_untrusted at tls\.proxy/);
  });
});
