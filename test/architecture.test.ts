/**
 * The core's import direction: packages/core/src is cut into folders that follow the
 * request, and a lower layer never imports a higher one. The table below is the rule; the
 * checker (test/helpers/architecture.ts) reads every .ts file under src/ and reports each
 * relative import the table does not allow. Adding a folder or a root file means adding it here.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { type Architecture, checkImports } from './helpers/architecture.js';

const SRC = fileURLToPath(new URL('../packages/core/src/', import.meta.url));

/** Lowest first: a layer may import only the layers it lists, and each of those comes earlier. */
const CORE: Architecture = {
  layers: [
    {
      layer: 'base',
      mayImport: [],
      why: 'errors.ts and model.ts: the error type and the public data model, the vocabulary every layer speaks',
    },
    {
      layer: 'encoding',
      mayImport: ['base'],
      why: 'bytes and text (character classes, escaping): no X.509 and no HTTP knowledge',
    },
    {
      layer: 'validate',
      mayImport: ['base', 'encoding'],
      why: 'validate.ts: the one way to check an option and raise invalid_option, used by every compile step above',
    },
    {
      layer: 'x509',
      mayImport: ['base', 'encoding', 'validate'],
      why: 'strict DER and certificate parsing: what a certificate says, never whether to believe it',
    },
    {
      layer: 'trust',
      mayImport: ['base', 'encoding', 'validate', 'x509'],
      why: 'step 3, is it trustworthy: path validation, pins and revocation over parsed certificates',
    },
    {
      layer: 'authorize',
      mayImport: ['base', 'encoding', 'validate', 'x509', 'trust'],
      why: 'step 4, is it allowed: rules read the verified path that trust produced (RuleContext)',
    },
    {
      layer: 'decide',
      mayImport: ['base', 'encoding', 'validate', 'x509', 'trust', 'authorize'],
      why: 'step 5: turns the outcome of steps 3-4 into a result and an RFC 9457 problem',
    },
    {
      layer: 'sources',
      mayImport: ['base', 'encoding', 'validate', 'x509'],
      why:
        'step 1, where the certificate comes from (TLS, XFCC, proxy headers): it reads and parses, ' +
        'so x509 is below it, but it neither verifies nor authorizes, so it sits beside steps 3-5, not on them',
    },
    {
      layer: 'options',
      mayImport: ['base', 'encoding', 'validate', 'x509', 'trust', 'authorize', 'decide', 'sources'],
      why: 'configuration compiled once at start-up into every step’s compiled form, plus the start-up report',
    },
    {
      layer: 'pipeline',
      mayImport: ['base', 'encoding', 'validate', 'x509', 'trust', 'authorize', 'decide', 'sources', 'options'],
      why: 'runs the steps per request with their caches and observation: it uses everything, only create.ts uses it',
    },
    {
      layer: 'create',
      mayImport: [
        'base',
        'encoding',
        'validate',
        'x509',
        'trust',
        'authorize',
        'decide',
        'sources',
        'options',
        'pipeline',
      ],
      why: 'create.ts, createClientCertAuth: compiles the options, makes the caches and wires the stages',
    },
    {
      layer: 'forwarder',
      mayImport: ['base', 'encoding', 'validate', 'x509', 'sources'],
      why: 'the outbound XFCC writer, beside the pipeline: it reads the TLS peer and writes XFCC, and no step needs it',
    },
    {
      layer: 'testkit',
      mayImport: ['base', 'encoding', 'validate', 'x509'],
      why:
        'the @clientcert/core/testkit entry point: kept independent of the code under test, and no other ' +
        'layer lists it, so the middleware never loads it',
    },
    {
      layer: 'entry',
      mayImport: [
        'base',
        'encoding',
        'validate',
        'x509',
        'trust',
        'authorize',
        'decide',
        'sources',
        'options',
        'create',
        'forwarder',
      ],
      why: 'index.ts, the public barrel: re-exports the API (the pipeline only through create.ts), never the test kit',
    },
  ],
  rootFiles: {
    'errors.ts': 'base',
    'model.ts': 'base',
    'validate.ts': 'validate',
    'create.ts': 'create',
    'index.ts': 'entry',
  },
  // Imports allowed against the table, each with its reason: none. The test fails when a listed
  // one no longer exists, so the list cannot go stale.
  exceptions: [],
};

function readCore(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
    const file = entry.split('\\').join('/');
    if (file.endsWith('.ts')) files.set(file, readFileSync(SRC + file, 'utf8'));
  }
  return files;
}

describe('architecture: import direction in packages/core/src', () => {
  it('every file has a layer and imports only downward (or within its layer), bar the listed exceptions', () => {
    const files = readCore();
    expect(files.size).to.be.greaterThan(20);
    const result = checkImports(files, CORE);
    expect(result.tableErrors).to.deep.equal([]);
    expect(result.violations).to.deep.equal([]);
    expect(result.unusedExceptions.map(({ from, to }) => `${from} → ${to}`)).to.deep.equal([]);
  });

  it('reports an upward import, and only that one (synthetic tree)', () => {
    const files = new Map([
      ['errors.ts', ''],
      ['encoding/text.ts', "import { ClientCertError } from '../errors.js';"],
      [
        'x509/der.ts',
        "import { isTchar } from '../encoding/text.js';\nimport type { RuleContext } from '../authorize/rules.js';",
      ],
      [
        'authorize/rules.ts',
        "import { readTlv } from '../x509/der.js';\nimport { isTchar } from '../encoding/text.js';",
      ],
      ['pipeline/run.ts', "import { compileRules } from '../authorize/rules.js';\nexport * from './cache.js';"],
    ]);
    const result = checkImports(files, { ...CORE, exceptions: [] });
    expect(result.violations).to.deep.equal([
      { from: 'x509/der.ts', to: 'authorize/rules.ts', fromLayer: 'x509', toLayer: 'authorize' },
    ]);
  });

  it('reports the test kit imported by production code, and a file outside every layer', () => {
    const files = new Map([
      ['trust/pins.ts', "import { createCA } from '../testkit/index.js';"],
      ['run.ts', "import { run } from './pipeline/run.js';"],
    ]);
    const result = checkImports(files, { ...CORE, exceptions: [] });
    expect(result.violations).to.deep.equal([
      { from: 'run.ts', to: 'pipeline/run.ts', fromLayer: null, toLayer: 'pipeline' },
      { from: 'trust/pins.ts', to: 'testkit/index.ts', fromLayer: 'trust', toLayer: 'testkit' },
    ]);
  });
});
