/**
 * The packages as users meet them: packed with pnpm (which rewrites `workspace:^` ranges and
 * applies `publishConfig`), linted with publint and arethetypeswrong, and installed with plain npm
 * into throwaway projects — CommonJS, ESM, and TypeScript with node16, nodenext and bundler
 * resolution (`strict`, `skipLibCheck: false`) — that start an express, a koa and a fastify app and
 * make requests. Two install roots: the current framework majors (express 5, koa 3, fastify 5) and
 * the previous ones (express 4, koa 2, fastify 4); npm itself checks the adapters' peer ranges
 * against each.
 *
 * The current root installs every package, and each of its consumers also uses the others as
 * their READMEs show: @clientcert/fetch on Web Requests, @clientcert/hono on a Hono 4 app,
 * @clientcert/aws-lambda on API Gateway HTTP API events, @clientcert/passport's strategy on express
 * with Passport, and @clientcert/nestjs's module, guard and `@ClientCert()` on a Nest app
 * (platform-express), each admitting a caller with a certificate and refusing one without. The
 * agent and cli are loaded by the JavaScript consumers.
 *
 * Needs built packages (npm test builds first), npm, and the npm registry (or a warm npm cache:
 * installs use --prefer-offline).
 */

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { PACKAGES } from './helpers/packages.js';
import { consumerFiles, entryOf, type InstallRoot } from './packaging/consumers.js';
import { INTEGRATIONS } from './packaging/integrations.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const ADAPTERS = ['core', 'express', 'koa', 'fastify'] as const;
/** The versions npm picks for the integrations' frameworks: within the packages' peer ranges. */
const INTEGRATION_VERSIONS: Record<string, RegExp> = {
  hono: /^4\./,
  passport: /^0\.[67]\./,
  '@nestjs/core': /^1[01]\./,
};
const bin = (name: string): string => join(root, 'node_modules', '.bin', name);
const tscPath = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');

const ROOTS: InstallRoot[] = [
  {
    name: 'latest',
    tools: true,
    frameworks: {
      express: '^5.0.0',
      koa: '^3.0.0',
      fastify: '^5.0.0',
      '@types/express': '^5.0.0',
      '@types/koa': '^3.0.0',
      '@types/node': '^20.11.0',
      // The integrations' frameworks, in the packages' peer ranges (platform-express in @nestjs/core's).
      hono: '^4.0.0',
      passport: '^0.6.0 || ^0.7.0',
      '@types/passport': '^1.0.0',
      '@nestjs/common': '^10.0.0 || ^11.0.0',
      '@nestjs/core': '^10.0.0 || ^11.0.0',
      '@nestjs/platform-express': '^10.0.0 || ^11.0.0',
      'reflect-metadata': '^0.1.13 || ^0.2.0',
      rxjs: '^7.0.0',
    },
    consumers: [
      { name: 'cjs', type: 'commonjs', tools: true, integrations: true },
      { name: 'esm', type: 'module', tools: true, integrations: true },
      {
        name: 'ts-node16-cjs',
        type: 'commonjs',
        ts: { module: 'node16', moduleResolution: 'node16' },
        integrations: true,
      },
      {
        name: 'ts-nodenext-esm',
        type: 'module',
        ts: { module: 'nodenext', moduleResolution: 'nodenext' },
        augment: '@clientcert/express',
        integrations: true,
      },
      { name: 'ts-bundler', type: 'module', ts: { module: 'esnext', moduleResolution: 'bundler' }, integrations: true },
    ],
  },
  {
    name: 'previous',
    tools: false,
    frameworks: {
      express: '^4.17.0',
      koa: '^2.13.0',
      fastify: '^4.0.0',
      '@types/express': '^4.17.0',
      '@types/koa': '^2.13.0',
      '@types/node': '^20.11.0',
    },
    consumers: [
      { name: 'cjs', type: 'commonjs' },
      { name: 'esm', type: 'module' },
      { name: 'ts-nodenext-esm', type: 'module', ts: { module: 'nodenext', moduleResolution: 'nodenext' } },
    ],
  },
];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child npm: without the variables of the pnpm/npm script running us. */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(lifecycle_|package_|execpath|node_execpath|command|config_user_agent)/i.test(key)) delete env[key];
  }
  return env;
}

function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * tsc's errors, except those located in other packages' declarations: the consumers compile with
 * `skipLibCheck: false` so that our own .d.ts/.d.cts files are checked, and a third party's
 * declaration bug (say @types/koa against a newer content-disposition) is not ours to fail on.
 */
function theirsExcluded(result: Run): string[] {
  return `${result.stdout}\n${result.stderr}`
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    .filter((line) => !/^[^(]*node_modules\//.test(line) || /^[^(]*node_modules\/@clientcert\//.test(line));
}

/** At most `limit` at once (two cores in CI). */
async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await task(item);
    }),
  );
}

function write(dir: string, path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

describe('packed packages installed into fresh projects (npm, CommonJS, ESM, TypeScript)', function () {
  this.timeout(300_000);
  let work: string;
  const tarballs: Record<string, string> = {};
  const outputs = new Map<string, Run>();

  before(async function () {
    this.timeout(300_000);
    if (!existsSync(join(root, 'packages/core/dist/index.cjs'))) {
      throw new Error('packages are not built: run `npm test` (it builds first) or `pnpm build`');
    }
    work = mkdtempSync(join(tmpdir(), 'clientcert-consumers-'));
    const packs = join(work, 'tarballs');
    mkdirSync(packs);
    for (const pkg of PACKAGES) {
      ok(
        await run(
          process.execPath,
          ['scripts/pnpm.mjs', '--filter', `@clientcert/${pkg}`, 'pack', '--pack-destination', packs],
          root,
        ),
        `pack ${pkg}`,
      );
    }
    for (const file of readdirSync(packs)) {
      const match = /^clientcert-([\w-]+?)-\d/.exec(file);
      if (match?.[1]) tarballs[match[1]] = join(packs, file);
    }
    expect(Object.keys(tarballs).sort()).to.deep.equal([...PACKAGES].sort());

    for (const installRoot of ROOTS) {
      const dir = join(work, installRoot.name);
      const ours = installRoot.tools ? PACKAGES : ADAPTERS;
      const dependencies: Record<string, string> = { ...installRoot.frameworks };
      for (const pkg of ours) dependencies[`@clientcert/${pkg}`] = `file:${tarballs[pkg]}`;
      write(
        dir,
        'package.json',
        JSON.stringify(
          {
            name: `clientcert-consumers-${installRoot.name}`,
            private: true,
            dependencies,
            // The adapters' `@clientcert/core@^0.1.0` must be the packed one, never the registry's.
            overrides: { '@clientcert/core': '$@clientcert/core' },
          },
          null,
          2,
        ),
      );
      for (const consumer of installRoot.consumers) {
        for (const file of consumerFiles(consumer)) write(join(dir, consumer.name), file.path, file.text);
      }
    }
    // Both roots at once: the work is mostly waiting on the cache and the network.
    await Promise.all(
      ROOTS.map(async (installRoot) => {
        ok(
          await run(
            'npm',
            ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'],
            join(work, installRoot.name),
          ),
          `npm install (${installRoot.name})`,
        );
      }),
    );

    // Build the TypeScript consumers and run every consumer, two at a time.
    const jobs = ROOTS.flatMap((r) => r.consumers.map((c) => ({ root: r, consumer: c })));
    await pool(jobs, 2, async ({ root: r, consumer }) => {
      const dir = join(work, r.name, consumer.name);
      const key = `${r.name}/${consumer.name}`;
      if (consumer.ts) {
        const built = await run(process.execPath, [tscPath, '-p', '.'], dir);
        const ours = theirsExcluded(built);
        if (ours.length > 0 || !existsSync(join(dir, entryOf(consumer)))) {
          outputs.set(key, {
            status: built.status ?? 1,
            stdout: '',
            stderr: `tsc failed:\n${built.stdout}${built.stderr}`,
          });
          return;
        }
      }
      outputs.set(key, await run(process.execPath, [entryOf(consumer)], dir));
    });
  });

  after(() => {
    if (work && !process.env.KEEP_CONSUMERS) rmSync(work, { recursive: true, force: true });
  });

  describe('the tarballs', () => {
    for (const pkg of PACKAGES) {
      it(`@clientcert/${pkg}: publint finds nothing, not even a suggestion`, async () => {
        const result = ok(
          await run(bin('publint'), ['run', tarballs[pkg]!, '--strict', '--level', 'suggestion'], work),
          'publint',
        );
        expect(result.stdout).to.include('All good');
      });

      it(`@clientcert/${pkg}: arethetypeswrong finds no problem in any resolution mode (node10, node16 CJS/ESM, bundler)`, async () => {
        ok(await run(bin('attw'), [tarballs[pkg]!, '--format', 'ascii', '--no-emoji', '--no-color'], work), 'attw');
      });
    }

    it('name only published files and registry ranges, not workspace ranges or sources', async () => {
      for (const pkg of PACKAGES) {
        const list = ok(await run('tar', ['-tzf', tarballs[pkg]!], work), 'tar')
          .stdout.split('\n')
          .filter(Boolean);
        expect(
          list.filter((f) => !/^package\/(dist\/|README\.md$|CHANGELOG\.md$|package\.json$)/.test(f)),
          pkg,
        ).to.deep.equal([]);
        const manifest = JSON.parse(
          ok(await run('tar', ['-xzOf', tarballs[pkg]!, 'package/package.json'], work), 'tar').stdout,
        ) as Record<string, unknown>;
        const text = JSON.stringify(manifest);
        expect(text, pkg).not.to.include('workspace:');
        expect(text, pkg).not.to.include('./src/');
        expect(manifest.engines, pkg).to.deep.equal({ node: '>=20.11' });
        expect(manifest.sideEffects, pkg).to.not.equal(undefined);
        // Every file the manifest points at is in the tarball.
        const targets = text.match(/"\.\/dist\/[^"]+"/g) ?? [];
        for (const target of targets) expect(list, `${pkg} ${target}`).to.include(`package/${target.slice(3, -1)}`);
      }
    });
  });

  for (const installRoot of ROOTS) {
    const majors =
      installRoot.name === 'latest' ? { express: 5, koa: 3, fastify: 5 } : { express: 4, koa: 2, fastify: 4 };
    describe(`${installRoot.name} majors: express ${majors.express}, koa ${majors.koa}, fastify ${majors.fastify}`, () => {
      for (const consumer of installRoot.consumers) {
        const what = consumer.ts
          ? `TypeScript ${consumer.ts.module}/${consumer.ts.moduleResolution} (${consumer.type})`
          : consumer.type;
        const also = consumer.integrations ? ` and with ${INTEGRATIONS.join(', ')}` : '';
        it(`${what}: ${consumer.ts ? 'type-checks clientCert and options, builds, ' : ''}serves with all three adapters${also}`, () => {
          const result = outputs.get(`${installRoot.name}/${consumer.name}`);
          expect(result, 'the consumer ran').to.not.equal(undefined);
          ok(result!, consumer.name);
          const out = JSON.parse(result!.stdout.trim()) as Record<string, unknown>;
          const used = ['express', 'koa', 'fastify', ...(consumer.integrations ? INTEGRATIONS : [])];
          for (const framework of used) {
            expect(out[framework], framework).to.deep.equal([
              200,
              'CN=alice,O=Acme',
              403,
              'client_certificate_required',
            ]);
          }
          const versions = out.versions as Record<string, string>;
          for (const [framework, major] of Object.entries(majors))
            expect(versions[framework], framework).to.match(new RegExp(`^${major}\\.`));
          if (consumer.integrations)
            for (const [framework, range] of Object.entries(INTEGRATION_VERSIONS))
              expect(versions[framework], framework).to.match(range);
          if (consumer.tools) expect(out.tools).to.deep.equal(['function', 'function', 'function']);
        });
      }
    });
  }

  it('the clientcert binary installed from the tarball runs', async () => {
    const result = ok(
      await run(join(work, 'latest', 'node_modules', '.bin', 'clientcert'), ['--help'], work),
      'clientcert --help',
    );
    expect(result.stdout).to.match(/clientcert/);
  });
});
