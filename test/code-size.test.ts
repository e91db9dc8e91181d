/**
 * The core stays readable: no source file over 500 lines and no function over 80 (from its first
 * line to its closing brace). Functions are found with TypeScript's own parser, so nested
 * functions, methods, accessors and arrow functions all count.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CORE = join(ROOT, 'packages/core/src');
const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 80;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every function-like node longer than `max` lines, as `file:line name (N lines)`. */
function longFunctions(fileName: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > max) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${fileName}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code size of packages/core/src', () => {
  const files = sourceFiles(CORE);

  it(`no file over ${MAX_FILE_LINES} lines`, () => {
    const long = files
      .map((file) => ({ file: relative(ROOT, file), lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file} (${lines} lines)`);
    expect(long).to.deep.equal([]);
  });

  it(`no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((file) =>
      longFunctions(relative(ROOT, file), readFileSync(file, 'utf8'), MAX_FUNCTION_LINES),
    );
    expect(long).to.deep.equal([]);
  });

  it('the function check counts what it should (a long function is reported, a short one is not)', () => {
    const body = Array.from({ length: 85 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text = `function long() {\n${body}\n}\nconst short = () => 1;\nclass C { method() {\n${body}\n} }\n`;
    expect(longFunctions('x.ts', text, MAX_FUNCTION_LINES)).to.deep.equal([
      'x.ts:1 long (87 lines)',
      'x.ts:89 method (87 lines)',
    ]);
  });
});
