/**
 * Every program the documentation shows compiles as a new user's TypeScript project would compile
 * it: `strict`, `module`/`moduleResolution` `nodenext`, each snippet an ES module of its own. A
 * program is a ```ts block, or a ```js block that imports something (a reader pastes it into a
 * file, a .ts one too); a js block without imports shows options in passing
 * (`app.use(clientCert({ ... }))`), which test/docs-proxies.test.ts runs instead. The
 * `@clientcert/*` packages resolve to the workspace's source through their own exports map (the
 * `@clientcert/source` condition, as tsconfig.json does), everything else from the workspace's
 * node_modules. All snippets are compiled in one program, so the whole file takes seconds.
 *
 * Markers, an HTML comment on the line before a fence:
 * - `<!-- snippet: continues -->`: the block goes on from the nearest block above it in the same
 *   file that is not itself a continuation (the quick start's TLS set-up, then each framework);
 *   it is compiled after that block's code.
 * - `<!-- snippet: fragment (why) -->`: deliberately not a whole program; reported as pending with
 *   its reason instead of compiled. Prefer making the snippet complete.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TYPESCRIPT = new Set(['ts', 'typescript']);
const JAVASCRIPT = new Set(['js', 'javascript', 'mjs']);
const MARKER = /^<!--\s*snippet:\s*(\S+)\s*(.*?)\s*-->$/;
const MARKERS = new Set(['continues', 'fragment']);
/** A static import: what makes a js block a program rather than an expression shown in passing. */
const IMPORTS = /^\s*import\s+(?!\()/m;

/** Where the virtual snippet files live: at the root, so bare imports resolve from its node_modules. */
const SNIPPET_DIR = join(ROOT, '.snippets');

interface Snippet {
  /** The markdown file, relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly language: string;
  readonly code: string;
  /** The block this one goes on from (`snippet: continues`). */
  readonly after: Snippet | undefined;
  /** The reason given by a `snippet: fragment` marker, or undefined. */
  readonly fragment: string | undefined;
}

/** A `<!-- snippet: ... -->` comment: its kind, and whether a fence follows it. */
interface Marker {
  readonly file: string;
  readonly line: number;
  readonly kind: string;
  readonly onFence: boolean;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function markdownUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir));
  } catch {
    return [];
  }
  return entries.sort().flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.')) return [];
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return markdownUnder(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

/** The markdown files a reader copies code from. */
function documents(): string[] {
  const files = ['README.md', 'SECURITY.md', 'benchmarks/README.md'];
  for (const name of readdirSync(join(ROOT, 'packages')).sort()) files.push(`packages/${name}/README.md`);
  files.push(...markdownUnder('examples').filter((f) => f.endsWith('/README.md')));
  files.push(...markdownUnder('docs'));
  return files.filter((f) => isFile(join(ROOT, f)));
}

/** The programs of a markdown file (fences of ``` or ~~~, any length), and its snippet markers. */
function snippetsOf(file: string, markdown: string): { snippets: Snippet[]; markers: Marker[] } {
  const lines = markdown.split('\n');
  const snippets: Snippet[] = [];
  const markers: Marker[] = [];
  let base: Snippet | undefined;
  for (let i = 0; i < lines.length; i++) {
    const marker = MARKER.exec(lines[i]!.trim());
    if (marker)
      markers.push({ file, line: i + 1, kind: marker[1]!, onFence: /^ {0,3}(```|~~~)/.test(lines[i + 1] ?? '') });
    const open = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const close = new RegExp(`^ {0,3}${fence[0]}{${fence.length},}\\s*$`);
    let end = i + 1;
    while (end < lines.length && !close.test(lines[end]!)) end++;
    const code = `${lines.slice(i + 1, end).join('\n')}\n`;
    const language = open[2]!.toLowerCase();
    const [, kind, reason] = MARKER.exec(i > 0 ? lines[i - 1]!.trim() : '') ?? [];
    const program =
      TYPESCRIPT.has(language) || (JAVASCRIPT.has(language) && (IMPORTS.test(code) || kind === 'continues'));
    if (program) {
      const snippet: Snippet = {
        file,
        line: i + 1,
        language,
        code,
        after: kind === 'continues' ? base : undefined,
        fragment: kind === 'fragment' ? reason || 'no reason given' : undefined,
      };
      snippets.push(snippet);
      if (kind !== 'continues') base = snippet;
    }
    i = end;
  }
  return { snippets, markers };
}

const OPTIONS: ts.CompilerOptions = {
  strict: true,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  customConditions: ['@clientcert/source'],
  types: ['node'],
  esModuleInterop: true,
  skipLibCheck: true,
  // Nest's decorators (@clientcert/nestjs) are TypeScript's legacy ones, as tsconfig.base.json says.
  experimentalDecorators: true,
  noEmit: true,
};

/**
 * `@clientcert/<pkg>[/<sub>]` resolved as the package resolves its own name (a self-reference
 * through its exports map), from a file inside packages/<pkg>: the workspace source, whichever
 * packages the root's node_modules links.
 */
function resolveOurs(name: string, host: ts.CompilerHost): ts.ResolvedModuleWithFailedLookupLocations | undefined {
  const match = /^@clientcert\/([^/]+)/.exec(name);
  if (!match) return undefined;
  const inside = join(ROOT, 'packages', match[1]!, 'snippet.ts');
  return ts.resolveModuleName(name, inside, OPTIONS, host);
}

function snippetPath(snippet: Snippet): string {
  return join(SNIPPET_DIR, `${snippet.file.replace(/[/\\]/g, '__')}.L${snippet.line}.mts`);
}

/** The blocks a snippet is compiled from, the one it goes on from first. */
function partsOf(snippet: Snippet): Snippet[] {
  return snippet.after ? [snippet.after, snippet] : [snippet];
}

/** Where line `line` (0-based) of a snippet's compiled text is in the markdown: `file:line`. */
function locate(snippet: Snippet, line: number): string {
  let rest = line;
  for (const part of partsOf(snippet)) {
    const lines = part.code.split('\n').length - 1;
    if (rest < lines) return `${part.file}:${part.line + rest + 1}`;
    rest -= lines;
  }
  return `${snippet.file}:${snippet.line}`;
}

/** A compiler host that serves the snippets as files under SNIPPET_DIR and resolves our packages. */
function hostFor(virtual: Map<string, string>): ts.CompilerHost {
  const host = ts.createCompilerHost(OPTIONS, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (path) => virtual.has(path) || fileExists.call(host, path);
  host.readFile = (path) => virtual.get(path) ?? readFile.call(host, path);
  host.getSourceFile = (path, version, ...rest) => {
    const text = virtual.get(path);
    if (text !== undefined) return ts.createSourceFile(path, text, version, true);
    return getSourceFile.call(host, path, version, ...rest);
  };
  host.resolveModuleNameLiterals = (literals, containingFile, _redirect, options, containing) =>
    literals.map((literal) => {
      const mode = ts.getModeForUsageLocation(containing, literal, options);
      return (
        resolveOurs(literal.text, host) ??
        ts.resolveModuleName(literal.text, containingFile, options, host, undefined, undefined, mode)
      );
    });
  return host;
}

/** One program over every snippet: the diagnostics of each, as `file:line:column TSnnnn message`. */
function compile(snippets: Snippet[]): { perSnippet: Map<Snippet, string[]>; global: string[] } {
  const bySnippet = new Map(snippets.map((s) => [snippetPath(s), s]));
  const virtual = new Map(
    snippets.map((s) => [
      snippetPath(s),
      partsOf(s)
        .map((part) => part.code)
        .join(''),
    ]),
  );
  const program = ts.createProgram([...virtual.keys()], OPTIONS, hostFor(virtual));
  const perSnippet = new Map<Snippet, string[]>();
  for (const [path, snippet] of bySnippet) {
    const source = program.getSourceFile(path)!;
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    perSnippet.set(
      snippet,
      diagnostics.map((d) => {
        const at = d.start === undefined ? { line: 0, character: 0 } : source.getLineAndCharacterOfPosition(d.start);
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n    ');
        return `${locate(snippet, at.line)}:${at.character + 1} TS${d.code} ${text}`;
      }),
    );
  }
  const global = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()].map((d) =>
    ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  );
  return { perSnippet, global };
}

describe('documentation: every program it shows compiles under strict TypeScript', function () {
  this.timeout(120_000);
  const files = documents();
  const found = files.map((file) => snippetsOf(file, readFileSync(join(ROOT, file), 'utf8')));
  const snippets = found.flatMap((f) => f.snippets);
  const markers = found.flatMap((f) => f.markers);
  const compiled = snippets.filter((s) => s.fragment === undefined);
  let result: ReturnType<typeof compile>;

  before(() => {
    result = compile(compiled);
  });

  it('finds the documents and their programs', () => {
    expect(files).to.include.members(['README.md', 'SECURITY.md', 'packages/core/README.md', 'docs/proxies.md']);
    const withSnippets = new Set(snippets.map((s) => s.file));
    expect([...withSnippets]).to.include.members([
      'README.md',
      'packages/agent/README.md',
      'packages/express/README.md',
      'packages/koa/README.md',
      'packages/fastify/README.md',
    ]);
    expect(snippets.filter((s) => TYPESCRIPT.has(s.language)).length, 'ts blocks').to.be.at.least(10);
    expect(snippets.filter((s) => s.after).length, 'continued blocks').to.be.at.least(3);
    // Few deliberate fragments: each one is code a reader cannot check by pasting it.
    expect(snippets.length - compiled.length, 'fragments').to.be.at.most(2);
  });

  it('every snippet marker is a known kind, right above a fence', () => {
    const wrong = markers
      .filter((m) => !MARKERS.has(m.kind) || !m.onFence)
      .map((m) => `${m.file}:${m.line} snippet: ${m.kind}`);
    expect(wrong, `markers are ${[...MARKERS].join(', ')}, on the line before a fence`).to.deep.equal([]);
    const orphans = snippets.filter(
      (s) =>
        s.after === undefined &&
        markers.some((m) => m.file === s.file && m.line === s.line - 1 && m.kind === 'continues'),
    );
    expect(
      orphans.map((s) => `${s.file}:${s.line}`),
      'continues with no block above it',
    ).to.deep.equal([]);
  });

  it('the compiler options themselves are sound', () => {
    expect(result.global).to.deep.equal([]);
  });

  for (const snippet of snippets) {
    const name = `${snippet.file}:${snippet.line} (${snippet.language}${snippet.after ? `, after line ${snippet.after.line}` : ''})`;
    if (snippet.fragment !== undefined) {
      it.skip(`${name}: a fragment (${snippet.fragment})`);
      continue;
    }
    it(`${name} compiles`, () => {
      const diagnostics = result.perSnippet.get(snippet)!;
      expect(diagnostics, `${name}:\n${diagnostics.join('\n')}\n`).to.deep.equal([]);
    });
  }
});
