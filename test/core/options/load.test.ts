/**
 * options/load.ts: a configuration file read one way for the app and the `clientcert` command.
 * A string keeps its meaning from code (PEM text is PEM text); `{ file }` reads a file relative to
 * the configuration; every mistake is `invalid_option` naming the option and the fix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createClientCertAuth, loadOptionsFile, resolveOptionFiles } from '../../../packages/core/src/index.js';
import { createCA, createCrl, type TestCA, type TestCertificate } from '../../../packages/core/src/testkit/index.js';

function thrown(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('core options/load: configuration files', () => {
  let dir: string;
  let ca: TestCA;
  let leaf: TestCertificate;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'clientcert-load-'));
    ca = await createCA({ subject: 'CN=Load CA' });
    leaf = await ca.issue({ subject: 'CN=alice' });
    writeFileSync(join(dir, 'ca.pem'), ca.cert);
    writeFileSync(join(dir, 'ca.der'), ca.der);
    writeFileSync(join(dir, 'leaf.pem'), leaf.cert);
    writeFileSync(join(dir, 'root.crl'), (await createCrl(ca)).der);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('{ file } is the file: PEM as text, DER as bytes, in ca, intermediates, pins and revocation.crls', () => {
    const options = resolveOptionFiles(
      {
        ca: [{ file: 'ca.pem' }, { file: join(dir, 'ca.der') }],
        pins: [{ file: 'leaf.pem' }, { name: 'by-leaf', leaf: { file: 'leaf.pem' } }, 'sha256:00'],
        revocation: { crls: [{ file: 'root.crl' }, 'https://crl.example/root.crl'] },
        mode: 'accept',
      },
      dir,
    ) as Record<string, unknown>;
    expect(options.ca).to.deep.equal([ca.cert, ca.der]);
    expect(options.pins).to.deep.equal([leaf.cert, { name: 'by-leaf', leaf: leaf.cert }, 'sha256:00']);
    expect((options.revocation as { crls: unknown[] }).crls[1]).to.equal('https://crl.example/root.crl');
    expect(Buffer.isBuffer((options.revocation as { crls: unknown[] }).crls[0])).to.equal(true);
    expect(options.mode).to.equal('accept');
  });

  it('strings keep their meaning from code; a file name where PEM text belongs is refused with the fix', () => {
    expect(resolveOptionFiles({ ca: ca.cert }, dir)).to.deep.equal({ ca: ca.cert });
    for (const [options, option] of [
      [{ ca: 'ca.pem' }, 'ca'],
      [{ ca: [ca.cert, './certs/other.crt'] }, 'ca[1]'],
      [{ pins: [{ issuer: 'ca.pem' }] }, 'pins[0].issuer'],
    ] as const) {
      const error = thrown(() => resolveOptionFiles(options, dir));
      expect(error.code).to.equal('invalid_option');
      expect(error.message).to.match(
        new RegExp(
          `^clientcert: option "${option.replace(/[[\]]/g, '\\$&')}" takes the certificate itself \\(PEM text\\), not a file name: to read the file, write \\{ "file": "`,
        ),
      );
    }
  });

  it('a { file } that cannot be read names the option, the file looked for, and is refused like any option', () => {
    const missing = thrown(() => resolveOptionFiles({ intermediates: [ca.cert, { file: 'gone.pem' }] }, dir));
    expect(missing.code).to.equal('invalid_option');
    expect(missing.message).to.equal(
      `clientcert: option "intermediates[1].file" could not be read: no such file (looked for ${join(dir, 'gone.pem')})`,
    );
    expect(thrown(() => resolveOptionFiles({ ca: { file: 3 } }, dir)).message).to.include(
      '"ca.file" must be a file name',
    );
    expect(thrown(() => resolveOptionFiles({ ca: { file: 'ca.pem', path: 'x' } }, dir)).message).to.include(
      '"ca.path" is not a known option',
    );
  });

  it('loadOptionsFile: JSON and modules (a default export, or a function), resolved from their directory', async () => {
    writeFileSync(join(dir, 'app.json'), JSON.stringify({ ca: { file: 'ca.pem' }, trustProxy: '127.0.0.1' }));
    writeFileSync(join(dir, 'app.mjs'), "export default async () => ({ ca: { file: 'ca.der' }, mode: 'accept' });\n");
    const json = await loadOptionsFile(join(dir, 'app.json'));
    expect(json).to.deep.equal({ ca: ca.cert, trustProxy: '127.0.0.1' });
    const module = await loadOptionsFile(join(dir, 'app.mjs'));
    expect(module).to.deep.equal({ ca: ca.der, mode: 'accept' });
    // What the app then does with them.
    expect(createClientCertAuth({ ...json, logger: false }).describe()).to.include('1 trust anchor');
  });

  it('loadOptionsFile: an unreadable file, bad JSON, another extension, not an object: invalid_option naming the file', async () => {
    const failure = async (path: string) => {
      try {
        await loadOptionsFile(path);
      } catch (error) {
        return error as { code?: string; message: string };
      }
      throw new Error('expected a rejection');
    };
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    writeFileSync(join(dir, 'list.json'), '[]');
    writeFileSync(join(dir, 'app.yaml'), 'ca: x');
    const cases: Array<[string, string]> = [
      ['none.json', 'none.json: no such file'],
      ['bad.json', 'bad.json is not valid JSON'],
      ['list.json', 'list.json must contain (or export) an object of options'],
      ['app.yaml', 'a configuration file is .json, .js, .mjs or .cjs'],
    ];
    for (const [name, text] of cases) {
      const error = await failure(join(dir, name));
      expect(error.code, name).to.equal('invalid_option');
      expect(error.message, name).to.include(text);
    }
  });
});
