/**
 * Reading what the commands are given: a file (PEM, PEM bundle, DER or PKCS#12), standard input
 * (`-`), or a forwarded header value in one of the formats the core reads.
 */
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  type CompiledHeaderSource,
  compileHeaderSource,
  type HeaderSourceName,
  parseCertificateChain,
  parseXfcc,
  pemToDer,
  readHeaderSource,
  selectXfccElement,
  type XfccElement,
  xfccHashMatches,
  xfccLeaf,
} from '@clientcert/core';
import { inputError, shown, usageError } from './errors.js';

/** Formats of a header value. */
export type HeaderFormat = 'xfcc' | HeaderSourceName;
export const HEADER_FORMATS: readonly HeaderFormat[] = [
  'xfcc',
  'rfc9440',
  'traefik',
  'url-pem',
  'base64-der',
  'aws-alb',
];

/** Header names that identify a format, for `--header` and for pasted `Name: value` lines. */
export const HEADER_NAMES: Readonly<Record<string, HeaderFormat>> = {
  'x-forwarded-client-cert': 'xfcc',
  'client-cert': 'rfc9440',
  'x-forwarded-tls-client-cert': 'traefik',
  'ssl-client-cert': 'url-pem',
  'x-ssl-client-cert': 'url-pem',
  'x-client-cert': 'base64-der',
  'x-arr-clientcert': 'base64-der',
  'cf-client-cert-der-base64': 'base64-der',
  'x-amzn-mtls-clientcert': 'aws-alb',
  'x-amzn-mtls-clientcert-leaf': 'aws-alb',
};

/** What was read: the leaf and the other certificates (DER), and how they were found. */
export interface LoadedCertificates {
  /** `pem`, `der`, `pfx` for files, `header` for a header value. */
  readonly kind: 'pem' | 'der' | 'pfx' | 'header';
  readonly format: HeaderFormat | null;
  readonly leaf: Buffer;
  readonly chain: Buffer[];
  /** The header value as given (Name: prefix removed), for `header`. */
  readonly value: string | null;
  /** The header named by a pasted `Name: value` line (lower-case), for `header`. */
  readonly header: string | null;
  /** XFCC only: what the header said besides the certificate. */
  readonly xfcc: {
    readonly elements: number;
    readonly selected: number;
    readonly by: string[];
    readonly hashMatches: boolean;
  } | null;
}

export interface LoadOptions {
  /** Force a header format (else detected). */
  format?: string | undefined;
  /** The header the value came from (selects the format). */
  header?: string | undefined;
  /** For PKCS#12 files. */
  passphrase?: string | undefined;
  /** XFCC: which element (`last`, the default as in the middleware, or `first`). */
  element?: 'first' | 'last' | undefined;
}

/**
 * The bytes of `argument`: `-` is standard input; an existing file is read. Anything else is
 * returned as text when `allowValue` (a header value given on the command line), else an error
 * naming the file.
 */
export function readArgument(argument: string, allowValue: boolean): { data: Buffer; name: string; isValue: boolean } {
  if (argument === '-') {
    try {
      return { data: readFileSync(0), name: 'standard input', isValue: false };
    } catch (error) {
      throw inputError(`cannot read standard input: ${reason(error)}`);
    }
  }
  let isFile = false;
  try {
    isFile = statSync(argument).isFile();
  } catch {
    isFile = false;
  }
  if (isFile) return { data: readFile(argument), name: argument, isValue: false };
  if (allowValue && looksLikeValue(argument))
    return { data: Buffer.from(argument, 'utf8'), name: 'the header value', isValue: true };
  return { data: readFile(argument), name: argument, isValue: false }; // throws, naming the file
}

export function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw inputError(`cannot read ${shown(path, 120)}: ${reason(error)}`);
  }
}

function reason(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return error instanceof Error ? error.message : String(error);
}

/** Text that cannot be a file name someone meant: a header value pasted on the command line. */
function looksLikeValue(text: string): boolean {
  return text.length > 64 || /^[:\-%]|[=;"]/.test(text);
}

/** Reads certificates from a file's bytes or a header value. */
export function loadCertificates(data: Buffer, name: string, options: LoadOptions = {}): LoadedCertificates {
  const forced = options.format ?? (options.header ? formatOfHeader(options.header) : undefined);
  if (
    forced !== undefined &&
    !HEADER_FORMATS.includes(forced as HeaderFormat) &&
    !['pem', 'der', 'pfx'].includes(forced)
  ) {
    throw usageError(`unknown --format "${shown(forced)}": use pem, der, pfx or one of ${HEADER_FORMATS.join(', ')}`);
  }
  const kind = kindOf(data, forced);
  if (kind === 'pfx') return fromPfx(data, name, options.passphrase);
  if (kind === 'der') return fromDer(data, name);
  const text = data.toString('utf8').trim();
  if (kind === 'pem') return fromPem(text, name);
  return fromHeaderValue(text, (forced as HeaderFormat | undefined) ?? null, options.element ?? 'last', name);
}

/** What `data` is read as: a PKCS#12, DER or PEM file, or a header value (`forced`: a --format). */
export function kindOf(data: Buffer, forced?: string): 'pfx' | 'der' | 'pem' | 'header' {
  if (forced === 'pfx' || forced === 'der' || forced === 'pem') return forced;
  if (forced !== undefined) return 'header';
  if (isPkcs12(data)) return 'pfx';
  if (isBinary(data)) return 'der';
  return isPlainPem(data.toString('utf8').trim()) ? 'pem' : 'header';
}

/**
 * A header value's parts without decoding it: the value (a pasted `Name: ` removed), its format
 * (forced, named by the header, or detected) and the header it names.
 */
export function headerValueOf(
  text: string,
  forced: HeaderFormat | null,
): { value: string; format: HeaderFormat; header: string | null } {
  const stripped = stripHeaderName(text.trim());
  const value = stripped.value.trim();
  return { value, format: forced ?? stripped.format ?? detectFormat(value), header: stripped.header };
}

function formatOfHeader(header: string): HeaderFormat {
  const format = HEADER_NAMES[header.toLowerCase()];
  if (!format) {
    throw usageError(
      `unknown --header "${shown(header)}": use --format (${HEADER_FORMATS.join(', ')}) for other header names`,
    );
  }
  return format;
}

function isBinary(data: Buffer): boolean {
  return (
    data.length > 0 &&
    data[0] === 0x30 &&
    data.subarray(0, 64).some((b) => b < 0x09 || (b > 0x0d && b < 0x20) || b > 0x7e)
  );
}

/** PFX: SEQUENCE { INTEGER 3, ContentInfo ... }. */
function isPkcs12(data: Buffer): boolean {
  if (data.length < 8 || data[0] !== 0x30) return false;
  const lengthBytes = data[1]! & 0x80 ? data[1]! & 0x7f : 0;
  const at = 2 + lengthBytes;
  return data[at] === 0x02 && data[at + 1] === 0x01 && data[at + 2] === 0x03;
}

function isPlainPem(text: string): boolean {
  return text.includes('-----BEGIN CERTIFICATE-----') && !/(^|[;,]\s*)(Cert|Chain)="/i.test(text);
}

function fromDer(data: Buffer, name: string): LoadedCertificates {
  try {
    new X509Certificate(data);
  } catch {
    throw inputError(`${name} is not a DER certificate (nor PEM, PKCS#12 or a header value)`);
  }
  return { kind: 'der', format: null, leaf: data, chain: [], value: null, header: null, xfcc: null };
}

function fromPem(text: string, name: string): LoadedCertificates {
  let ders: Buffer[];
  try {
    ders = parseCertificateChain(text).map((c) => c.raw);
  } catch (error) {
    throw inputError(
      `${name} has no readable PEM certificate: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const [leaf, ...chain] = ders;
  if (!leaf) throw inputError(`${name} has no PEM certificate`);
  return { kind: 'pem', format: null, leaf, chain, value: null, header: null, xfcc: null };
}

// ---------------------------------------------------------------------------------------------
// PKCS#12, through the openssl command (Node has no PKCS#12 reader)

function fromPfx(data: Buffer, name: string, passphrase: string | undefined): LoadedCertificates {
  if (passphrase === undefined)
    throw usageError(`${name} is a PKCS#12 (PFX) file: give its --passphrase (use --passphrase '' for none)`);
  const leafPem = openssl(['pkcs12', '-nokeys', '-clcerts'], data, passphrase, name);
  const caPem = openssl(['pkcs12', '-nokeys', '-cacerts'], data, passphrase, name);
  const leaves = leafPem.includes('-----BEGIN') ? parseCertificateChain(leafPem).map((c) => c.raw) : [];
  const others = caPem.includes('-----BEGIN') ? parseCertificateChain(caPem).map((c) => c.raw) : [];
  const [leaf, ...rest] = [...leaves, ...others];
  if (!leaf) throw inputError(`${name} contains no certificate`);
  return { kind: 'pfx', format: null, leaf, chain: rest, value: null, header: null, xfcc: null };
}

/** Runs `openssl <args>` with `data` on stdin and the passphrase in the environment; PEM out. */
export function openssl(args: string[], data: Buffer, passphrase: string, name: string): string {
  const env = { ...process.env, CLIENTCERT_PASSPHRASE: passphrase };
  const run = (legacy: boolean) =>
    spawnSync('openssl', [...args, ...(legacy ? ['-legacy'] : []), '-passin', 'env:CLIENTCERT_PASSPHRASE'], {
      input: data,
      env,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
  let result = run(false);
  if (result.error)
    throw inputError(
      `reading PKCS#12 (PFX) needs the openssl command, which could not be run: ${result.error.message}`,
    );
  if (result.status !== 0 && /unsupported|RC2/i.test(result.stderr)) result = run(true); // old PFX (RC2/3DES) under OpenSSL 3
  if (result.status !== 0) {
    const wrong = /mac verify|invalid password|bad decrypt/i.test(result.stderr);
    throw inputError(
      wrong
        ? `cannot open ${name}: wrong passphrase`
        : `cannot read ${name} as PKCS#12 (PFX): ${firstLine(result.stderr)}`,
    );
  }
  return result.stdout;
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '') ?? 'openssl failed'
  );
}

// ---------------------------------------------------------------------------------------------
// Header values

/** Detects a value's format (XFCC, RFC 9440 byte sequences, URL-encoded PEM, Traefik, base64 DER). */
export function detectFormat(value: string): HeaderFormat {
  if (/^\s*(By|Hash|Cert|Chain|Subject|URI|DNS)=/i.test(value)) return 'xfcc';
  if (value.startsWith(':')) return 'rfc9440';
  if (/^(-----BEGIN|%2D%2D%2D%2D%2DBEGIN)/i.test(value)) {
    return (value.match(/BEGIN/g)?.length ?? 0) > 1 ? 'aws-alb' : 'url-pem';
  }
  if (value.includes(',') || value.includes('%')) return 'traefik';
  return 'base64-der';
}

/** Removes a pasted `Name: ` prefix of a known header; returns the format and the header it names. */
function stripHeaderName(text: string): { value: string; format: HeaderFormat | null; header: string | null } {
  const match = /^([A-Za-z0-9-]+):\s*/.exec(text);
  const header = match ? match[1]!.toLowerCase() : undefined;
  const format = header ? HEADER_NAMES[header] : undefined;
  return format
    ? { value: text.slice(match![0].length), format, header: header! }
    : { value: text, format: null, header: null };
}

const DEFAULT_HEADER: Record<HeaderSourceName, string> = {
  rfc9440: 'client-cert',
  traefik: 'x-forwarded-tls-client-cert',
  'url-pem': 'ssl-client-cert',
  'base64-der': 'x-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert',
};

function fromHeaderValue(
  text: string,
  forced: HeaderFormat | null,
  element: 'first' | 'last',
  name: string,
): LoadedCertificates {
  const { value, format, header } = headerValueOf(text, forced);
  if (value === '') throw inputError(`${name} is empty`);
  try {
    if (format === 'xfcc') {
      const elements = parseXfcc(value);
      const selected = selectXfccElement(elements, element);
      if (!selected) throw inputError(`${name}: the XFCC value has no element`);
      const leafPem = xfccLeaf(selected);
      if (!leafPem)
        throw inputError(
          `${name}: the ${element} XFCC element carries no Cert or Chain (only ${describeElement(selected)})`,
        );
      const leaf = pemToDer(leafPem);
      const chain = selected.chain.map(pemToDer).filter((der) => !der.equals(leaf));
      return {
        kind: 'header',
        format,
        leaf,
        chain,
        value,
        header,
        xfcc: {
          elements: elements.length,
          selected: elements.indexOf(selected) + 1,
          by: [...selected.by],
          hashMatches: xfccHashMatches(selected, leaf),
        },
      };
    }
    const headers: Record<string, string> = {};
    if (format === 'rfc9440') {
      // A pasted list: the first byte sequence is Client-Cert, the rest Client-Cert-Chain.
      const [first, ...rest] = splitList(value);
      headers['client-cert'] = first!;
      if (rest.length > 0) headers['client-cert-chain'] = rest.join(', ');
    } else {
      headers[DEFAULT_HEADER[format]] = value;
    }
    const source = compileHeaderSource({ source: format } as never);
    const forwarded = readHeaderSourceSafe(source, headers);
    return { kind: 'header', format, leaf: forwarded.leaf, chain: forwarded.chain, value, header, xfcc: null };
  } catch (error) {
    if (error instanceof Error && error.name === 'CliError') throw error;
    throw inputError(
      `${name} is not a valid ${format} value: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function readHeaderSourceSafe(
  source: CompiledHeaderSource,
  headers: Record<string, string>,
): { leaf: Buffer; chain: Buffer[] } {
  const forwarded = readHeaderSource(source, headers);
  if (!forwarded) throw inputError('no certificate in the value');
  return { leaf: forwarded.leaf, chain: [...forwarded.chain] };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function describeElement(element: XfccElement): string {
  const keys = [
    element.by.length ? 'By' : '',
    element.hash ? 'Hash' : '',
    element.subject !== undefined ? 'Subject' : '',
    element.uri.length ? 'URI' : '',
    element.dns.length ? 'DNS' : '',
  ].filter(Boolean);
  return keys.length ? keys.join(', ') : 'nothing';
}
