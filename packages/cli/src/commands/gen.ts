/**
 * `clientcert gen`: a throwaway CA with server and client certificates, instead of the five
 * openssl commands; or, with `--ca` and `--ca-key`, more clients (expired, not yet valid, any
 * number) from a CA that exists. Uses the core's test kit (`@clientcert/core/testkit`), loaded
 * only here. File names are the ones the documentation uses: `clients-ca.pem` for the CA (it also
 * issues the server's certificate, so it is the one file both sides trust), `server.pem`,
 * `client.pem`, each with its `.key`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { IssueOptions, TestCA, TestCertificate } from '@clientcert/core/testkit';
import { CliError, EXIT, shown, usageError } from '../errors.js';
import { type ExistingIssuer, loadIssuer } from './gen-issuer.js';

export interface GenOptions {
  out?: string | undefined;
  keyType?: string | undefined;
  /** One subject per client (default one client, `CN=client`). */
  clientSubject?: string | string[] | undefined;
  /** File name of a single client, without extension (default `client`). */
  name?: string | undefined;
  /** `dns:x,uri:spiffe://…,email:…,ip:…` (several strings are concatenated); for every client. */
  san?: string[] | undefined;
  days?: string | number | undefined;
  /** The leaves' validity starts then (ISO 8601): a future date makes them not yet valid. */
  notBefore?: string | undefined;
  serverName?: string | undefined;
  intermediate?: boolean | undefined;
  pfx?: boolean | undefined;
  passphrase?: string | undefined;
  force?: boolean | undefined;
  /** An existing CA's certificate (PEM) to issue from, with `caKey`. */
  ca?: string | undefined;
  caKey?: string | undefined;
}

export interface GenResult {
  /** The directory written to (absolute). */
  dir: string;
  /** File names written, in order. */
  files: string[];
  /** Commands to try the certificates with (paths relative to `dir`). */
  tryIt: string[];
}

export interface SanList {
  dns: string[];
  uri: string[];
  email: string[];
  ip: string[];
}

const DAY_MS = 86_400_000;

/** Parses `dns:x,uri:y,email:z,ip:w` (kinds case-insensitive). */
export function parseSanList(items: readonly string[]): SanList {
  const san: SanList = { dns: [], uri: [], email: [], ip: [] };
  for (const item of items
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const colon = item.indexOf(':');
    const kind = colon > 0 ? item.slice(0, colon).toLowerCase() : '';
    const value = item.slice(colon + 1);
    if (!['dns', 'uri', 'email', 'ip'].includes(kind) || value === '') {
      throw usageError(`--san entry "${shown(item)}" must be dns:<name>, uri:<uri>, email:<address> or ip:<address>`);
    }
    if (kind === 'ip' && isIP(value) === 0) throw usageError(`--san entry "${shown(item)}" is not an IP address`);
    san[kind as keyof SanList].push(value);
  }
  return san;
}

/** What to issue, validated. */
interface Plan {
  keyType: 'ec' | 'rsa';
  validity: Pick<IssueOptions, 'validDays' | 'notBefore' | 'notAfter'>;
  /** Until when the leaves are valid: a new CA must outlive them. */
  until: number;
  server: string | null;
  clients: Array<{ name: string; subject: string }>;
  san: SanList;
}

function plan(options: GenOptions): Plan {
  const keyType = options.keyType ?? 'ec';
  if (keyType !== 'ec' && keyType !== 'rsa') throw usageError('--key-type must be rsa or ec');
  if ((options.ca === undefined) !== (options.caKey === undefined))
    throw usageError('--ca and --ca-key go together: the CA certificate and its private key');
  if (options.ca !== undefined && options.intermediate)
    throw usageError('--intermediate makes a new CA: to issue from an intermediate, give it as --ca');
  const serverName = options.serverName ?? (options.ca === undefined ? 'localhost' : null);
  if (serverName !== null && !/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/.test(serverName) && isIP(serverName) === 0)
    throw usageError(`--server-name "${shown(serverName)}" is not a host name or IP address`);
  if (options.pfx && options.passphrase === undefined)
    throw usageError("--pfx needs --passphrase (use --passphrase '' for none)");
  if (!options.pfx && options.passphrase !== undefined) throw usageError('--passphrase is only used with --pfx');
  return {
    keyType,
    ...validity(options),
    server: serverName,
    clients: clientNames(options),
    san: parseSanList(options.san ?? []),
  };
}

/** `--days` (negative: already expired) and `--not-before` (in the future: not yet valid). */
function validity(options: GenOptions): Pick<Plan, 'validity' | 'until'> {
  const days = options.days === undefined ? 365 : Number(options.days);
  if (!Number.isInteger(days) || days === 0 || Math.abs(days) > 36500)
    throw usageError('--days must be a non-zero whole number of days (negative: already expired)');
  const now = Date.now();
  if (options.notBefore !== undefined) {
    const notBefore = new Date(options.notBefore);
    if (Number.isNaN(notBefore.getTime()))
      throw usageError('--not-before is not a date: use ISO 8601, e.g. 2030-01-01T00:00:00Z');
    if (days < 0) throw usageError('--days counts from --not-before: give a positive number');
    const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
    return { validity: { notBefore, notAfter }, until: notAfter.getTime() };
  }
  if (days > 0) return { validity: { validDays: days }, until: now + days * DAY_MS };
  // Expired: a day-long validity that ended |days| days ago.
  const notAfter = new Date(now + days * DAY_MS);
  return { validity: { notBefore: new Date(notAfter.getTime() - DAY_MS), notAfter }, until: notAfter.getTime() };
}

/** One file name per client subject: `--name` (default `client`) for one, `client-<CN>` for several; the subject defaults to `CN=<name>`. */
function clientNames(options: GenOptions): Plan['clients'] {
  const given = options.clientSubject;
  const subjects = given === undefined ? [`CN=${options.name ?? 'client'}`] : Array.isArray(given) ? given : [given];
  for (const subject of subjects) {
    if (!/^[A-Za-z][A-Za-z0-9.-]*=/.test(subject))
      throw usageError('--client-subject must be an RFC 4514 name such as "CN=alice,O=Acme"');
  }
  if (options.name !== undefined) {
    if (subjects.length > 1) throw usageError('--name names one client: leave it out to name several by their CN');
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(options.name))
      throw usageError(
        `--name "${shown(options.name)}" must be a file name without a directory (letters, digits, . _ -)`,
      );
  }
  if (subjects.length === 1) return [{ name: options.name ?? 'client', subject: subjects[0]! }];
  const clients = subjects.map((subject, i) => {
    const value = /^[^=]+=((?:\\.|[^,+\\])*)/.exec(subject)?.[1] ?? '';
    const slug = value
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '');
    return { name: `client-${slug || i + 1}`, subject };
  });
  const names = clients.map((c) => c.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw usageError(`two clients would be written to ${twice}.pem: give them different CNs`);
  return clients;
}

export async function gen(options: GenOptions = {}): Promise<GenResult> {
  const p = plan(options);
  const dir = resolve(options.out ?? '.');
  const fresh = options.ca === undefined;
  const names = [
    ...(fresh ? ['clients-ca.pem', 'clients-ca.key'] : []),
    ...(options.intermediate ? ['intermediate.pem', 'intermediate.key'] : []),
    ...(p.server !== null ? ['server.pem', 'server.key'] : []),
    ...p.clients.flatMap((c) => [`${c.name}.pem`, `${c.name}.key`, ...(options.pfx ? [`${c.name}.pfx`] : [])]),
  ];
  if (!options.force) {
    const existing = names.filter((n) => existsSync(join(dir, n)));
    if (existing.length > 0)
      throw usageError(`${join(dir, existing[0]!)} exists: use --force to overwrite, or --out <dir>`);
  }
  const issuer: Issuer = fresh
    ? await newIssuer(p, options.intermediate === true)
    : { ...(await loadIssuer(options.ca!, options.caKey!)), written: [] };
  const issued = await issueAll(p, issuer);

  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new CliError(EXIT.input, `cannot create ${dir}: ${(error as Error).message}`);
  }
  const write = (name: string, text: string | Buffer, secret = false) => {
    try {
      writeFileSync(join(dir, name), text, { mode: secret ? 0o600 : 0o644 });
    } catch (error) {
      throw new CliError(EXIT.input, `cannot write ${join(dir, name)}: ${(error as Error).message}`);
    }
  };
  for (const [name, certificate] of issuer.written) {
    write(`${name}.pem`, certificate.cert);
    write(`${name}.key`, certificate.key, true);
  }
  for (const { name, fullChain, key, client } of issued) {
    write(`${name}.pem`, fullChain);
    write(`${name}.key`, key, true);
    if (options.pfx && client) write(`${name}.pfx`, exportPfx(fullChain, key, options.passphrase ?? ''), true);
  }
  return { dir, files: names, tryIt: tryIt(p, fresh) };
}

/** The issuer of the leaves, and the CA files it makes (none for an existing CA). */
interface Issuer extends ExistingIssuer {
  readonly written: ReadonlyArray<readonly [string, TestCertificate]>;
}

async function newIssuer(p: Plan, withIntermediate: boolean): Promise<Issuer> {
  const { createCA } = await import('@clientcert/core/testkit');
  try {
    // The CA outlives its leaves (ten years, or more for long-lived ones).
    const validDays = Math.max(3650, Math.ceil((p.until - Date.now()) / DAY_MS) + 1);
    const ca: TestCA = await createCA({ subject: 'CN=clientcert test CA', keyType: p.keyType, validDays });
    const intermediate = withIntermediate
      ? await ca.intermediate({ subject: 'CN=clientcert test intermediate CA', keyType: p.keyType, validDays })
      : undefined;
    const issuing = intermediate ?? ca;
    return {
      issue: (options) => issuing.issue(options),
      presented: '',
      written: [['clients-ca', ca], ...(intermediate ? [['intermediate', intermediate] as const] : [])],
    };
  } catch (error) {
    throw new CliError(EXIT.input, `could not generate the CA: ${(error as Error).message}`);
  }
}

interface Issued {
  /** File name without extension. */
  name: string;
  /** The leaf, then what the holder presents after it. */
  fullChain: string;
  key: string;
  client: boolean;
}

/** The server (when asked for), then the clients. */
async function issueAll(p: Plan, issuer: ExistingIssuer): Promise<Issued[]> {
  const leaf = async (name: string, options: IssueOptions): Promise<Issued> => {
    const certificate = await issuer.issue({ keyType: p.keyType, ...p.validity, ...options });
    const client = options.eku?.includes('clientAuth') === true;
    return { name, fullChain: certificate.fullChain + issuer.presented, key: certificate.key, client };
  };
  const hasSan = p.san.dns.length + p.san.uri.length + p.san.email.length + p.san.ip.length > 0;
  try {
    const issued: Issued[] = [];
    if (p.server !== null) {
      const san = isIP(p.server)
        ? { ip: [p.server] }
        : { dns: [p.server], ...(p.server === 'localhost' ? { ip: ['127.0.0.1', '::1'] } : {}) };
      issued.push(await leaf('server', { subject: `CN=${p.server}`, san, eku: ['serverAuth'] }));
    }
    for (const client of p.clients) {
      issued.push(
        await leaf(client.name, { subject: client.subject, ...(hasSan ? { san: p.san } : {}), eku: ['clientAuth'] }),
      );
    }
    return issued;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw usageError(`could not issue the certificates: ${(error as Error).message}`);
  }
}

function tryIt(p: Plan, fresh: boolean): string[] {
  const client = p.clients[0]!.name;
  const host = p.server === null ? '<your server>' : isIP(p.server) === 6 ? `[${p.server}]` : p.server;
  return [
    ...(fresh
      ? ['openssl s_server -accept 8443 -cert server.pem -key server.key -CAfile clients-ca.pem -Verify 1 -www']
      : [`clientcert inspect ${client}.pem`]),
    `curl ${fresh ? '--cacert clients-ca.pem ' : ''}--cert ${client}.pem --key ${client}.key https://${host}${fresh ? ':8443' : ''}/`,
  ];
}

/** PKCS#12 with `openssl pkcs12 -export` (any key type; Node has no PKCS#12 writer). */
function exportPfx(fullChain: string, key: string, passphrase: string): Buffer {
  const result = spawnSync(
    'openssl',
    ['pkcs12', '-export', '-name', 'client', '-passout', 'env:CLIENTCERT_PASSPHRASE'],
    {
      input: `${key}\n${fullChain}`,
      env: { ...process.env, CLIENTCERT_PASSPHRASE: passphrase },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  if (result.error)
    throw new CliError(EXIT.input, `--pfx needs the openssl command, which could not be run: ${result.error.message}`);
  if (result.status !== 0)
    throw new CliError(EXIT.input, `openssl pkcs12 -export failed: ${result.stderr.toString().trim().split('\n')[0]}`);
  return result.stdout;
}
