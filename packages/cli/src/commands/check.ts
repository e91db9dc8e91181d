/**
 * `clientcert check`: would this certificate pass this configuration? It runs the real middleware
 * pipeline, `createClientCertAuth(options).authenticate(request)`, on a plain-data request that
 * carries the certificate as a forwarded header from a trusted loopback proxy, so the answer is the
 * one the middleware gives for the same certificate behind a proxy.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type ClientCertAuth,
  type ClientCertOptions,
  type CompiledHeaderSource,
  createClientCertAuth,
  createXfccForwarder,
  parseCertificate,
} from '@clientcert/core';
import { CliError, EXIT, inputError, usageError } from '../errors.js';
import { type LoadedCertificates, loadCertificates, readArgument } from '../input.js';

export interface CheckOptions {
  config: string;
  format?: string | undefined;
  passphrase?: string | undefined;
  /** Decide as of this time (ISO 8601). */
  at?: string | undefined;
}

export type CheckResult =
  | {
      accepted: true;
      subject: string | null;
      sha256: string | null;
      verifiedBy: string | null;
      pin: string | null;
      identity: string | null;
      /** How the certificate reached the middleware (`xfcc`, `rfc9440`, ...). */
      source: string | null;
    }
  | {
      accepted: false;
      subject: string | null;
      sha256: string | null;
      code: string;
      detail: string;
      /** Which check decided (`chain.expired`, `pins`, `rules.identities`, ...). */
      check: string | null;
      source: string | null;
    };

/** Loads a JSON or JS-module configuration; file paths in ca/intermediates/pins resolved from its directory. */
export async function loadConfig(path: string): Promise<ClientCertOptions> {
  const absolute = resolve(path);
  let options: unknown;
  const ext = extname(absolute).toLowerCase();
  if (ext === '.json') {
    let text: string;
    try {
      text = readFileSync(absolute, 'utf8');
    } catch (error) {
      throw inputError(
        `cannot read ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
      );
    }
    try {
      options = JSON.parse(text);
    } catch (error) {
      throw inputError(`${path} is not valid JSON: ${(error as Error).message}`);
    }
  } else if (ext === '.js' || ext === '.mjs' || ext === '.cjs') {
    try {
      readFileSync(absolute);
    } catch {
      throw inputError(`cannot read ${path}: no such file`);
    }
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
    } catch (error) {
      throw inputError(`cannot load ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
    options = 'default' in module ? module.default : module;
    if (typeof options === 'function') options = await (options as () => unknown)();
  } else {
    throw usageError(`--config must be a .json, .js, .mjs or .cjs file (got ${path})`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw inputError(`${path} must contain (or export) an object of middleware options`);
  }
  return resolvePaths({ ...(options as ClientCertOptions) }, dirname(absolute), path);
}

/** `ca`, `intermediates` and `pins` may name files: read them, relative to the config's directory. */
function resolvePaths(options: ClientCertOptions, base: string, configName: string): ClientCertOptions {
  const readPath = (value: string, option: string): string | Buffer => {
    const file = isAbsolute(value) ? value : resolve(base, value);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch {
      throw inputError(
        `${configName}: ${option} "${value}" is neither PEM text nor a readable file (looked for ${file})`,
      );
    }
    return data.includes('-----BEGIN') ? data.toString('utf8') : data;
  };
  const isPath = (value: unknown): value is string =>
    typeof value === 'string' &&
    !value.includes('-----BEGIN') &&
    !/^(sha256:|spki-sha256:|sha256\/)/i.test(value.trim()) &&
    /[./\\]/.test(value) &&
    !/^[A-Za-z0-9+/]{43}=$/.test(value.trim());
  const each = <T>(value: T | readonly T[], fn: (v: T, i: number) => T): T | T[] =>
    Array.isArray(value) ? value.map(fn) : fn(value as T, 0);
  const opts = options as Record<string, unknown>;
  for (const key of ['ca', 'intermediates'] as const) {
    if (opts[key] !== undefined)
      opts[key] = each(opts[key], (v, i) =>
        isPath(v) ? readPath(v, Array.isArray(opts[key]) ? `${key}[${i}]` : key) : v,
      );
  }
  if (opts.pins !== undefined) {
    opts.pins = each(opts.pins as unknown, (pin, i) => {
      if (isPath(pin)) return readPath(pin, `pins[${i}]`);
      if (typeof pin === 'object' && pin !== null && !(pin instanceof Uint8Array)) {
        const spec = { ...(pin as Record<string, unknown>) };
        for (const k of ['leaf', 'issuer'])
          if (isPath(spec[k])) spec[k] = readPath(spec[k] as string, `pins[${i}].${k}`);
        return spec;
      }
      return pin;
    });
  }
  return options;
}

/** Runs the middleware on the certificate (file, `-`, or header value) and reports its decision. */
export async function check(input: string, options: CheckOptions): Promise<CheckResult> {
  const config = await loadConfig(options.config);
  let at: Date | undefined;
  if (options.at !== undefined) {
    at = new Date(options.at);
    if (Number.isNaN(at.getTime()))
      throw usageError(`--at "${options.at}" is not a date (use ISO 8601, e.g. 2030-01-01T00:00:00Z)`);
  }
  const { data, name } = readArgument(input, true);
  const loaded = loadCertificates(data, name, { format: options.format, passphrase: options.passphrase });
  return decide(loaded, config, at);
}

/** The middleware's decision for `loaded` under `config`. */
export async function decide(loaded: LoadedCertificates, config: ClientCertOptions, at?: Date): Promise<CheckResult> {
  const source = loaded.kind === 'header' ? loaded.format! : 'xfcc';
  const options: ClientCertOptions = {
    ...config,
    source,
    mode: 'require',
    trustProxy: '127.0.0.1',
    logger: false,
    ...(at ? { clock: () => at } : {}),
  };
  let auth: ClientCertAuth;
  try {
    auth = createClientCertAuth(options);
  } catch (error) {
    throw new CliError(EXIT.input, `invalid configuration: ${(error as Error).message.replace(/^clientcert: /, '')}`);
  }
  const headers: Record<string, string> = {};
  const compiled = auth.options.sources[0];
  if (source === 'xfcc') {
    headers[auth.options.xfccHeader] = loaded.kind === 'header' ? loaded.value! : xfccFor(loaded, auth.options.xfccBy);
  } else {
    const header = (compiled as CompiledHeaderSource).header;
    if (loaded.format === 'rfc9440' && loaded.chain.length > 0 && (compiled as CompiledHeaderSource).chainHeader) {
      headers[header] = `:${loaded.leaf.toString('base64')}:`;
      headers[(compiled as CompiledHeaderSource).chainHeader!] = loaded.chain
        .map((d) => `:${d.toString('base64')}:`)
        .join(', ');
    } else {
      headers[header] = loaded.value!;
    }
  }
  const rawHeaders = Object.entries(headers).flat();
  const socket = { remoteAddress: '127.0.0.1', encrypted: false } as unknown as Socket;
  const result = await auth.authenticate({ socket, headers, rawHeaders });
  let leaf: { subject: string; sha256: string } | null = null;
  try {
    const parsed = parseCertificate(loaded.leaf);
    leaf = { subject: parsed.subject.rfc4514, sha256: parsed.fingerprints.sha256 };
  } catch {
    leaf = null;
  }
  if (result.ok) {
    const c = result.certificate;
    return {
      accepted: true,
      subject: c?.subject.rfc4514 ?? leaf?.subject ?? null,
      sha256: c?.fingerprints.sha256 ?? leaf?.sha256 ?? null,
      verifiedBy: c?.verifiedBy ?? null,
      pin: c?.authorization?.pin ?? null,
      identity: c?.authorization?.identity ?? null,
      source: c?.source ?? source,
    };
  }
  return {
    accepted: false,
    subject: leaf?.subject ?? null,
    sha256: leaf?.sha256 ?? null,
    code: result.problem.code,
    detail: result.problem.detail,
    check: result.error.check ?? null,
    source,
  };
}

/** The XFCC element a proxy (with the config's expected `By`, if any) writes for this certificate. */
function xfccFor(loaded: LoadedCertificates, expectedBy: ReadonlySet<string> | null): string {
  const by = expectedBy ? [[...expectedBy][0]!] : undefined;
  const forwarder = createXfccForwarder({ mode: 'SANITIZE_SET', details: ['Cert', 'Chain'], ...(by ? { by } : {}) });
  type Peer = { raw: Buffer; issuerCertificate?: Peer };
  const top: Peer = { raw: loaded.leaf };
  let current = top;
  for (const der of loaded.chain) current = current.issuerCertificate = { raw: der };
  const socket = { encrypted: true, authorized: true, getPeerX509Certificate: () => top } as unknown as Socket;
  const value = forwarder.headerFor(socket, undefined);
  if (value === undefined) throw inputError('the certificate cannot be written into an XFCC header');
  return value;
}

/** Human-readable decision. */
export function formatCheck(result: CheckResult): string {
  const who = result.subject === null ? '' : ` ${result.subject || '(empty subject)'}`;
  if (result.accepted) {
    return [
      `accepted:${who}`,
      `  verified by: ${result.verifiedBy ?? '(none)'}`,
      `  pin:         ${result.pin ?? '(no pins configured)'}`,
      `  identity:    ${result.identity ?? '(no identities configured)'}`,
      `  source:      ${result.source}`,
    ].join('\n');
  }
  return [
    `rejected:${who}`,
    `  code:        ${result.code}`,
    `  detail:      ${result.detail}`,
    `  check:       ${result.check ?? '(unknown)'}`,
    `  source:      ${result.source}`,
  ].join('\n');
}
