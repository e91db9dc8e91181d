/**
 * `clientcert gen`: a throwaway CA with server and client certificates, instead of the five
 * openssl commands. Uses the core's test kit (`@clientcert/core/testkit`), loaded only here.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import type { TestCA, TestCertificate } from '@clientcert/core/testkit';
import { CliError, EXIT, usageError } from '../errors.js';

export interface GenOptions {
  out?: string | undefined;
  keyType?: string | undefined;
  clientSubject?: string | undefined;
  /** `dns:x,uri:spiffe://…,email:…,ip:…` (several strings are concatenated). */
  san?: string[] | undefined;
  days?: string | number | undefined;
  serverName?: string | undefined;
  intermediate?: boolean | undefined;
  pfx?: boolean | undefined;
  passphrase?: string | undefined;
  force?: boolean | undefined;
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
      throw usageError(`--san entry "${item}" must be dns:<name>, uri:<uri>, email:<address> or ip:<address>`);
    }
    if (kind === 'ip' && isIP(value) === 0) throw usageError(`--san entry "${item}" is not an IP address`);
    san[kind as keyof SanList].push(value);
  }
  return san;
}

export async function gen(options: GenOptions = {}): Promise<GenResult> {
  const keyType = options.keyType ?? 'ec';
  if (keyType !== 'ec' && keyType !== 'rsa') throw usageError('--key-type must be rsa or ec');
  const days = options.days === undefined ? 365 : Number(options.days);
  if (!Number.isInteger(days) || days === 0 || Math.abs(days) > 36500)
    throw usageError('--days must be a non-zero whole number of days (negative: already expired)');
  const serverName = options.serverName ?? 'localhost';
  if (!/^[A-Za-z0-9*]([A-Za-z0-9.*-]*[A-Za-z0-9])?$/.test(serverName) && isIP(serverName) === 0)
    throw usageError(`--server-name "${serverName}" is not a host name or IP address`);
  const clientSubject = options.clientSubject ?? 'CN=client';
  if (!/^[A-Za-z][A-Za-z0-9.-]*=/.test(clientSubject))
    throw usageError('--client-subject must be an RFC 4514 name such as "CN=alice,O=Acme"');
  const san = parseSanList(options.san ?? []);
  if (options.pfx && options.passphrase === undefined)
    throw usageError("--pfx needs --passphrase (use --passphrase '' for none)");
  if (!options.pfx && options.passphrase !== undefined) throw usageError('--passphrase is only used with --pfx');

  const dir = resolve(options.out ?? '.');
  const names = [
    'ca.pem',
    'ca.key',
    ...(options.intermediate ? ['intermediate.pem', 'intermediate.key'] : []),
    'server.pem',
    'server.key',
    'client.pem',
    'client.key',
    ...(options.pfx ? ['client.pfx'] : []),
  ];
  if (!options.force) {
    const existing = names.filter((n) => existsSync(join(dir, n)));
    if (existing.length > 0)
      throw usageError(`${join(dir, existing[0]!)} exists: use --force to overwrite, or --out <dir>`);
  }

  const { createCA } = await import('@clientcert/core/testkit');
  let ca: TestCA;
  let issuer: TestCA;
  let intermediate: TestCA | undefined;
  try {
    const caDays = Math.max(3650, days + 1);
    ca = await createCA({ subject: 'CN=clientcert test CA', keyType, validDays: caDays });
    intermediate = options.intermediate
      ? await ca.intermediate({ subject: 'CN=clientcert test intermediate CA', keyType, validDays: caDays })
      : undefined;
    issuer = intermediate ?? ca;
  } catch (error) {
    throw new CliError(EXIT.input, `could not generate the CA: ${(error as Error).message}`);
  }
  const validity =
    days > 0
      ? { validDays: days }
      : {
          notBefore: new Date(Date.now() + (days - 1) * 86_400_000),
          notAfter: new Date(Date.now() + days * 86_400_000),
        };
  let server: TestCertificate;
  let client: TestCertificate;
  try {
    const serverSan = isIP(serverName)
      ? { ip: [serverName] }
      : { dns: [serverName], ...(serverName === 'localhost' ? { ip: ['127.0.0.1', '::1'] } : {}) };
    server = await issuer.issue({
      subject: `CN=${serverName}`,
      san: serverSan,
      eku: ['serverAuth'],
      keyType,
      ...validity,
    });
    const hasSan = san.dns.length + san.uri.length + san.email.length + san.ip.length > 0;
    client = await issuer.issue({
      subject: clientSubject,
      ...(hasSan ? { san } : {}),
      eku: ['clientAuth'],
      keyType,
      ...validity,
    });
  } catch (error) {
    throw usageError(`could not issue the certificates: ${(error as Error).message}`);
  }

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
  write('ca.pem', ca.cert);
  write('ca.key', ca.key, true);
  if (intermediate) {
    write('intermediate.pem', intermediate.cert);
    write('intermediate.key', intermediate.key, true);
  }
  write('server.pem', server.fullChain);
  write('server.key', server.key, true);
  write('client.pem', client.fullChain);
  write('client.key', client.key, true);
  if (options.pfx) write('client.pfx', exportPfx(client.fullChain, client.key, options.passphrase ?? ''), true);

  const host = serverName;
  return {
    dir,
    files: names,
    tryIt: [
      `openssl s_server -accept 8443 -cert server.pem -key server.key -CAfile ca.pem -Verify 1 -www`,
      `curl --cacert ca.pem --cert client.pem --key client.key https://${isIP(host) === 6 ? `[${host}]` : host}:8443/`,
    ],
  };
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
