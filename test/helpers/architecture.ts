/**
 * The import-direction checker behind test/architecture.test.ts: given source files (path relative
 * to the package's src/ → text) and a table of layers, it lists every relative import that goes
 * where the table does not allow. Pure over its inputs, so a test can run it on a real tree or on
 * a few synthetic files.
 */
import { posix } from 'node:path';
import ts from 'typescript';

export interface LayerRule {
  /** A folder under src/, or a name that `rootFiles` gives to files directly in src/. */
  readonly layer: string;
  /** Layers this one may import (besides itself). Each must come earlier in the table. */
  readonly mayImport: readonly string[];
  /** Why the layer sits where it does: read by people, not by the checker. */
  readonly why: string;
}

export interface ImportException {
  /** Importing file and imported file, relative to src/ (`.ts`). */
  readonly from: string;
  readonly to: string;
  /** Why it is tolerated for now, and what removes it. */
  readonly why: string;
}

export interface Architecture {
  readonly layers: readonly LayerRule[];
  /** Layer of each file directly in src/ (files in a folder belong to the folder's layer). */
  readonly rootFiles: Readonly<Record<string, string>>;
  readonly exceptions: readonly ImportException[];
}

export interface Violation {
  readonly from: string;
  readonly to: string;
  readonly fromLayer: string | null;
  readonly toLayer: string | null;
}

export interface CheckResult {
  readonly violations: Violation[];
  /** Exceptions that match no import any more: delete them from the table. */
  readonly unusedExceptions: ImportException[];
  /** Table errors: a layer allowed to import one that is not below it, or an unknown layer. */
  readonly tableErrors: string[];
}

/** The layer of a file given relative to src/, or null when the table has none for it. */
export function layerOf(file: string, architecture: Architecture): string | null {
  const slash = file.indexOf('/');
  const layer = slash === -1 ? architecture.rootFiles[file] : file.slice(0, slash);
  return layer !== undefined && architecture.layers.some((rule) => rule.layer === layer) ? layer : null;
}

/** Relative import specifiers of one file (static, `export … from`, dynamic and `import type`), comments ignored. */
export function relativeImports(text: string): string[] {
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.map((entry) => entry.fileName)
    .filter((name) => name.startsWith('./') || name.startsWith('../'));
}

export function checkImports(files: ReadonlyMap<string, string>, architecture: Architecture): CheckResult {
  const tableErrors: string[] = [];
  const below = new Map<string, Set<string>>();
  architecture.layers.forEach((rule, index) => {
    const earlier = new Set(architecture.layers.slice(0, index).map((other) => other.layer));
    for (const target of rule.mayImport) {
      if (!earlier.has(target))
        tableErrors.push(`${rule.layer} may import ${target}, which is not below it in the table`);
    }
    below.set(rule.layer, new Set(rule.mayImport));
  });

  const violations: Violation[] = [];
  const used = new Set<ImportException>();
  for (const [from, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const fromLayer = layerOf(from, architecture);
    for (const specifier of relativeImports(text)) {
      // Sources import each other as './name.js'; the file on disk is name.ts.
      const to = posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
      const toLayer = to.startsWith('../') ? null : layerOf(to, architecture);
      const allowed =
        fromLayer !== null &&
        toLayer !== null &&
        (fromLayer === toLayer || (below.get(fromLayer)?.has(toLayer) ?? false));
      if (allowed) continue;
      const exception = architecture.exceptions.find((entry) => entry.from === from && entry.to === to);
      if (exception) {
        used.add(exception);
        continue;
      }
      violations.push({ from, to, fromLayer, toLayer });
    }
  }
  const unusedExceptions = architecture.exceptions.filter((entry) => !used.has(entry));
  return { violations, unusedExceptions, tableErrors };
}
