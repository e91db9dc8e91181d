/**
 * packages/fetch/README.md's Next.js recipe run on Next.js 16: the app in test/runtimes/next-app
 * (the route handler app/whoami/route.js, and proxy.js, Next 16's middleware, guarding /guarded/*;
 * JavaScript, as route.js says why) is built with `next build` and served with
 * `next start --hostname 127.0.0.1`, as the recipe deploys it; the test plays the sidecar in front
 * of it, sending Envoy's XFCC header.
 *
 * The app imports @clientcert/fetch by name, as users do: the test links it into the fixture's
 * node_modules (git-ignored) from packages/fetch, whose exports give Next the built dist, so the
 * packages must be built first. The build writes test/runtimes/next-app/.next (git-ignored); Next
 * runs in a temporary working directory, where it keeps its telemetry settings (disabled).
 */

import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createCA, envoyXfcc } from '../../packages/core/src/testkit/index.js';
import { request } from '../helpers/http-client.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const appDir = fileURLToPath(new URL('next-app', import.meta.url));
const requireFromRoot = createRequire(join(root, 'package.json'));
const nextPackage = requireFromRoot('next/package.json') as { version: string };
const nextBin = join(requireFromRoot.resolve('next/package.json'), '..', 'dist', 'bin', 'next');
const XFCC = 'x-forwarded-client-cert';

/** A running `next` and all it printed: for failure messages and the lines waited for. */
interface Started {
  readonly child: ChildProcess;
  output(): string;
}

function launch(args: string[], cwd: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, [nextBin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return { child, output: () => output };
}

function finished(run: Started): Promise<void> {
  return new Promise((resolve, reject) => {
    run.child.on('error', reject);
    run.child.on('close', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`next exited with ${code ?? signal}:\n${run.output()}`)),
    );
  });
}

/** The URL `next start` prints once it listens (`- Local: http://127.0.0.1:<port>`). */
function listening(run: Started): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const url = /Local:\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(run.output())?.[1];
      if (url && /Ready in/.test(run.output())) resolve(url);
    };
    run.child.stdout?.on('data', check);
    run.child.on('close', (code, signal) =>
      reject(new Error(`next start exited with ${code ?? signal}:\n${run.output()}`)),
    );
  });
}

/** node_modules/@clientcert/fetch in the fixture, linked to the workspace package as an install would place it. */
function linkPackage(): void {
  const link = join(appDir, 'node_modules', '@clientcert', 'fetch');
  const target = relative(join(link, '..'), join(root, 'packages', 'fetch'));
  if (existsSync(link) && lstatSync(link).isSymbolicLink() && readlinkSync(link) === target) return;
  rmSync(link, { recursive: true, force: true });
  mkdirSync(join(link, '..'), { recursive: true });
  symlinkSync(target, link, 'dir');
}

describe('runtimes: Next.js route handler and proxy (packages/fetch README recipe)', function () {
  this.timeout(180_000);
  let work: string;
  let server: Started | undefined;
  let url: string;
  let alice: string;
  let mallory: string;

  before(async function () {
    this.timeout(180_000);
    for (const pkg of ['core', 'fetch']) {
      if (!existsSync(join(root, 'packages', pkg, 'dist', 'index.js'))) {
        throw new Error('packages are not built: run `npm test` (it builds first) or `pnpm build`');
      }
    }
    work = mkdtempSync(join(tmpdir(), 'clientcert-next-'));
    const ca = await createCA();
    const other = await createCA();
    alice = envoyXfcc(await ca.issue({ subject: 'CN=alice,O=Acme' }));
    mallory = envoyXfcc(await other.issue({ subject: 'CN=alice,O=Acme' }));
    writeFileSync(join(work, 'clients-ca.pem'), ca.cert);
    linkPackage();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      // Next keeps its telemetry preferences under the working directory or the XDG config home.
      XDG_CONFIG_HOME: work,
      CLIENTS_CA_FILE: join(work, 'clients-ca.pem'),
    };
    delete env.NODE_OPTIONS;
    delete env.NODE_ENV;
    const build = launch(['build', appDir], work, env);
    await finished(build);
    server = launch(['start', '--hostname', '127.0.0.1', '--port', '0', appDir], work, env);
    url = await listening(server);
  });

  after(async () => {
    const child = server?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs on Next.js 16', () => {
    expect(nextPackage.version.split('.')[0]).to.equal('16');
    expect(server?.output()).to.include(`Next.js ${nextPackage.version}`);
  });

  for (const [where, path] of [
    ['route handler', '/whoami'],
    ['proxy', '/guarded/whoami'],
  ] as const) {
    describe(where, () => {
      it("admits alice's XFCC header with her subject", async () => {
        const response = await request({ url, path, headers: { [XFCC]: alice } });
        expect(response.status).to.equal(200);
        expect(JSON.parse(response.text)).to.deep.equal({ subject: 'CN=alice,O=Acme' });
      });

      it('refuses a request without the header: 403 client_certificate_required', async () => {
        const response = await request({ url, path });
        expect(response.status).to.equal(403);
        expect(response.headers['content-type']).to.equal('application/problem+json');
        expect(JSON.parse(response.text)).to.include({ status: 403, code: 'client_certificate_required' });
      });

      it('refuses mallory (the same names, another CA): 403 client_certificate_untrusted', async () => {
        const response = await request({ url, path, headers: { [XFCC]: mallory } });
        expect(response.status).to.equal(403);
        expect(response.headers['content-type']).to.equal('application/problem+json');
        expect(JSON.parse(response.text)).to.include({ status: 403, code: 'client_certificate_untrusted' });
      });

      if (where === 'proxy') {
        it("hands the route the admitted subject, not a caller's own x-client-subject", async () => {
          const headers = { [XFCC]: alice, 'x-client-subject': 'CN=root' };
          const response = await request({ url, path, headers });
          expect(response.status).to.equal(200);
          expect(JSON.parse(response.text)).to.deep.equal({ subject: 'CN=alice,O=Acme' });
        });
      }
    });
  }
});
