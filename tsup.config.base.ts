import { defineConfig } from 'tsup';

/** The one build of every package: ESM + CommonJS with type declarations for each, for Node 20. */
export function packageBuild(entry: string[] = ['src/index.ts']) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    outDir: 'dist',
  });
}
