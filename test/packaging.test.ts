import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { WARNINGS_DOCS } from '../packages/core/src/index.js';
import { PACKAGES } from './helpers/packages.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a snippet in a package's directory: Node resolves the package's own name there (self-reference). */
function run(pkg: string, type: 'commonjs' | 'module', code: string): string {
  const result = spawnSync(process.execPath, ['--input-type', type, '-e', code], {
    cwd: `${root}packages/${pkg}`,
    encoding: 'utf8',
  });
  expect(result.stderr, `${pkg} ${type}`).to.equal('');
  expect(result.status).to.equal(0);
  return result.stdout.trim();
}

describe('built packages (what npm users load)', function () {
  this.timeout(30_000);

  before(() => {
    if (!existsSync(`${root}packages/core/dist/index.cjs`)) {
      throw new Error('packages are not built: run `npm test` (it builds first) or `pnpm build`');
    }
  });

  const exportsOf: Record<string, string> = {
    core: 'createClientCertAuth,parseXfcc,formatXfcc,verifyChain,parseCertificate',
    express: 'clientCert,default',
    koa: 'clientCert,default',
    fastify: 'clientCert,default',
    agent: 'loadClientCredential,createDispatcher,createHttpsAgent,createCredentialStore',
    cli: 'inspect,gen,check,buildHeaders',
    fetch: 'createRequestAuth,authenticateRequest,problemResponse',
    hono: 'clientCert,clientCertOf,default',
    'aws-lambda': 'createEventAuth,authenticateEvent,problemResponse',
    passport: 'ClientCertStrategy,Strategy,clientCertProblems,clientCertProblem,sendProblem,default',
    nestjs: 'ClientCertModule,ClientCertGuard,ClientCert,ClientCertOptions,ClientCertExceptionFilter',
  };
  for (const [pkg, names] of Object.entries(exportsOf)) {
    const check = names
      .split(',')
      .map((n) => `typeof m[${JSON.stringify(n)}]`)
      .join(' + "," + ');
    it(`@clientcert/${pkg} loads with require() and with import`, () => {
      const expected = names
        .split(',')
        .map(() => 'function')
        .join(',');
      expect(run(pkg, 'commonjs', `const m = require('@clientcert/${pkg}'); console.log(${check})`)).to.equal(expected);
      expect(run(pkg, 'module', `const m = await import('@clientcert/${pkg}'); console.log(${check})`)).to.equal(
        expected,
      );
    });
  }

  it('the clientcert binary runs from the built package', () => {
    const result = spawnSync(process.execPath, ['packages/cli/dist/cli.js', '--help'], { cwd: root, encoding: 'utf8' });
    expect(result.status).to.equal(0);
    expect(result.stdout).to.match(/clientcert/);
  });

  it('the test kit is its own entry point in both module systems', () => {
    const code = (load: string) => `${load}; m.createCA().then((ca) => console.log(ca.x509.ca))`;
    expect(run('core', 'commonjs', code(`const m = require('@clientcert/core/testkit')`))).to.equal('true');
    expect(run('core', 'module', code(`const m = await import('@clientcert/core/testkit')`))).to.equal('true');
  });
});

const REPOSITORY = 'https://github.com/clientcert/clientcert';

describe('package metadata (what the registry shows and searches)', () => {
  const framework: Record<string, string> = { express: 'express', koa: 'koa', fastify: 'fastify' };
  const manifestOf = (pkg: string) =>
    JSON.parse(readFileSync(`${root}packages/${pkg}/package.json`, 'utf8')) as {
      keywords?: string[];
      homepage?: string;
      bugs?: unknown;
      repository?: unknown;
      scripts?: Record<string, string>;
    };
  for (const pkg of PACKAGES) {
    it(`@clientcert/${pkg}: keywords a search for mTLS client certificates finds`, () => {
      const manifest = manifestOf(pkg);
      const expected = ['mtls', 'client-certificate', 'x509', ...(framework[pkg] ? [framework[pkg]!] : [])];
      expect(manifest.keywords ?? []).to.include.members(expected);
      if (pkg !== 'agent') expect(manifest.keywords).to.include('xfcc');
    });

    it(`@clientcert/${pkg}: repository, homepage and bugs point at the repository, and packing rewrites its README`, () => {
      const manifest = manifestOf(pkg);
      expect(manifest.repository).to.deep.equal({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: `packages/${pkg}`,
      });
      expect(manifest.homepage).to.equal(`${REPOSITORY}/tree/main/packages/${pkg}#readme`);
      expect(manifest.bugs).to.deep.equal({ url: `${REPOSITORY}/issues` });
      expect(manifest.scripts?.prepack).to.equal('node ../../scripts/pack-readme.mjs prepack');
      expect(manifest.scripts?.postpack).to.equal('node ../../scripts/pack-readme.mjs postpack');
    });
  }

  it('warnings link to the core README in the repository the packages name', () => {
    expect(WARNINGS_DOCS).to.equal(`${REPOSITORY}/blob/main/packages/core/README.md#`);
  });
});

/** The link targets a reader can click, in order: inline, reference definitions, HTML; fenced code left out. */
const LINK = /(\]\(\s*<?)([^\s)>]+)|(^ {0,3}\[[^\]\n]+\]:[ \t]*<?)([^\s>]+)|((?:href|src)\s*=\s*["'])([^"']+)/gm;
const prose = (markdown: string): string => markdown.replace(/^ {0,3}```[\s\S]*?^ {0,3}```/gm, '');
const linkTargets = (markdown: string): string[] =>
  [...prose(markdown).matchAll(LINK)].map((m) => (m[2] ?? m[4] ?? m[6])!);
const withoutTargets = (markdown: string): string =>
  prose(markdown).replace(LINK, (_m, a?: string, _b?: string, c?: string, _d?: string, e?: string) => a ?? c ?? e!);
const isRelative = (target: string): boolean => !/^(?:https?:|mailto:|#)/.test(target);

/** Where a link relative to packages/<pkg>/README.md leads in the repository, as an address. */
function inRepository(pkg: string, target: string): string {
  if (!isRelative(target)) return target;
  const at = target.indexOf('#');
  const path = at < 0 ? target : target.slice(0, at);
  const file = posix.normalize(posix.join(`packages/${pkg}`, path)).replace(/\/$/, '');
  const kind = statSync(`${root}${file}`).isDirectory() ? 'tree' : 'blob';
  return `${REPOSITORY}/${kind}/main/${file}${at < 0 ? '' : target.slice(at)}`;
}

/** The anchors GitHub gives a Markdown file's headings (lower case, punctuation dropped, spaces as dashes). */
function headingAnchors(markdown: string): Set<string> {
  const headings = prose(markdown).match(/^#{1,6} .+$/gm) ?? [];
  return new Set(
    headings.map((h) =>
      h
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

function spawnNode(args: string[], cwd = root): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Packs packages with the project's pnpm (prepack and postpack run) into `into`. */
async function pack(into: string, filter = './packages/*'): Promise<void> {
  const result = await spawnNode(['scripts/pnpm.mjs', '-r', '--filter', filter, 'pack', '--pack-destination', into]);
  expect(result.status, `${result.stdout}\n${result.stderr}`).to.equal(0);
}

const packedReadme = (tarball: string): string =>
  execFileSync('tar', ['-xzOf', tarball, 'package/README.md'], { encoding: 'utf8' });
const readme = (pkg: string): string => readFileSync(`${root}packages/${pkg}/README.md`, 'utf8');
const keptCopy = (pkg: string): string => `${root}packages/${pkg}/node_modules/.cache/pack-readme/README.md`;

describe('packed READMEs (links that work on the registry page and in node_modules)', function () {
  this.timeout(60_000);
  let work: string;
  const inTree = new Map<string, string>();
  const packed = new Map<string, string>();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'clientcert-readmes-'));
    for (const pkg of PACKAGES) inTree.set(pkg, readme(pkg));
    await pack(work);
    for (const pkg of PACKAGES) packed.set(pkg, packedReadme(join(work, `clientcert-${pkg}-0.1.0.tgz`)));
  });

  after(() => rmSync(work, { recursive: true, force: true }));

  for (const pkg of PACKAGES) {
    it(`@clientcert/${pkg}: every relative link is made absolute into the repository, nothing else changes`, () => {
      const source = inTree.get(pkg)!;
      const tarball = packed.get(pkg)!;
      expect(linkTargets(tarball).filter(isRelative)).to.deep.equal([]);
      expect(linkTargets(tarball)).to.deep.equal(linkTargets(source).map((target) => inRepository(pkg, target)));
      expect(withoutTargets(tarball)).to.equal(withoutTargets(source));
      // Code is code: a fenced block is packed byte for byte.
      expect(source.match(/^```[\s\S]*?^```/gm)).to.deep.equal(tarball.match(/^```[\s\S]*?^```/gm));
    });

    it(`@clientcert/${pkg}: each link into the repository names a file there, and an anchor a heading in it`, () => {
      const tarball = packed.get(pkg)!;
      for (const target of linkTargets(tarball)) {
        if (target.startsWith('#')) {
          expect([...headingAnchors(tarball)], target).to.include(target.slice(1));
          continue;
        }
        const inRepo = /^https:\/\/github\.com\/clientcert\/clientcert\/(?:blob|tree)\/main\/([^#]*)(?:#(.*))?$/.exec(
          target,
        );
        if (!inRepo) continue;
        expect(existsSync(`${root}${inRepo[1]}`), target).to.equal(true);
        if (inRepo[2] !== undefined) {
          expect([...headingAnchors(readFileSync(`${root}${inRepo[1]}`, 'utf8'))], target).to.include(inRepo[2]);
        }
      }
    });
  }

  it('the working tree keeps its READMEs: byte for byte, relative links and all, no kept copy left', () => {
    for (const pkg of PACKAGES) {
      expect(readme(pkg), pkg).to.equal(inTree.get(pkg));
      expect(existsSync(keptCopy(pkg)), pkg).to.equal(false);
    }
    expect(linkTargets(readme('express')).filter(isRelative)).to.include('../core/README.md#warnings');
  });

  it('two packs of one package at once both get absolute links (the second waits for the first)', async () => {
    const [first, second] = [join(work, 'first'), join(work, 'second')];
    await Promise.all([pack(first, '@clientcert/express'), pack(second, '@clientcert/express')]);
    for (const dir of [first, second]) {
      expect(packedReadme(join(dir, 'clientcert-express-0.1.0.tgz')), dir).to.equal(packed.get('express'));
    }
    expect(readme('express')).to.equal(inTree.get('express'));
    expect(existsSync(keptCopy('express'))).to.equal(false);
  });

  it('a pack that stopped before its postpack does not block the next one, nor overwrite the README', async () => {
    // What an interrupted pack leaves: a kept copy, long ago. The README now differs from what that
    // pack wrote, so it is someone's edit and stays.
    mkdirSync(dirname(keptCopy('koa')), { recursive: true });
    writeFileSync(keptCopy('koa'), '# an old copy\n');
    const longAgo = new Date(Date.now() - 3_600_000);
    utimesSync(keptCopy('koa'), longAgo, longAgo);
    const dir = join(work, 'after-interrupted');
    await pack(dir, '@clientcert/koa');
    expect(packedReadme(join(dir, 'clientcert-koa-0.1.0.tgz'))).to.equal(packed.get('koa'));
    expect(readme('koa')).to.equal(inTree.get('koa'));
    expect(existsSync(keptCopy('koa'))).to.equal(false);
  });
});

describe('pack-readme link rewriting', () => {
  /** absoluteLinks from the script, run on `markdown` as if it were packages/express/README.md. */
  async function rewritten(markdown: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const script = pathToFileURL(`${root}scripts/pack-readme.mjs`).href;
    const code = `const { absoluteLinks } = await import(${JSON.stringify(script)});
      try { process.stdout.write(absoluteLinks(${JSON.stringify(markdown)}, 'packages/express')); }
      catch (error) { console.error(error.message); process.exit(1); }`;
    return spawnNode(['--input-type', 'module', '-e', code]);
  }

  it('rewrites inline links, reference definitions and HTML; keeps anchors, absolute links and code', async () => {
    const markdown = [
      'See [top](../../README.md "Top"), [here](#warnings), [out](https://example.com/a), <https://example.com>.',
      'Code `handlers[i](../../README.md)` and `` a`[b](../core/README.md) `` stay.',
      '```ts',
      'const f = handlers[0](../../README.md);',
      '```',
      '[ref]: ../../SECURITY.md',
      '  [ref2]: <../../docs/proxies.md#nginx>',
      '<a href="../core/README.md#warnings">w</a> [dir](../../examples/) [root](/docs/proxies.md) [mail](mailto:a@b.c)',
    ].join('\n');
    const result = await rewritten(markdown);
    expect(result.stderr).to.equal('');
    expect(result.stdout).to.equal(
      [
        `See [top](${REPOSITORY}/blob/main/README.md "Top"), [here](#warnings), [out](https://example.com/a), <https://example.com>.`,
        'Code `handlers[i](../../README.md)` and `` a`[b](../core/README.md) `` stay.',
        '```ts',
        'const f = handlers[0](../../README.md);',
        '```',
        `[ref]: ${REPOSITORY}/blob/main/SECURITY.md`,
        `  [ref2]: <${REPOSITORY}/blob/main/docs/proxies.md#nginx>`,
        `<a href="${REPOSITORY}/blob/main/packages/core/README.md#warnings">w</a> [dir](${REPOSITORY}/tree/main/examples) ` +
          `[root](${REPOSITORY}/blob/main/docs/proxies.md) [mail](mailto:a@b.c)`,
      ].join('\n'),
    );
  });

  it('a link to nothing in the repository stops the pack, naming the link and the fix', async () => {
    for (const target of ['../../NOPE.md', '../../../outside.md']) {
      const result = await rewritten(`[x](${target})`);
      expect(result.status, target).to.equal(1);
      expect(result.stderr.trim()).to.equal(
        `packages/express/README.md links to ${target}, which is not in the repository: fix the link`,
      );
    }
  });
});
