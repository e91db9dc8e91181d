/**
 * Test kit for revocation: CRLs signed by a `TestCA`, the extensions that point a certificate at
 * a responder or a distribution point, and a real OCSP responder (`openssl ocsp`) on loopback.
 *
 * Part of the `@clientcert/core/testkit` entry point. Like the rest of the kit it needs
 * @peculiar/x509 and therefore the `reflect-metadata` polyfill, which it imports itself (a bare
 * import of './index.js' would be dropped by bundlers, the package being `sideEffects: false`),
 * and it hands WebCrypto to @peculiar/x509 explicitly rather than relying on the kit's global
 * provider, so it works whichever of the two modules is loaded first.
 *
 * The responder is OpenSSL's own, not a re-implementation: `startOcspResponder` writes the CA,
 * its key and an index in OpenSSL's CA database format to a temporary directory, starts
 * `openssl ocsp -port 0` (OpenSSL 3 prints the port it bound) and puts a small TCP relay on
 * 127.0.0.1 in front of it. The relay is the URL the certificates name: it counts connections
 * (so tests can assert that no request was made) and makes "the responder is down" a plain
 * connection refused after `close()`. Always `await responder.close()` in an `after` hook: it
 * kills the process, closes the relay and removes the directory.
 */
import 'reflect-metadata';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { KeyPair, RawExtension, TestCA, TestCertificate } from './index.js';
import { derOid, derTlv, pem, signingAlgorithm } from './shared.js';

/** CRL entry reason codes by their RFC 5280 names. */
export type CrlReasonName =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'removeFromCRL'
  | 'privilegeWithdrawn'
  | 'aACompromise';

export interface RevokedEntryInput {
  /** Hex serial number, as `IssueOptions.serialNumber` takes it. */
  serialNumber: string;
  /** Revocation date (default: an hour ago, whole seconds). */
  date?: Date;
  reason?: CrlReasonName;
  /** Extra entry extensions (e.g. `unknownExtension()` for an unsupported critical one). */
  extensions?: RawExtension[];
}

/**
 * A CRL as RFC 5280 profiles it by default (v2, with a non-critical cRLNumber); each option
 * below breaks one rule on purpose. A CRL issuer whose keyUsage lacks cRLSign is a property of
 * the CA, not of the CRL: create the CA with e.g. `keyUsage: ['keyCertSign', 'digitalSignature']`.
 */
export interface CrlOptions {
  revoked?: RevokedEntryInput[];
  /** Default: a minute ago, whole seconds. */
  thisUpdate?: Date;
  /** Default: a day after thisUpdate; `null` omits it (a non-conforming CRL). */
  nextUpdate?: Date | null;
  /**
   * The cRLNumber (RFC 5280 §5.2.3: required, non-critical). Default: thisUpdate in seconds since
   * the epoch, so that a later CRL has a higher number. `null` omits it (a non-conforming CRL);
   * a negative value makes an invalid one.
   */
  crlNumber?: number | bigint | null;
  /** Mark cRLNumber critical (a non-conforming CRL). */
  crlNumberCritical?: boolean;
  /** Sign with this key pair instead of the CA's (the issuer name stays the CA's): a forged CRL. */
  signingKeys?: KeyPair;
  /** Extra CRL extensions (e.g. `issuingDistributionPointExtension(...)`, `unknownExtension()`). */
  extensions?: RawExtension[];
}

export interface TestCrl {
  readonly der: Buffer;
  /** `-----BEGIN X509 CRL-----` PEM with LF line ends and a final newline. */
  readonly pem: string;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
}

const REASONS: Record<CrlReasonName, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
};

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

// ---------------------------------------------------------------------------------------------
// A little DER, for extensions @peculiar/x509 has no class for

/** A uniformResourceIdentifier GeneralName. */
function uriName(uri: string): Buffer {
  return derTlv(0x86, Buffer.from(uri, 'latin1'));
}

/** A DER INTEGER, two's complement in the fewest octets. */
function integer(value: number | bigint): Buffer {
  let n = BigInt(value);
  const octets: number[] = [];
  for (;;) {
    octets.unshift(Number(n & 0xffn));
    n >>= 8n; // arithmetic shift: -1 stays -1
    const sign = octets[0]! & 0x80;
    if ((n === 0n && sign === 0) || (n === -1n && sign !== 0)) break;
  }
  return derTlv(0x02, Buffer.from(octets));
}

/** authorityInfoAccess naming an OCSP responder (and optionally a caIssuers URL). */
export function ocspAiaExtension(responderUrl: string, caIssuersUrl?: string): RawExtension {
  const descriptions = [derTlv(0x30, derOid('1.3.6.1.5.5.7.48.1'), uriName(responderUrl))];
  if (caIssuersUrl !== undefined) descriptions.push(derTlv(0x30, derOid('1.3.6.1.5.5.7.48.2'), uriName(caIssuersUrl)));
  return { oid: '1.3.6.1.5.5.7.1.1', critical: false, value: derTlv(0x30, ...descriptions) };
}

/** cRLDistributionPoints with one distribution point per URI (fullName). */
export function crlDistributionPointsExtension(uris: string[]): RawExtension {
  const points = uris.map((uri) => derTlv(0x30, derTlv(0xa0, derTlv(0xa0, uriName(uri)))));
  return { oid: '2.5.29.31', critical: false, value: derTlv(0x30, ...points) };
}

export interface IssuingDistributionPointInput {
  /** The distribution point this CRL is for (a fullName URI). */
  uri?: string;
  onlyContainsUserCerts?: boolean;
  onlyContainsCACerts?: boolean;
  indirectCRL?: boolean;
}

/** issuingDistributionPoint (critical, as RFC 5280 requires), for CRLs with a limited scope. */
export function issuingDistributionPointExtension(input: IssuingDistributionPointInput): RawExtension {
  const parts: Buffer[] = [];
  const TRUE = Buffer.from([0xff]);
  if (input.uri !== undefined) parts.push(derTlv(0xa0, derTlv(0xa0, uriName(input.uri))));
  if (input.onlyContainsUserCerts) parts.push(derTlv(0x81, TRUE));
  if (input.onlyContainsCACerts) parts.push(derTlv(0x82, TRUE));
  if (input.indirectCRL) parts.push(derTlv(0x84, TRUE));
  return { oid: '2.5.29.28', critical: true, value: derTlv(0x30, ...parts) };
}

/**
 * An extension no validator knows (a UUID-based OID under 2.25), critical unless told otherwise:
 * RFC 5280 §5.2 and §5.3 say a CRL with an unsupported critical CRL or entry extension must not
 * be used.
 */
export function unknownExtension(critical = true): RawExtension {
  return { oid: '2.25.170141183460469231731687303715884105727', critical, value: derTlv(0x05, Buffer.alloc(0)) };
}

/** deltaCRLIndicator (critical), to make a delta CRL. */
export function deltaCrlIndicatorExtension(baseCrlNumber: number): RawExtension {
  return { oid: '2.5.29.27', critical: true, value: integer(baseCrlNumber) };
}

// ---------------------------------------------------------------------------------------------
// CRLs

/**
 * A CRL issued by `ca` (its subject, byte for byte, as the issuer name; signed with its key
 * unless `signingKeys` says otherwise), listing `revoked`.
 */
export async function createCrl(ca: TestCertificate, options: CrlOptions = {}): Promise<TestCrl> {
  const caCertificate = new x509.X509Certificate(ca.der);
  const keys = options.signingKeys ?? ca.keys;
  const thisUpdate = options.thisUpdate ?? wholeSeconds(Date.now() - MINUTE_MS);
  const nextUpdate = options.nextUpdate === undefined ? new Date(thisUpdate.getTime() + DAY_MS) : options.nextUpdate;
  const crlNumber = options.crlNumber === undefined ? Math.floor(thisUpdate.getTime() / 1000) : options.crlNumber;
  const toExtension = (e: RawExtension): x509.Extension => new x509.Extension(e.oid, e.critical ?? false, e.value);
  const extensions = [
    ...(crlNumber === null
      ? []
      : [{ oid: '2.5.29.20', critical: options.crlNumberCritical ?? false, value: integer(crlNumber) }]),
    ...(options.extensions ?? []),
  ].map(toExtension);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: caCertificate.subjectName,
      thisUpdate,
      ...(nextUpdate === null ? {} : { nextUpdate }),
      entries: (options.revoked ?? []).map((entry) => ({
        serialNumber: entry.serialNumber,
        revocationDate: entry.date ?? wholeSeconds(Date.now() - 60 * MINUTE_MS),
        ...(entry.reason === undefined ? {} : { reason: REASONS[entry.reason] as x509.X509CrlReason }),
        ...(entry.extensions === undefined ? {} : { extensions: entry.extensions.map(toExtension) }),
      })),
      extensions,
      signingKey: keys.privateKey,
      signingAlgorithm: signingAlgorithm(keys.privateKey),
    },
    webcrypto as unknown as Parameters<typeof x509.X509CrlGenerator.create>[1],
  );
  const der = Buffer.from(crl.rawData);
  return {
    der,
    pem: pem('X509 CRL', der),
    thisUpdate,
    nextUpdate,
  };
}

// ---------------------------------------------------------------------------------------------
// OCSP responder

export interface OcspResponderOptions {
  /** Hex serial numbers the responder answers `good` for. Any other serial is `unknown`. */
  good?: string[];
  /** Serial numbers it answers `revoked` for. */
  revoked?: RevokedEntryInput[];
  /** Minutes until nextUpdate in every answer (`-nmin`); default: answers carry no nextUpdate. */
  nextUpdateMinutes?: number;
  /**
   * Sign answers with this certificate and key (a delegated responder, which should be issued by
   * the CA with the OCSPSigning EKU) instead of the CA's own.
   */
  signer?: TestCertificate;
  /** The openssl binary (default `openssl` on PATH). */
  openssl?: string;
}

export interface OcspResponder {
  /** `http://127.0.0.1:<port>/`: put it in certificates with `ocspAiaExtension(url)`. */
  readonly url: string;
  /** Connections made to the responder so far (one per OCSP request). */
  readonly requests: number;
  /** Stops the responder (idempotent); connections to `url` are then refused. */
  close(): Promise<void>;
}

/** openssl's CA database keeps serials as upper-case hex of whole bytes without leading zero bytes. */
function indexSerial(serial: string): string {
  let hex = serial.replace(/^0+/, '').toUpperCase();
  if (hex.length === 0) hex = '00';
  return hex.length % 2 === 1 ? `0${hex}` : hex;
}

/** YYMMDDHHMMSSZ, as openssl's index has it. */
function indexTime(date: Date): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.000Z
  return `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** openssl's spelling of the CRL reasons in its index (`CACompromise`, not `cACompromise`). */
const OPENSSL_REASONS: Partial<Record<CrlReasonName, string>> = {
  unspecified: 'unspecified',
  keyCompromise: 'keyCompromise',
  cACompromise: 'CACompromise',
  affiliationChanged: 'affiliationChanged',
  superseded: 'superseded',
  cessationOfOperation: 'cessationOfOperation',
  certificateHold: 'certificateHold',
  removeFromCRL: 'removeFromCRL',
};

/** The index.txt lines of OpenSSL's CA database: status, expiry, revocation, serial, file, subject. */
function indexLines(options: OcspResponderOptions): string {
  const expiry = '491231235959Z'; // far enough, and still a UTCTime
  const lines: string[] = [];
  for (const serial of options.good ?? []) {
    const hex = indexSerial(serial);
    lines.push(['V', expiry, '', hex, 'unknown', `/CN=serial ${hex}`].join('\t'));
  }
  for (const entry of options.revoked ?? []) {
    const hex = indexSerial(entry.serialNumber);
    const reason = entry.reason === undefined ? undefined : OPENSSL_REASONS[entry.reason];
    const revokedAt = indexTime(entry.date ?? wholeSeconds(Date.now() - 60 * MINUTE_MS));
    lines.push(
      [
        'R',
        expiry,
        reason === undefined ? revokedAt : `${revokedAt},${reason}`,
        hex,
        'unknown',
        `/CN=serial ${hex}`,
      ].join('\t'),
    );
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** Throws a clear error unless `binary` is OpenSSL 3. */
function requireOpenssl3(binary: string): void {
  const probe = spawnSync(binary, ['version'], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      `startOcspResponder: could not run "${binary} version" (${probe.error?.message ?? `exit ${probe.status}`}); ` +
        'a real OCSP responder needs the openssl command of OpenSSL 3 (install openssl, or pass { openssl: "/path/to/openssl" })',
    );
  }
  if (!/^OpenSSL 3\./.test(probe.stdout)) {
    throw new Error(
      `startOcspResponder: "${binary}" is ${probe.stdout.trim() || 'not OpenSSL'}; OpenSSL 3 is needed ` +
        '(it reports the port it bound for -port 0)',
    );
  }
}

/** Resolves with openssl's port once it has printed `ACCEPT <addr>:<port> PID=...`. */
function waitForAccept(child: ChildProcess, output: { text: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error('startOcspResponder: openssl ocsp did not start within 10 s')),
      10_000,
    );
    const onData = (): void => {
      const match = /ACCEPT \S*:(\d+)/.exec(output.text);
      if (match) done(null, Number(match[1]));
    };
    const onExit = (code: number | null): void =>
      done(new Error(`startOcspResponder: openssl ocsp exited (${code}): ${output.text.trim().slice(-500)}`));
    const onError = (error: Error): void =>
      done(new Error(`startOcspResponder: could not start openssl: ${error.message}`));
    function done(error: Error | null, port?: number): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(port!);
    }
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
    onData();
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 2000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A temporary directory with the files `openssl ocsp` reads: the CA, the signer and its key, the index. */
async function responderDirectory(ca: TestCA | TestCertificate, options: OcspResponderOptions): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clientcert-ocsp-'));
  const signer = options.signer ?? ca;
  await Promise.all([
    writeFile(join(dir, 'ca.pem'), ca.cert),
    writeFile(join(dir, 'signer.pem'), signer.cert),
    writeFile(join(dir, 'signer.key'), signer.key, { mode: 0o600 }),
    writeFile(join(dir, 'index.txt'), indexLines(options)),
    // Several test certificates may share a made-up subject: do not require unique ones.
    writeFile(join(dir, 'index.txt.attr'), 'unique_subject = no\n'),
  ]);
  return dir;
}

function responderArgs(options: OcspResponderOptions): string[] {
  const args = ['ocsp', '-index', 'index.txt', '-CA', 'ca.pem', '-rsigner', 'signer.pem', '-rkey', 'signer.key'];
  args.push('-port', '0', '-ignore_err', '-timeout', '5');
  if (options.nextUpdateMinutes !== undefined) args.push('-nmin', String(options.nextUpdateMinutes));
  return args;
}

/** A TCP relay on 127.0.0.1 in front of the responder, counting the connections it relays. */
function countingRelay(upstreamPort: number, sockets: Set<net.Socket>, counter: { requests: number }): net.Server {
  return net.createServer((client) => {
    counter.requests++;
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
}

/**
 * Starts `openssl ocsp` as a responder for `ca` with the given good and revoked serials, behind a
 * counting relay on 127.0.0.1. Fails with a clear message when OpenSSL 3 is not installed.
 */
export async function startOcspResponder(
  ca: TestCA | TestCertificate,
  options: OcspResponderOptions = {},
): Promise<OcspResponder> {
  const binary = options.openssl ?? 'openssl';
  requireOpenssl3(binary);
  const dir = await responderDirectory(ca, options);
  const child = spawn(binary, responderArgs(options), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { text: '' };
  const collect = (chunk: Buffer): void => {
    output.text = (output.text + chunk.toString('latin1')).slice(-4096);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  // Never leave a responder behind, even when a test forgets to close it.
  const onProcessExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', onProcessExit);

  const sockets = new Set<net.Socket>();
  let relay: net.Server | undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    process.off('exit', onProcessExit);
    for (const socket of sockets) socket.destroy();
    if (relay?.listening) await new Promise<void>((resolve) => relay!.close(() => resolve()));
    await stopProcess(child);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const upstreamPort = await waitForAccept(child, output);
    const counter = { requests: 0 };
    relay = countingRelay(upstreamPort, sockets, counter);
    const server = relay;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as net.AddressInfo;
    return {
      url: `http://127.0.0.1:${port}/`,
      get requests() {
        return counter.requests;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
