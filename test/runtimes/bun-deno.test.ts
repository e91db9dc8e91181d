/**
 * The Bun and Deno recipes of packages/fetch/README.md and packages/hono/README.md, run for real:
 * the fixture apps under fixtures/ (the recipes' code, importing `@clientcert/fetch`,
 * `@clientcert/hono` and `hono` by name) are copied into a throwaway project whose node_modules
 * links the built packages, and served by the Bun and Deno binaries that the root's `bun` and
 * `deno` devDependencies install (their platform packages: pnpm does not run the wrappers' install
 * scripts). Each app runs twice: trusting the loopback peer the test connects from, and trusting
 * only 10.0.0.5, so that the same Envoy XFCC header must be ignored.
 *
 * Offline: Deno reads the project's node_modules (its package.json makes Deno resolve bare names
 * there) and caches under a temporary DENO_DIR; Bun never auto-installs (`--no-install`) and keeps
 * no transpiler cache in the home directory. Needs built packages (npm test builds first) and
 * linux-x64 (the platform packages resolved here).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createCA, envoyXfcc, type TestCertificate } from '../../packages/core/src/testkit/index.js';
import { type ClientResponse, request } from '../helpers/http-client.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('fixtures/', import.meta.url));
/** The proxy address the untrusted instances trust instead of the test's own 127.0.0.1. */
const ELSEWHERE = '10.0.0.5';
const APPS = ['fetch', 'hono'] as const;
const TRUST = { trusted: '127.0.0.1', untrusted: ELSEWHERE } as const;

type App = (typeof APPS)[number];
type Trust = keyof typeof TRUST;

interface Runtime {
  readonly name: 'Bun' | 'Deno';
  /** The fixtures' file name prefix. */
  readonly prefix: string;
  /** The root devDependency, and the linux-x64 package of it that holds the binary. */
  readonly wrapper: string;
  readonly platformPackage: string;
  readonly binary: string;
  /** The major version tested, and what `<binary> --version` prints first. */
  readonly major: number;
  readonly version: RegExp;
  /** The command line the README gives for the app, listening on 127.0.0.1 port 0. */
  args(file: string, app: App): string[];
}

const RUNTIMES: readonly Runtime[] = [
  {
    name: 'Bun',
    prefix: 'bun',
    wrapper: 'bun',
    platformPackage: '@oven/bun-linux-x64',
    binary: 'bin/bun',
    major: 1,
    version: /^1\.\d+\.\d+\s*$/,
    // The fixture's `export default` names the port and host; `--no-install`: never fetch a package.
    args: (file) => ['run', '--no-install', file],
  },
  {
    name: 'Deno',
    prefix: 'deno',
    wrapper: 'deno',
    platformPackage: '@deno/linux-x64-glibc',
    binary: 'deno',
    major: 2,
    version: /^deno 2\.\d+\.\d+ /,
    // The permissions the READMEs name: the environment (the core reads DEBUG), and the fetch recipe's CA file.
    args: (file, app) => [
      'serve',
      ...(app === 'fetch' ? ['--allow-read=clients-ca.pem'] : []),
      '--allow-env',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      file,
    ],
  },
];

/** The runtime's binary, from its platform package; a clear failure naming the package when it is missing. */
function binaryOf(runtime: Runtime): string {
  const fromRoot = createRequire(join(ROOT, 'package.json'));
  let wrapper: string;
  try {
    wrapper = fromRoot.resolve(`${runtime.wrapper}/package.json`);
  } catch {
    throw new Error(`${runtime.wrapper} is not installed: it is a root devDependency (pnpm install)`);
  }
  let dir: string;
  try {
    dir = dirname(createRequire(wrapper).resolve(`${runtime.platformPackage}/package.json`));
  } catch {
    throw new Error(
      `${runtime.platformPackage} is not installed: the ${runtime.name} binary for linux-x64, an optional dependency of ${runtime.wrapper} (pnpm install)`,
    );
  }
  const binary = join(dir, runtime.binary);
  if (!existsSync(binary)) throw new Error(`${runtime.platformPackage} has no ${runtime.binary}`);
  return binary;
}

/** A user's project: the fixtures, the CA file, and node_modules linking the built packages and hono. */
function makeProject(dir: string, caPem: string): void {
  const dependencies = { '@clientcert/fetch': '*', '@clientcert/hono': '*', hono: '*' };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ private: true, type: 'module', dependencies }));
  mkdirSync(join(dir, 'node_modules', '@clientcert'), { recursive: true });
  for (const pkg of ['fetch', 'hono']) {
    symlinkSync(join(ROOT, 'packages', pkg), join(dir, 'node_modules', '@clientcert', pkg), 'dir');
  }
  symlinkSync(realpathSync(join(ROOT, 'node_modules', 'hono')), join(dir, 'node_modules', 'hono'), 'dir');
  for (const file of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, file), join(dir, file));
  writeFileSync(join(dir, 'clients-ca.pem'), caPem);
}

/** The environment of a runtime: nothing written under the home directory, no update check. */
function runtimeEnv(dir: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DENO_DIR: join(dir, '.deno'),
    DENO_NO_UPDATE_CHECK: '1',
    // Bun otherwise caches the transpiled output of large files (the core's bundle) under the home directory.
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0',
    DO_NOT_TRACK: '1',
    NO_COLOR: '1',
    ...extra,
  };
  // Ours to the test's Node (tsx, the source condition), not the runtimes'.
  delete env.NODE_OPTIONS;
  return env;
}

/** Spawns the fixture and resolves with its base URL once it prints `http://127.0.0.1:<port>` on stdout. */
function serve(child: ChildProcess, what: string): Promise<string> {
  let stdout = '';
  let stderr = '';
  return new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const port = /http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
      if (port) resolve(`http://127.0.0.1:${port}`);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      reject(new Error(`${what} exited (${code ?? signal}) before listening:\n${stdout}\n${stderr}`));
    });
  });
}

function problemCode(response: ClientResponse): string {
  expect(response.status, response.text).to.equal(403);
  expect(response.headers['content-type']).to.equal('application/problem+json');
  return (JSON.parse(response.text) as { code: string }).code;
}

/** What the hooks make and the tests read. */
interface Suite {
  work: string;
  alice: TestCertificate;
  mallory: TestCertificate;
  readonly binaries: Map<Runtime, string>;
  /** Base URLs by `<runtime prefix>-<app>-<trust>`. */
  readonly urls: Map<string, string>;
  readonly children: ChildProcess[];
}

/** Every instance at once: each one's start-up is mostly its runtime loading modules. */
async function startAll(suite: Suite, caPem: string): Promise<void> {
  const starts = RUNTIMES.flatMap((runtime) =>
    APPS.flatMap((app) =>
      (Object.keys(TRUST) as Trust[]).map(async (trust) => {
        const key = `${runtime.prefix}-${app}-${trust}`;
        const child = spawn(suite.binaries.get(runtime)!, runtime.args(`${runtime.prefix}-${app}.ts`, app), {
          cwd: suite.work,
          env: runtimeEnv(suite.work, { CLIENTS_CA: caPem, TRUST_PROXY: TRUST[trust] }),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        suite.children.push(child);
        suite.urls.set(key, await serve(child, key));
      }),
    ),
  );
  await Promise.all(starts);
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }),
  );
}

/** The four answers of one recipe on one runtime. */
function recipeTests(suite: Suite, runtime: Runtime, app: App): void {
  const url = (trust: Trust): string => suite.urls.get(`${runtime.prefix}-${app}-${trust}`)!;
  const xfcc = (certificate: TestCertificate) => ({ 'x-forwarded-client-cert': envoyXfcc(certificate) });

  describe(`${app} recipe (${runtime.prefix}-${app}.ts)`, () => {
    it("admits alice's Envoy XFCC from a peer in trustProxy: 200 with her subject", async () => {
      const response = await request({ url: url('trusted'), path: '/whoami', headers: xfcc(suite.alice) });
      expect(response.status, response.text).to.equal(200);
      expect(JSON.parse(response.text)).to.deep.equal({ subject: 'CN=alice,O=Acme' });
    });

    it('answers a request without the header with 403 client_certificate_required', async () => {
      const response = await request({ url: url('trusted'), path: '/whoami' });
      expect(problemCode(response)).to.equal('client_certificate_required');
    });

    it('refuses mallory (the same names under another CA) with 403 client_certificate_untrusted', async () => {
      const response = await request({ url: url('trusted'), path: '/whoami', headers: xfcc(suite.mallory) });
      expect(problemCode(response)).to.equal('client_certificate_untrusted');
    });

    it(`ignores the header from a peer outside trustProxy (${ELSEWHERE} only): 403 client_certificate_required`, async () => {
      const response = await request({ url: url('untrusted'), path: '/whoami', headers: xfcc(suite.alice) });
      expect(problemCode(response)).to.equal('client_certificate_required');
    });
  });
}

describe('Bun and Deno: the READMEs’ recipes on the built packages', function () {
  this.timeout(120_000);
  const suite = { binaries: new Map(), urls: new Map(), children: [] } as unknown as Suite;

  before(async function () {
    if (process.platform !== 'linux' || process.arch !== 'x64') this.skip();
    for (const pkg of ['core', 'fetch', 'hono']) {
      if (!existsSync(join(ROOT, 'packages', pkg, 'dist', 'index.js'))) {
        throw new Error('packages are not built: run `npm test` (it builds first) or `pnpm build`');
      }
    }
    for (const runtime of RUNTIMES) suite.binaries.set(runtime, binaryOf(runtime));
    const [root, elsewhere] = await Promise.all([
      createCA({ subject: 'CN=Clients CA' }),
      createCA({ subject: 'CN=Clients CA' }),
    ]);
    suite.alice = await root.issue({ subject: 'CN=alice,O=Acme' });
    suite.mallory = await elsewhere.issue({ subject: 'CN=alice,O=Acme' });
    suite.work = mkdtempSync(join(tmpdir(), 'clientcert-runtimes-'));
    makeProject(suite.work, root.cert);
    await startAll(suite, root.cert);
  });

  after(async () => {
    await stopAll(suite.children);
    if (suite.work) rmSync(suite.work, { recursive: true, force: true });
  });

  for (const runtime of RUNTIMES) {
    describe(runtime.name, () => {
      it(`is ${runtime.name} ${runtime.major}.x, the major version the READMEs name`, () => {
        const version = execFileSync(suite.binaries.get(runtime)!, ['--version'], {
          env: runtimeEnv(suite.work, {}),
          encoding: 'utf8',
        });
        expect(version).to.match(runtime.version);
      });
      for (const app of APPS) recipeTests(suite, runtime, app);
    });
  }
});
