/**
 * `clientcert check`: would this certificate pass this configuration? The configuration is read
 * the way an app reads it (`loadOptionsFile` of the core) and used as given: its mode, sources,
 * trustProxy and everything else mean what they mean to the middleware, and an option the
 * middleware refuses is refused here with the same error. The certificate then goes through
 * `createClientCertAuth(options).authenticate(request)`, the function every adapter calls, in the
 * request such an app would receive (./request.ts), and the answer is the middleware's.
 */
import {
  type AuthResult,
  type ClientCertAuth,
  type ClientCertOptions,
  compileTrustAnchors,
  createClientCertAuth,
  isClientCertError,
  loadOptionsFile,
  parseCertificate,
} from '@clientcert/core';
import { CliError, EXIT, inputError, usageError } from '../errors.js';
import {
  HEADER_NAMES,
  type HeaderFormat,
  headerValueOf,
  kindOf,
  loadCertificates,
  readArgument,
  readFile,
} from '../input.js';
import { explain } from './explain.js';
import { type BuiltRequest, buildRequest, type CheckInput, type TlsVerdict, type Transport } from './request.js';

export type { CheckInput, Transport } from './request.js';

export interface CheckOptions {
  /** The configuration file (.json, .js, .mjs, .cjs). */
  config: string;
  format?: string | undefined;
  /** The header the value came from, and is sent in. */
  header?: string | undefined;
  passphrase?: string | undefined;
  /** Decide as of this time (ISO 8601). */
  at?: string | undefined;
  /** Files with the HTTPS server's `ca`: the certificate is presented on a TLS connection. */
  tlsCa?: string[] | undefined;
  /** The immediate peer's address. */
  from?: string | undefined;
  /** Other request headers, `name: value`. */
  addHeaders?: string[] | undefined;
  /** Decide a request that presents no certificate. */
  noCertificate?: boolean | undefined;
}

interface CheckCommon {
  subject: string | null;
  sha256: string | null;
  /** How the certificate reached the middleware (`tls`, `xfcc`, `rfc9440`, ...), when it did. */
  source: string | null;
  /** The request, in words: connection, peer, headers. */
  request: string;
  /** What the TLS stack said of the certificate, for a TLS connection that presented one. */
  tls: TlsVerdict | null;
  /** What the middleware reports at start-up about this configuration. */
  configuration: string;
  /** Warnings the middleware logged (at start-up, and for this request). */
  warnings: string[];
  /** Why the answer is what it is, where the middleware's code alone does not say. */
  notes: string[];
}

export type CheckResult =
  | (CheckCommon & {
      verdict: 'authenticated';
      accepted: true;
      verifiedBy: string | null;
      pin: string | null;
      identity: string | null;
    })
  | (CheckCommon & { verdict: 'anonymous'; accepted: false })
  | (CheckCommon & {
      verdict: 'rejected';
      accepted: false;
      status: number;
      code: string;
      detail: string;
      /** Which check decided (`chain.expired`, `pins`, `rules.identities`, ...). */
      check: string | null;
      /** The full account the middleware keeps for logs (the detail stays general on purpose), if any. */
      reason: string | null;
    });

/** Loads a configuration file as an app would (`loadOptionsFile`); its errors as the CLI's. */
export async function loadConfig(path: string): Promise<ClientCertOptions> {
  try {
    return await loadOptionsFile(path);
  } catch (error) {
    throw configurationError(error);
  }
}

/** Runs the middleware on the certificate (file, `-`, header value, or none) and reports its decision. */
export async function check(input: string | undefined, options: CheckOptions): Promise<CheckResult> {
  if (options.noCertificate ? input !== undefined : input === undefined)
    throw usageError('check: give a certificate (file, header value or -), or --no-certificate');
  const config = await loadConfig(options.config);
  const transport: Transport & { at?: Date } = {
    ...(options.tlsCa?.length ? { tlsCa: options.tlsCa.map(readTlsCa) } : {}),
    from: options.from,
    headers: (options.addHeaders ?? []).map(headerLine),
    ...(options.at !== undefined ? { at: parseDate(options.at) } : {}),
  };
  let presented: CheckInput = { kind: 'none' };
  if (input !== undefined) {
    const { data, name } = readArgument(input, true);
    presented = readCheckInput(data, name, options);
  }
  return decide(presented, config, transport);
}

/**
 * What `check` presents, from a file's bytes or a header value. A value that cannot be decoded
 * here is still sent (the middleware refuses it as malformed, and that is the answer), and so is
 * one for a header of a custom source, whose format only the app's decode function knows.
 */
export function readCheckInput(
  data: Buffer,
  name: string,
  options: { format?: string | undefined; header?: string | undefined; passphrase?: string | undefined } = {},
): CheckInput {
  const header = options.header?.toLowerCase();
  if (header !== undefined && HEADER_NAMES[header] === undefined && options.format === undefined) {
    const { value } = headerValueOf(data.toString('utf8'), null);
    return { kind: 'header', value, format: null, header, leaf: null, chain: [] };
  }
  try {
    const loaded = loadCertificates(data, name, options);
    if (loaded.kind !== 'header') return { kind: 'certificate', leaf: loaded.leaf, chain: loaded.chain };
    const { leaf, chain, value, format } = loaded;
    return { kind: 'header', value: value!, format, header: header ?? loaded.header, leaf, chain };
  } catch (error) {
    if (!(error instanceof CliError) || error.exitCode !== EXIT.input) throw error;
    if (kindOf(data, options.format) !== 'header') throw error;
    const forced = (options.format ?? (header ? HEADER_NAMES[header] : undefined) ?? null) as HeaderFormat | null;
    const parts = headerValueOf(data.toString('utf8'), forced);
    if (parts.value === '') throw error;
    return {
      kind: 'header',
      value: parts.value,
      format: parts.format,
      header: header ?? parts.header,
      leaf: null,
      chain: [],
    };
  }
}

/** The middleware's decision for `input` under `config`, in the request described by `transport`. */
export async function decide(
  input: CheckInput,
  config: ClientCertOptions,
  transport: Transport & { at?: Date | undefined } = {},
): Promise<CheckResult> {
  const warnings: string[] = [];
  const logger = { info: () => undefined, warn: (line: string) => void warnings.push(unprefixed(line)) };
  const at = transport.at;
  let auth: ClientCertAuth;
  try {
    auth = createClientCertAuth({ ...config, logger, ...(at ? { clock: () => at } : {}) });
  } catch (error) {
    throw configurationError(error);
  }
  const built = buildRequest(input, auth.options, transport, at ?? auth.options.clock());
  const result = await auth.authenticate(built.request);
  return report(input, auth, built, result, warnings);
}

function report(
  input: CheckInput,
  auth: ClientCertAuth,
  built: BuiltRequest,
  result: AuthResult,
  warnings: string[],
): CheckResult {
  const leaf = input.kind === 'none' ? null : describeLeaf(input.leaf);
  const common = {
    subject: leaf?.subject ?? null,
    sha256: leaf?.sha256 ?? null,
    source: null as string | null,
    request: describeRequest(input, built),
    tls: built.tls,
    configuration: unprefixed(auth.describe()),
    warnings,
    notes: explain(input, auth.options, built, result),
  };
  if (result.ok && result.certificate) {
    const c = result.certificate;
    return {
      verdict: 'authenticated',
      accepted: true,
      ...common,
      subject: c.subject.rfc4514,
      sha256: c.fingerprints.sha256,
      source: c.source,
      verifiedBy: c.verifiedBy ?? null,
      pin: c.authorization?.pin ?? null,
      identity: c.authorization?.identity ?? null,
    };
  }
  if (result.ok) return { verdict: 'anonymous', accepted: false, ...common };
  return {
    verdict: 'rejected',
    accepted: false,
    ...common,
    status: result.problem.status,
    code: result.problem.code,
    detail: result.problem.detail,
    check: result.error.check ?? null,
    reason: result.error.reason ?? null,
  };
}

function describeLeaf(der: Buffer | null): { subject: string; sha256: string } | null {
  if (der === null) return null;
  try {
    const parsed = parseCertificate(der);
    return { subject: parsed.subject.rfc4514, sha256: parsed.fingerprints.sha256 };
  } catch {
    return null;
  }
}

function describeRequest(input: CheckInput, built: BuiltRequest): string {
  const parts = [
    built.secure
      ? `TLS connection from ${built.from}${input.kind === 'certificate' ? ' presenting the certificate' : ''}`
      : `plain HTTP from ${built.from}`,
  ];
  if (built.carrier) parts.push(`certificate in ${built.carrier}`);
  const others = [...new Set(built.sent.filter((name) => name !== built.carrier))];
  if (others.length > 0) parts.push(`also ${others.join(', ')}`);
  return parts.join('; ');
}

/** The HTTPS server's `ca` from a file: PEM text or DER, checked to hold certificates. */
function readTlsCa(file: string): string | Buffer {
  const data = readFile(file);
  const value = data.includes('-----BEGIN') ? data.toString('utf8') : data;
  try {
    compileTrustAnchors(value);
  } catch (error) {
    throw inputError(`--tls-ca ${file}: ${(error as Error).message.replace(/^clientcert: /, '')}`);
  }
  return value;
}

/** `name: value`, as curl -H takes it. */
function headerLine(line: string): [string, string] {
  const match = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*)$/s.exec(line);
  if (!match) throw usageError('--add-header takes "name: value", e.g. --add-header "ssl-client-verify: SUCCESS"');
  return [match[1]!.toLowerCase(), match[2]!.trim()];
}

function parseDate(text: string): Date {
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw usageError(`--at is not a date: use ISO 8601, e.g. 2030-01-01T00:00:00Z`);
  return at;
}

/** A configuration the core refuses: its message, exit 3. */
function configurationError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  const message = unprefixed(error instanceof Error ? error.message : String(error));
  if (isClientCertError(error) && message.startsWith('option ')) return inputError(`invalid configuration: ${message}`);
  return inputError(message);
}

function unprefixed(line: string): string {
  return line.replace(/^clientcert: /, '');
}

/** Human-readable decision. */
export function formatCheck(result: CheckResult): string {
  const who = result.subject === null ? '' : ` ${result.subject || '(empty subject)'}`;
  const lines =
    result.verdict === 'authenticated'
      ? [
          `accepted:${who}`,
          `  verified by: ${result.verifiedBy ?? '(none)'}`,
          `  pin:         ${result.pin ?? '(no pins configured)'}`,
          `  identity:    ${result.identity ?? '(no identities configured)'}`,
          `  source:      ${result.source}`,
        ]
      : result.verdict === 'anonymous'
        ? [`anonymous:${who}`, '  the request goes on with clientCert null: the certificate was not read']
        : [
            `rejected:${who}`,
            `  status:      ${result.status}`,
            `  code:        ${result.code}`,
            `  detail:      ${result.detail}`,
            `  check:       ${result.check ?? '(none)'}`,
            ...(result.reason && result.reason !== result.detail ? [`  reason:      ${result.reason}`] : []),
          ];
  lines.push(`  request:     ${result.request}`);
  if (result.tls)
    lines.push(
      `  TLS stack:   ${result.tls.authorized ? 'verified' : `not verified (${result.tls.authorizationError})`}`,
    );
  lines.push(`  config:      ${result.configuration}`);
  for (const warning of result.warnings) lines.push(`  warning:     ${warning}`);
  for (const note of result.notes) lines.push(`  note:        ${note}`);
  return lines.join('\n');
}
