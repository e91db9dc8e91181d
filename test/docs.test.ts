/**
 * The READMEs keep up with the code: every option the validators accept (their known-keys lists,
 * read from the source so that a new option cannot be added without this test seeing it) is in
 * the options table of each package that takes it, every error code of the core is in an errors
 * table, and every package README has the sections a user looks for.
 */

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { PACKAGES } from './helpers/packages.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(`${root}${path}`, 'utf8');
const readme = (pkg: string): string => read(`packages/${pkg}/README.md`);

/** The string literals of `const <name> ... = new Set([...])` in a source file. */
function knownKeys(file: string, name: string): string[] {
  const match = new RegExp(`const ${name}\\b[^=]*= new Set\\(\\[([^\\]]*)\\]`).exec(read(file));
  expect(match, `${name} in ${file}`).to.not.equal(null);
  const keys = [...match![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
  expect(keys.length, `${name} in ${file}`).to.be.greaterThan(0);
  return keys;
}

/** The string literals of a `type <name> = | 'a' | 'b' ...;` union in a source file. */
function unionMembers(file: string, name: string): string[] {
  const match = new RegExp(`type ${name} =([^;]*);`).exec(read(file));
  expect(match, `${name} in ${file}`).to.not.equal(null);
  return [...match![1]!.matchAll(/'([^']+)'/g)].map((m) => m[1]!);
}

/** The rows of the table that follows a `## <heading>` (up to the next `## `). */
function section(text: string, heading: RegExp): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /^## /.test(line) && heading.test(line));
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && /^## /.test(line));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The first cells of the table rows in a piece of markdown: the documented names. */
function firstCells(markdown: string): string {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('| '))
    .map((line) => line.split(' | ')[0])
    .join('\n');
}

const MIDDLEWARE_READMES = ['core', 'express', 'koa', 'fastify', 'fetch', 'hono', 'passport', 'nestjs'];

describe('docs: the READMEs document what the code accepts', () => {
  const middlewareOptions = knownKeys('packages/core/src/options/compile.ts', 'KNOWN_OPTIONS');

  for (const pkg of MIDDLEWARE_READMES) {
    it(`${pkg}: every middleware option has a row in the options table, with a default`, () => {
      const table = section(readme(pkg), /Options/);
      expect(table, `packages/${pkg}/README.md has an Options section`).to.not.equal('');
      expect(table).to.match(/^\| option \| default \|/m);
      const names = firstCells(table);
      const missing = middlewareOptions.filter((option) => !new RegExp(`\`${option}(\\.[\\w.]+)?\``).test(names));
      expect(missing, `options missing from packages/${pkg}/README.md`).to.deep.equal([]);
    });
  }

  it('core: every revocation and OCSP setting is described in the revocation row', () => {
    const row =
      section(readme('core'), /Options/)
        .split('\n')
        .find((line) => line.startsWith('| `revocation`')) ?? '';
    const settings = [
      ...knownKeys('packages/core/src/trust/revocation/options.ts', 'KNOWN_OPTIONS'),
      ...knownKeys('packages/core/src/trust/revocation/options.ts', 'KNOWN_OCSP_OPTIONS'),
    ];
    expect(
      settings.filter(
        (setting) =>
          !row.includes(`\`${setting}\``) &&
          !row.includes(`${setting}:`) &&
          !row.includes(`${setting},`) &&
          !row.includes(`${setting} }`),
      ),
    ).to.deep.equal([]);
  });

  it('core: every createXfccForwarder option is documented', () => {
    const text = readme('core');
    const forwarder = text.slice(text.indexOf('createXfccForwarder'));
    expect(text).to.include('createXfccForwarder');
    const missing = knownKeys('packages/core/src/forwarder/forwarder.ts', 'KNOWN_OPTIONS').filter(
      (option) => !forwarder.includes(`\`${option}\``),
    );
    expect(missing, 'createXfccForwarder options missing from packages/core/README.md').to.deep.equal([]);
  });

  const rejections = unionMembers('packages/core/src/errors.ts', 'RejectionCode');
  const coreCodes = unionMembers('packages/core/src/errors.ts', 'ErrorCode');
  const credentialCodes = unionMembers('packages/agent/src/errors.ts', 'CredentialErrorCode');

  it('the error code lists are what this test expects to read', () => {
    expect(rejections).to.include('client_certificate_required');
    expect(coreCodes).to.include('invalid_option');
    expect(credentialCodes.length).to.be.greaterThan(0);
  });

  for (const pkg of MIDDLEWARE_READMES) {
    it(`${pkg}: every rejection code is in the errors table`, () => {
      const names = firstCells(section(readme(pkg), /Errors/));
      expect(rejections.filter((code) => !names.includes(`\`${code}\``))).to.deep.equal([]);
    });
  }

  it('core: every other error code of the core is in its errors section', () => {
    const errors = section(readme('core'), /Errors/);
    expect(coreCodes.filter((code) => !errors.includes(`\`${code}\``))).to.deep.equal([]);
  });

  it('agent: every credential error code is in its errors table', () => {
    const names = firstCells(section(readme('agent'), /Errors/));
    expect(credentialCodes.filter((code) => !names.includes(`\`${code}\``))).to.deep.equal([]);
  });

  for (const pkg of PACKAGES) {
    it(`${pkg}: the README has Install, Usage, Options, Errors and TypeScript sections`, () => {
      const text = readme(pkg);
      expect(section(text, /^## Install/), 'Install').to.include(`npm install @clientcert/${pkg}`);
      expect(section(text, /^## (Usage|Programmatic use)/), 'Usage').to.not.equal('');
      expect(section(text, /^## (Options|`clientcert)/), 'Options').to.match(/^\| option \|/m);
      expect(section(text, /^## (Errors|Exit codes)/), 'Errors').to.match(/^\| `?code`? \|/m);
      expect(section(text, /^## TypeScript/), 'TypeScript').to.not.equal('');
    });
  }

  for (const pkg of ['express', 'koa', 'fastify']) {
    it(`${pkg}: the README states the supported framework majors as the peer range does`, () => {
      const manifest = JSON.parse(read(`packages/${pkg}/package.json`)) as { peerDependencies: Record<string, string> };
      const majors = [...manifest.peerDependencies[pkg]!.matchAll(/\^(\d+)\./g)].map((m) => m[1]);
      expect(majors.length).to.equal(2);
      expect(readme(pkg)).to.include(`${pkg} ${majors[0]} and ${majors[1]}`);
    });
  }
});
