/**
 * Options from a configuration file: a `.json` file, or a `.js` / `.mjs` / `.cjs` module whose
 * default export (or the module itself, or a function returning them) is the options. The app and
 * the `clientcert` command read a file this one way, so an option means the same in both.
 *
 * Every value keeps the meaning it has in code: a string `ca` is PEM text, never a file name. A
 * file's contents are asked for explicitly, `{ "file": "clients-ca.pem" }` (relative to the
 * configuration file), wherever certificates or CRLs are taken: `ca`, `intermediates`, `pins`
 * (and a pin's `leaf` / `issuer`), `revocation.crls`. What the file holds is then the value: PEM
 * text, or the bytes of a DER file.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ClientCertError } from '../errors.js';
import { invalidOption, knownKeys } from '../validate.js';
import type { ClientCertOptions } from './compile.js';

/** A file whose contents are the value, relative to the configuration file. */
export interface FileReference {
  readonly file: string;
}

/** Read and resolve a configuration file (see above). Errors name the file, the option and the fix. */
export async function loadOptionsFile(path: string): Promise<ClientCertOptions> {
  const absolute = resolve(path);
  const ext = extname(absolute).toLowerCase();
  let options: unknown;
  if (ext === '.json') {
    const text = readConfig(absolute, path).toString('utf8');
    try {
      options = JSON.parse(text);
    } catch (error) {
      throw configError(`${path} is not valid JSON: ${(error as Error).message}`);
    }
  } else if (ext === '.js' || ext === '.mjs' || ext === '.cjs') {
    readConfig(absolute, path); // a missing file is named here, not by the module loader
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    } catch (error) {
      throw configError(`cannot load ${path}: ${firstLine(error)}`);
    }
    options = 'default' in module ? module.default : module;
    if (typeof options === 'function') options = await (options as () => unknown)();
  } else {
    throw configError(`${path}: a configuration file is .json, .js, .mjs or .cjs`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw configError(`${path} must contain (or export) an object of options`);
  }
  return resolveOptionFiles(options, dirname(absolute));
}

/**
 * The options with every `{ file }` reference replaced by the file's contents (`baseDir`: what
 * relative names are relative to). A string that names an existing file where PEM text is
 * expected is refused with the fix: it would otherwise fail later as "no certificate found".
 */
export function resolveOptionFiles(input: object, baseDir: string): ClientCertOptions {
  const options = { ...(input as Record<string, unknown>) };
  const read = (value: unknown, path: string): unknown => readReference(value, path, baseDir);
  for (const key of ['ca', 'intermediates'] as const) {
    if (options[key] !== undefined) options[key] = eachEntry(options[key], key, read);
  }
  if (options.pins !== undefined)
    options.pins = eachEntry(options.pins, 'pins', (pin, path) => readPin(pin, path, read));
  if (isPlainObject(options.revocation) && options.revocation.crls !== undefined) {
    // A string CRL stays a path or URL, as the middleware reads it (relative to the process).
    const crls = eachEntry(options.revocation.crls, 'revocation.crls', (crl, path) =>
      isReference(crl) ? readReference(crl, path, baseDir) : crl,
    );
    options.revocation = { ...options.revocation, crls };
  }
  return options as ClientCertOptions;
}

/** A pin: certificate data, or `{ name, leaf, issuer }` whose `leaf` and `issuer` may be files. */
function readPin(pin: unknown, path: string, read: (value: unknown, path: string) => unknown): unknown {
  if (isReference(pin) || !isPlainObject(pin)) return read(pin, path);
  const spec = { ...pin };
  for (const key of ['leaf', 'issuer'] as const)
    if (spec[key] !== undefined) spec[key] = read(spec[key], `${path}.${key}`);
  return spec;
}

function eachEntry(value: unknown, path: string, fn: (entry: unknown, path: string) => unknown): unknown {
  return Array.isArray(value) ? value.map((entry, i) => fn(entry, `${path}[${i}]`)) : fn(value, path);
}

/** `{ file }` → the file's contents; a string naming a file → refused with the fix; anything else as given. */
function readReference(value: unknown, path: string, baseDir: string): unknown {
  if (typeof value === 'string') {
    if (namesFile(value, baseDir)) {
      throw invalidOption(
        path,
        `takes the certificate itself (PEM text), not a file name: to read the file, write { "file": ${JSON.stringify(value)} }`,
      );
    }
    return value;
  }
  if (!isReference(value)) return value;
  knownKeys(value, ['file'], path);
  if (typeof value.file !== 'string' || value.file === '') {
    throw invalidOption(`${path}.file`, 'must be a file name, relative to the configuration file');
  }
  const file = isAbsolute(value.file) ? value.file : resolve(baseDir, value.file);
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (error) {
    throw invalidOption(`${path}.file`, `could not be read: ${fileProblem(error)} (looked for ${file})`);
  }
  // PEM stays text, as it would be written inline; anything else (DER) is the bytes.
  return data.includes('-----BEGIN') ? data.toString('utf8') : data;
}

/** A string where data was meant that is a file name: an existing file, or a certificate file's name. */
function namesFile(value: string, baseDir: string): boolean {
  if (value.includes('-----BEGIN') || /^(sha256:|spki-sha256:|sha256\/)/i.test(value) || !/^\S{1,1024}$/.test(value))
    return false;
  if (/\.(pem|crt|cer|der|p7b)$/i.test(value)) return true;
  try {
    return statSync(isAbsolute(value) ? value : resolve(baseDir, value)).isFile();
  } catch {
    return false;
  }
}

function isReference(value: unknown): value is Record<string, unknown> & { file: unknown } {
  return isPlainObject(value) && 'file' in value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

function readConfig(absolute: string, path: string): Buffer {
  try {
    return readFileSync(absolute);
  } catch (error) {
    throw configError(`cannot read ${path}: ${fileProblem(error)}`);
  }
}

function fileProblem(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return firstLine(error);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function configError(message: string): ClientCertError {
  return new ClientCertError('invalid_option', `clientcert: ${message}`, { status: 500 });
}
