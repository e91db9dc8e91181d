/**
 * The `detail` of every problem response is documented: each text the core can put in a
 * rejection's `detail`, read from the source where it is written, is listed under its `code` in
 * the core README's table of details, and every text listed there is one the core writes. The
 * adapters' errors tables are the core's, and the root README's example body is a real one.
 *
 * The texts are spread over the stages that refuse (they are fixed text, never request content):
 * read here by the patterns each stage writes them with. In a text, a certificate's depth is
 * written `N` and any inserted part `…`, in the source (`${…}`) and in the README alike.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { VERIFY_CODES } from '../packages/core/src/decide/decide.js';
import type { RejectionCode } from '../packages/core/src/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(`${root}${path}`, 'utf8');
const SRC = 'packages/core/src/';

interface Detail {
  readonly code: RejectionCode;
  readonly text: string;
  /** Where it was found, for messages. */
  readonly where: string;
}

/** One string literal ('…', "…", or a template without nested backticks). */
const LITERAL = String.raw`(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\`(?:[^\`\\]|\\.)*\`)`;
/** String literals joined with `+`, possibly over several lines. */
const JOINED = `(${LITERAL}(?:\\s*\\+\\s*${LITERAL})*)`;

/** The text of joined literals: quotes dropped, escapes read, `${depth}` as N and any other `${…}` as `…`. */
function textOf(joined: string): string {
  const parts = [...joined.matchAll(new RegExp(LITERAL, 'g'))].map((m) => m[0].slice(1, -1));
  return normalize(
    parts
      .join('')
      .replace(/\\(.)/g, '$1')
      .replace(/\$\{depth\}/g, 'N')
      .replace(/\$\{[^}]*\}/g, '…'),
  );
}

/** One spelling for both sides: any depth is N, and adjacent inserted parts are one `…`. */
function normalize(text: string): string {
  return text.replace(/depth \d+/g, 'depth N').replace(/…(\s*…)+/g, '…');
}

function filesUnder(dir: string): string[] {
  return readdirSync(`${root}${dir}`, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(`${dir}${entry.name}/`)
      : entry.name.endsWith('.ts')
        ? [`${dir}${entry.name}`]
        : [],
  );
}

/** Every match of `pattern` in `file`, as details of a code the match decides. */
function found(file: string, pattern: string, detail: (m: RegExpExecArray) => Omit<Detail, 'where'>): Detail[] {
  return [...read(file).matchAll(new RegExp(pattern, 'g'))].map((m) => ({ ...detail(m), where: file }));
}

const verifyCode = (code: string): RejectionCode => {
  const mapped = VERIFY_CODES[code as keyof typeof VERIFY_CODES];
  expect(mapped, `verify code ${code}`).to.not.equal(undefined);
  return mapped;
};

/** The body of `function <name>` in `file`, up to its closing brace at the start of a line. */
function functionBody(file: string, name: string): string {
  const text = read(file);
  const start = text.indexOf(`function ${name}(`);
  expect(start, `function ${name} in ${file}`).to.be.greaterThan(-1);
  return text.slice(start, text.indexOf('\n}\n', start));
}

/** Every detail text the core writes, with its code. */
function detailsInSource(): Detail[] {
  const details: Detail[] = [];
  // The stages that answer with a code of their own: reject / refused / refusedForNow(code, text, ...).
  for (const file of [...filesUnder(`${SRC}pipeline/`), ...filesUnder(`${SRC}decide/`)]) {
    details.push(
      ...found(file, String.raw`(?:reject|refused|refusedForNow)\(\s*'(client_certificate_\w+)',\s*${JOINED}`, (m) => ({
        code: m[1] as RejectionCode,
        text: textOf(m[2]!),
      })),
    );
  }
  // Rules: every failure is client_certificate_rejected.
  for (const file of filesUnder(`${SRC}authorize/`)) {
    details.push(
      ...found(file, String.raw`failure\(\s*'[^']+',\s*${JOINED}`, (m) => ({
        code: 'client_certificate_rejected',
        text: textOf(m[1]!),
      })),
      ...found(file, `_MESSAGE = ${JOINED}`, (m) => ({
        code: 'client_certificate_rejected',
        text: textOf(m[1]!),
      })),
    );
  }
  // Trust: refusal(verify code, text) and the proxy's and pins' sentences (all `untrusted`).
  const strategy = `${SRC}trust/strategy.ts`;
  details.push(
    ...found(strategy, String.raw`refusal\(\s*'(\w+)',\s*${JOINED}`, (m) => ({
      code: verifyCode(m[1]!),
      text: textOf(m[2]!),
    })),
    ...[...functionBody(strategy, 'proxyVouches').matchAll(new RegExp(LITERAL, 'g'))]
      .filter((m) => /^.[A-Z]/.test(m[0]))
      .map((m) => ({ code: verifyCode('untrusted'), text: textOf(m[0]), where: strategy })),
    ...found(`${SRC}trust/pins.ts`, String.raw`\bmessage: ${JOINED}`, (m) => ({
      code: verifyCode('untrusted'),
      text: textOf(m[1]!),
    })),
    ...found(
      `${SRC}sources/proxy-description.ts`,
      String.raw`Message\(field: DescriptionField\): string \{\s*return ${JOINED}`,
      (m) => ({
        code: 'client_certificate_untrusted',
        text: textOf(m[1]!),
      }),
    ),
  );
  // A source that refuses outright (a proxy's description missing): ClientCertError(code, text).
  for (const file of filesUnder(`${SRC}sources/`)) {
    const constants = new Map(
      [...read(file).matchAll(new RegExp(String.raw`const (\w+_MESSAGE) =\s*${JOINED}`, 'g'))].map((m) => [
        m[1]!,
        m[2]!,
      ]),
    );
    details.push(
      ...found(
        file,
        String.raw`new ClientCertError\(\s*'(client_certificate_\w+)',\s*(\w+_MESSAGE|${JOINED})`,
        (m) => ({
          code: m[1] as RejectionCode,
          text: textOf(constants.get(m[2]!) ?? m[2]!),
        }),
      ),
    );
  }
  details.push(...pathValidation(), ...revocation(), ...unreadable());
  return details;
}

/** Path validation: `certificate at depth N <problem>`, its code from the verify code. */
function pathValidation(): Detail[] {
  const path = `${SRC}trust/path/`;
  const at = (text: string): string => normalize(`certificate at depth N ${text}`);
  const details: Detail[] = [];
  for (const file of [`${path}checks.ts`, `${path}builder.ts`, `${path}verify.ts`]) {
    details.push(
      ...found(file, String.raw`problem\(\s*'(\w+)',\s*${JOINED}\s*,`, (m) => ({
        code: verifyCode(m[1]!),
        text: at(textOf(m[2]!)),
      })),
      ...found(file, String.raw`problem\(\s*'(\w+)',\s*profileText\(\s*${JOINED},\s*'([^']+)',\s*'(\w+)'\)`, (m) => ({
        code: verifyCode(m[1]!),
        text: at(`${textOf(m[2]!)} (RFC 5280 §${m[3]}; allow with verifyPolicy.${m[4]})`),
      })),
    );
  }
  details.push(
    // The RFC 5280 profile: `found(text, section, switch)`, all `malformed`.
    ...found(`${path}checks.ts`, String.raw`found\(\s*${JOINED},\s*'([^']+)',\s*'(\w+)',?\s*\)`, (m) => ({
      code: verifyCode('malformed'),
      text: at(`${textOf(m[1]!)} (RFC 5280 §${m[2]}; allow with verifyPolicy.${m[3]})`),
    })),
    // The key policy: weakKey's texts, all `weak_algorithm`.
    ...[...functionBody(`${path}checks.ts`, 'weakKey').matchAll(new RegExp(LITERAL, 'g'))]
      .filter((m) => m[0].slice(1).startsWith('has '))
      .map((m) => ({ code: verifyCode('weak_algorithm'), text: at(textOf(m[0])), where: `${path}checks.ts` })),
    ...found(`${path}builder.ts`, String.raw`const message = ${JOINED};\s*this\.record\(\{ code: '(\w+)'`, (m) => ({
      code: verifyCode(m[2]!),
      text: textOf(m[1]!),
    })),
    ...found(`${path}verify.ts`, `UNTRUSTED_MESSAGE = ${JOINED}`, (m) => ({
      code: verifyCode('untrusted'),
      text: textOf(m[1]!),
    })),
  );
  return details;
}

/** Revocation: revoked, or (policy strict) a status that could not be determined. */
function revocation(): Detail[] {
  const file = `${SRC}trust/revocation/messages.ts`;
  const returned = (name: string): string => textOf(/return (.*);/.exec(functionBody(file, name))![1]!);
  return [
    { code: 'client_certificate_revoked', text: returned('revokedMessage'), where: file },
    { code: 'client_certificate_untrusted', text: returned('unknownMessage'), where: file },
  ];
}

/** A header or certificate that cannot be read: each parser's prefix, then its reason. */
function unreadable(): Detail[] {
  const malformed = (file: string, pattern: string, suffix = ''): Detail => {
    const m = new RegExp(pattern).exec(read(file));
    expect(m, `${pattern} in ${file}`).to.not.equal(null);
    return { code: 'client_certificate_malformed', text: normalize(textOf(m![1]!) + suffix), where: file };
  };
  return [
    malformed(`${SRC}sources/xfcc.ts`, String.raw`new ClientCertError\('xfcc_malformed', ${JOINED}\)`),
    malformed(
      `${SRC}sources/headers/errors.ts`,
      String.raw`new ClientCertError\(FORWARDED_HEADER_ERROR_CODE, ${JOINED},`,
    ),
    malformed(`${SRC}x509/der.ts`, `const MALFORMED_PREFIX = ${JOINED};`, '…'),
  ];
}

/** The rows of the table that follows `heading` in `markdown` (up to the next heading), as cells. */
function tableAfter(markdown: string, heading: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  expect(start, heading).to.be.greaterThan(-1);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^#{1,4} /.test(line)) break;
    if (line.startsWith('| ') && !line.startsWith('| ---'))
      rows.push(
        line
          .split('|')
          .slice(1, -1)
          .map((cell) => cell.trim()),
      );
  }
  return rows.slice(1); // the header row
}

/** A backticked cell's text, or null for a cell that describes a text instead (a predicate's own reason). */
function backticked(cell: string): string | null {
  const m = /^`([^`]+)`$/.exec(cell);
  return m ? normalize(m[1]!) : null;
}

const key = (detail: { code: string; text: string }): string => `${detail.code}: ${detail.text}`;

describe('docs: every problem detail the core writes is in the README, under its code', () => {
  const inSource = detailsInSource();
  const core = read('packages/core/README.md');
  const listed = tableAfter(core, '### `detail` texts').map(([code, detail]) => ({
    code: backticked(code!)!,
    text: backticked(detail!),
  }));

  it('the source is read: each stage that refuses contributes texts', () => {
    const files = new Set(inSource.map((detail) => detail.where.replace(SRC, '').replace(/\/[^/]*$/, '')));
    for (const folder of [
      'pipeline',
      'decide',
      'authorize',
      'trust',
      'trust/path',
      'trust/revocation',
      'sources',
      'x509',
    ])
      expect([...files], folder).to.include(folder);
    expect(new Set(inSource.map(key)).size).to.be.greaterThan(60);
    const codes = new Set(inSource.map((detail) => detail.code));
    expect([...codes].sort()).to.deep.equal([
      'client_certificate_expired',
      'client_certificate_malformed',
      'client_certificate_not_yet_valid',
      'client_certificate_rejected',
      'client_certificate_required',
      'client_certificate_revoked',
      'client_certificate_untrusted',
    ]);
  });

  it('every text in the source is listed under its code', () => {
    const documented = new Set(listed.filter((row) => row.text !== null).map((row) => key(row as Detail)));
    const missing = [
      ...new Set(inSource.filter((detail) => !documented.has(key(detail))).map((d) => `${key(d)} (${d.where})`)),
    ];
    expect(missing, 'add these rows to the `detail` texts table of packages/core/README.md').to.deep.equal([]);
  });

  it('every text listed is one the source writes (no stale rows), each once', () => {
    const written = new Set(inSource.map(key));
    const rows = listed.filter((row) => row.text !== null).map((row) => key(row as Detail));
    expect(
      rows.filter((row) => !written.has(row)),
      'rows no code writes',
    ).to.deep.equal([]);
    expect(
      rows.filter((row, i) => rows.indexOf(row) !== i),
      'rows listed twice',
    ).to.deep.equal([]);
  });

  it('the texts a client sees for the same code are grouped, in the order of the codes table', () => {
    const order = tableAfter(core.slice(core.indexOf('## Errors')), '## Errors').map(([code]) => backticked(code!));
    const seen = listed.map((row) => row.code).filter((code, i, all) => all.indexOf(code) === i);
    expect(seen).to.deep.equal(order);
  });

  for (const pkg of ['express', 'koa', 'fastify']) {
    it(`${pkg}: the errors table is the core's, and links to the texts`, () => {
      const readme = read(`packages/${pkg}/README.md`);
      expect(tableAfter(readme, '## Errors')).to.deep.equal(tableAfter(core, '## Errors'));
      expect(readme).to.include('](../core/README.md#detail-texts)');
    });
  }

  it("the root README's example body is a real rejection: its detail is a text of its code", () => {
    const readme = read('README.md');
    const body = /```json\n(\{[^`]*"detail"[^`]*\})\n```/.exec(readme.slice(readme.indexOf('## Errors')));
    expect(body, 'the JSON example under ## Errors').to.not.equal(null);
    const example = JSON.parse(body![1]!.replace('…', '')) as { code: RejectionCode; detail: string };
    expect(inSource.map(key)).to.include(key({ code: example.code, text: example.detail }));
  });
});
