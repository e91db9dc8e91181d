import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

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

describe('package metadata (what the registry shows and searches)', () => {
  const framework: Record<string, string> = { express: 'express', koa: 'koa', fastify: 'fastify' };
  for (const pkg of ['core', 'express', 'koa', 'fastify', 'agent', 'cli']) {
    it(`@clientcert/${pkg}: keywords a search for mTLS client certificates finds`, () => {
      const manifest = JSON.parse(readFileSync(`${root}packages/${pkg}/package.json`, 'utf8')) as {
        keywords?: string[];
      };
      const expected = ['mtls', 'client-certificate', 'x509', ...(framework[pkg] ? [framework[pkg]!] : [])];
      expect(manifest.keywords ?? []).to.include.members(expected);
      if (pkg !== 'agent') expect(manifest.keywords).to.include('xfcc');
    });
  }
});
