#!/usr/bin/env node
// A packed README is read on the registry's page and in node_modules, where a link relative to the
// repository (`../../SECURITY.md`, `../core/README.md#warnings`) leads nowhere. Each package's
// `prepack` runs this to write its README.md with every relative link made absolute (into the
// repository, on its default branch) and keep the original; `postpack` puts the original back, so
// the repository's README keeps its relative links. Links to anchors in the same file stay as
// they are.
//
//   node ../../scripts/pack-readme.mjs prepack|postpack    run by pnpm or npm in a package's directory
//   node scripts/pack-readme.mjs print packages/core       the README as it is packed, on stdout
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const SLUG = 'clientcert/clientcert';
export const REPOSITORY = `https://github.com/${SLUG}`;
export const BRANCH = 'main';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A pack whose original is kept longer than this stopped before its postpack: its original is put back. */
const STALE_MS = 120_000;

// One pass over the text. A code span (group 1) is kept whole, so that code such as `handlers[i](req)`
// is never read as a link; otherwise a link target: inline `](target`, a reference definition
// `[id]: target`, or an HTML `href="target"` / `src="target"`. Each link alternative captures
// what comes before the target, then the target.
const LINKS =
  /(`+)[\s\S]*?[^`]\1(?!`)|(\]\(\s*<?)([^\s()<>]+)|(^ {0,3}\[[^\]\n]+\]:[ \t]*<?)([^\s<>]+)|(\b(?:href|src)\s*=\s*["'])([^"'\s]+)/gm;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const IMAGE = /\.(?:png|jpe?g|gif|svg|webp)$/i;

/**
 * `markdown` with each link relative to `dir` (a folder of the repository, `packages/core`) made
 * absolute. Fenced code blocks are left as they are. Throws when a link leads to nothing in the
 * repository: a dead link is fixed in the README, not published.
 */
export function absoluteLinks(markdown, dir) {
  const out = [];
  let prose = [];
  let fence = null;
  for (const line of markdown.split('\n')) {
    const marker = FENCE.exec(line)?.[1];
    if (fence === null && !marker) {
      prose.push(line);
      continue;
    }
    // A fence line or a line inside a fence: the prose before it is rewritten, this line kept.
    if (prose.length > 0) out.push(rewrite(prose.join('\n'), dir));
    prose = [];
    out.push(line);
    if (fence === null) fence = marker;
    else if (marker?.[0] === fence[0] && marker.length >= fence.length) fence = null;
  }
  if (prose.length > 0) out.push(rewrite(prose.join('\n'), dir));
  return out.join('\n');
}

function rewrite(prose, dir) {
  return prose.replace(LINKS, (match, _span, inline, inlineTarget, ref, refTarget, html, htmlTarget) => {
    if (inline !== undefined) return inline + absolute(inlineTarget, dir);
    if (ref !== undefined) return ref + absolute(refTarget, dir);
    if (html !== undefined) return html + absolute(htmlTarget, dir);
    return match;
  });
}

/** One link target: kept when it is an anchor or already absolute, else its address in the repository. */
export function absolute(target, dir) {
  if (target.startsWith('#') || target.startsWith('//') || /^[a-z][a-z0-9+.-]*:/i.test(target)) return target;
  const at = target.search(/[?#]/);
  const path = at < 0 ? target : target.slice(0, at);
  const suffix = at < 0 ? '' : target.slice(at);
  // GitHub reads `/x` in a README as the repository's root.
  const file = posix.normalize(path.startsWith('/') ? path.slice(1) : posix.join(dir, path)).replace(/\/$/, '');
  const onDisk = join(root, ...decodeURI(file).split('/'));
  if (file === '..' || file.startsWith('../') || !existsSync(onDisk)) {
    throw new Error(`${dir}/README.md links to ${target}, which is not in the repository: fix the link`);
  }
  // An image is shown from its bytes; a blob address is a page.
  if (IMAGE.test(file)) return `https://raw.githubusercontent.com/${SLUG}/${BRANCH}/${file}${suffix}`;
  const kind = file === '.' || statSync(onDisk).isDirectory() ? 'tree' : 'blob';
  return `${REPOSITORY}/${kind}/${BRANCH}${file === '.' ? '' : `/${file}`}${suffix}`;
}

/** The package folder `cwd` is, as a path in the repository (`packages/core`). */
function packageDir(cwd) {
  const dir = relative(root, cwd).split(sep).join('/');
  if (dir === '' || dir.startsWith('..') || !existsSync(join(cwd, 'README.md'))) {
    throw new Error(`pack-readme: run it in a package folder of the repository that has a README.md (not ${cwd})`);
  }
  return dir;
}

/** Where the original README waits during a pack; it is also the lock against a second pack at once. */
const keptPath = (cwd) => join(cwd, 'node_modules', '.cache', 'pack-readme', 'README.md');

function restore(cwd) {
  const kept = keptPath(cwd);
  const readme = join(cwd, 'README.md');
  const original = readFileSync(kept, 'utf8');
  // Someone saved the README during the pack: their text wins over the copy kept before it.
  if (readFileSync(readme, 'utf8') === absoluteLinks(original, packageDir(cwd))) writeFileSync(readme, original);
  else console.warn(`pack-readme: ${readme} changed during the pack; left as it is now`);
  rmSync(kept);
}

async function prepack(cwd) {
  // A dry run reads no file's content, and pnpm runs no postpack after one.
  if (process.env.npm_config_dry_run === 'true') return;
  const dir = packageDir(cwd);
  const readme = join(cwd, 'README.md');
  const kept = keptPath(cwd);
  mkdirSync(dirname(kept), { recursive: true });
  for (;;) {
    let lock;
    try {
      lock = openSync(kept, 'wx');
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    if (lock !== undefined) {
      // Read only once the lock is held: a pack finishing now has put its original back by then.
      try {
        writeFileSync(lock, readFileSync(readme, 'utf8'));
      } finally {
        closeSync(lock);
      }
      break;
    }
    // Another pack of this package is running (wait for its postpack), or one stopped half-way.
    if (Date.now() - statSync(kept, { throwIfNoEntry: false })?.mtimeMs > STALE_MS) restore(cwd);
    else await new Promise((resolve) => setTimeout(resolve, 200));
  }
  try {
    writeFileSync(readme, absoluteLinks(readFileSync(kept, 'utf8'), dir));
  } catch (error) {
    rmSync(kept);
    throw error;
  }
}

function postpack(cwd) {
  if (existsSync(keptPath(cwd))) restore(cwd);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, dir] = process.argv.slice(2);
  try {
    if (command === 'prepack') await prepack(process.cwd());
    else if (command === 'postpack') postpack(process.cwd());
    else if (command === 'print' && dir) {
      const folder = packageDir(join(root, dir));
      process.stdout.write(absoluteLinks(readFileSync(join(root, folder, 'README.md'), 'utf8'), folder));
    } else throw new Error('usage: pack-readme.mjs prepack | postpack | print <package folder>');
  } catch (error) {
    console.error(error.message);
    process.exit(1);
  }
}
