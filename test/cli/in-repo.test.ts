/**
 * The `clientcert` command runs inside the repository the way the documentation says: the lines
 * of packages/cli/README.md (from the root) and of the Azure Container Apps example's local run
 * (from its directory), run literally by a shell. The example's lines run in a scratch directory
 * laid out like the repository (its `packages` a link to the real one), so nothing is written
 * into the tree; the app itself is the example's real server on port 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { type RunningExample, startExample } from '../examples/example-process.js';
import { ensureBuilt, root } from './helpers.js';

/** The lines of the first ```sh block after `marker` in a markdown file. */
function shellBlock(file: string, marker: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const from = text.indexOf(marker);
  expect(from, `${marker} in ${file}`).to.be.at.least(0);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(from));
  expect(block, `a sh block after ${marker} in ${file}`).to.not.equal(null);
  return block![1]!.split('\n').filter((line) => line.trim() !== '');
}

function sh(line: string, cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync('bash', ['-c', line], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the clientcert command inside the repository, as documented', function () {
  this.timeout(120_000);
  let scratch: string;
  let example: RunningExample | undefined;

  before(() => {
    ensureBuilt();
    scratch = mkdtempSync(join(tmpdir(), 'clientcert-in-repo-'));
  });

  after(async () => {
    await example?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('packages/cli/README.md: the command from the root of a clone', () => {
    const lines = shellBlock('packages/cli/README.md', 'In a clone of the repository');
    expect(lines).to.deep.equal(['npm run setup', 'node packages/cli/dist/cli.js gen --out certs']);
    // Set-up has run (ensureBuilt); the command, with --help in place of writing into the tree.
    const help = sh(lines[1]!.replace('gen --out certs', 'gen --help'), root);
    expect(help.stderr).to.equal('');
    expect(help.status).to.equal(0);
    expect(help.stdout).to.include('Usage: clientcert gen');
  });

  it('examples/azure-container-apps: gen, the app with the CA it wrote, and curl with the header xfcc wrote', async () => {
    const lines = shellBlock('examples/azure-container-apps/README.md', '## Run it locally');
    expect(lines).to.have.length(3);
    const [gen, start, curl] = lines as [string, string, string];
    // examples/azure-container-apps, two levels below a root whose packages are the real ones.
    const cwd = join(scratch, 'examples', 'azure-container-apps');
    mkdirSync(cwd, { recursive: true });
    symlinkSync(join(root, 'packages'), join(scratch, 'packages'));

    const generated = sh(gen, cwd);
    expect(generated.stderr).to.equal('');
    expect(generated.status).to.equal(0);
    expect(generated.stdout).to.include('  clients-ca.pem\n').and.include('  client.pem\n');

    // `CLIENT_CA_FILE=certs/clients-ca.pem npm start`: the example's server, on port 0 for the test.
    const variable = /^CLIENT_CA_FILE=(\S+) npm start$/.exec(start);
    expect(variable, start).to.not.equal(null);
    example = await startExample('azure-container-apps', {
      CLIENT_CA_PEM: undefined,
      CLIENT_CA_FILE: join(cwd, variable![1]!),
    });
    expect(curl).to.include('http://127.0.0.1:3000/whoami');
    const called = sh(`${curl.replace('127.0.0.1:3000', `127.0.0.1:${example.port}`)} --silent`, cwd);
    expect(called.status, called.stderr).to.equal(0);
    expect(JSON.parse(called.stdout)).to.deep.include({ subject: 'CN=client' });
  });
});
