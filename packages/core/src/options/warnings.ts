/**
 * Misconfiguration warnings: each has a stable code, a documentation anchor (a heading of the
 * core's README under "Warnings"), and can be switched off one by one with the `warnings` option.
 * They go to the configured `logger` (`false` silences everything).
 */
import type { X509Certificate } from 'node:crypto';
import type { CompiledRules } from '../authorize/rules.js';
import type { TrustProxyFn } from '../sources/proxy-trust.js';
import { booleanOption, invalidOption } from '../validate.js';
import { certificateValidity } from '../x509/certificate.js';
import type { ProxyPreset } from './presets.js';

export const WARNING_CODES = [
  'trust_proxy_everywhere',
  'trust_proxy_default',
  'unverified_forwarded',
  'accept_mode',
  'sha1_thumbprint',
  'cn_only_rules',
  'expired_anchor',
  'tls_request_cert_off',
  'forwarded_untrusted',
  'untrusted_peer_header',
  'proxy_not_named',
  'revocation_soft_fail',
  'on_decision_error',
  'tls_chain_missing',
  'anchor_profile',
  'crl_not_usable',
  'request_rejected',
  'tls_source_plain_http',
  'anchor_not_ca',
] as const;

/** The stable code of a warning; also the anchor of its explanation in the core's README. */
export type WarningCode = (typeof WARNING_CODES)[number];

/** `false` switches every warning off; `{ <code>: false }` switches off that one (default: all on). */
export type WarningsOption = false | { readonly [code in WarningCode]?: boolean };

/** Where the warnings are explained: the core's README, one heading per code. */
export const WARNINGS_DOCS = 'https://github.com/clientcert/clientcert/blob/main/packages/core/README.md#';

/** Writes a coded warning to the logger, unless the logger or that code is switched off. */
export type WarnFn = (code: WarningCode, message: string) => void;

const KNOWN = new Set<string>(WARNING_CODES);

/** Validates `warnings` and returns the set of codes switched off (null: all of them). */
export function compileWarnings(input: unknown): ReadonlySet<WarningCode> | null {
  if (input === undefined) return new Set();
  if (input === false) return null;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidOption('warnings', 'must be false or an object such as { accept_mode: false }');
  }
  const off = new Set<WarningCode>();
  for (const [code, on] of Object.entries(input)) {
    if (!KNOWN.has(code))
      throw invalidOption(`warnings.${code}`, `is not a warning code (one of ${WARNING_CODES.join(', ')})`);
    if (!booleanOption(on, `warnings.${code}`)) off.add(code as WarningCode);
  }
  return off;
}

export function warningText(code: WarningCode, message: string): string {
  return `clientcert: ${message} (warning ${code}; see ${WARNINGS_DOCS}${code})`;
}

export function createWarn(
  logger: { warn(message: string): void } | null,
  off: ReadonlySet<WarningCode> | null,
): WarnFn {
  if (!logger || off === null) return () => {};
  return (code, message) => {
    if (!off.has(code)) logger.warn(warningText(code, message));
  };
}

/**
 * Control characters, quotes, backslashes, and the Unicode line and direction marks as escapes,
 * so that a value can be written on one log line and quoted. Returns the string itself when
 * nothing needs escaping.
 */
export function escapeForLog(value: string): string {
  let i = 0;
  for (; i < value.length; i++) if (needsEscape(value.charCodeAt(i))) break;
  if (i === value.length) return value;
  let out = value.slice(0, i);
  for (; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!needsEscape(c)) out += value[i];
    else if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x100) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return out;
}

function needsEscape(c: number): boolean {
  return (
    c < 0x20 ||
    c === 0x22 ||
    c === 0x5c ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 ||
    c === 0x2029 ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069)
  );
}

// ---------------------------------------------------------------------------------------------
// Start-up checks

/** What the start-up checks need to know of the compiled configuration. */
export interface StartupFacts {
  readonly mode: 'require' | 'accept' | 'ignore';
  /** Some source reads a forwarded header on every connection. */
  readonly readsHeaders: boolean;
  /** Some source may read one (`auto` without a proxy reads XFCC on plain-HTTP connections). */
  readonly mayReadHeaders: boolean;
  readonly trustProxy: TrustProxyFn;
  readonly trustProxyDescription: string;
  readonly trustProxyIsDefault: boolean;
  readonly preset: ProxyPreset | null;
  readonly anchors: readonly X509Certificate[] | null;
  /** Trust anchors the RFC 5280 profile refuses (each line names the verifyPolicy switch). */
  readonly anchorProblems: readonly string[];
  /** `ca` entries that are not CA certificates, each as `ca[N] (subject)`, escaped for a log line. */
  readonly nonCaAnchors: readonly string[];
  /** `intermediates` entries that are not CA certificates, each as `intermediates[N] (subject)`, escaped. */
  readonly nonCaIntermediates: readonly string[];
  /** CRLs in hand that RFC 5280 says not to use (revocation `problems`). */
  readonly crlProblems: readonly string[];
  readonly hasPins: boolean;
  readonly proxyVerified: boolean;
  readonly unverifiedForwarded: boolean;
  readonly rules: CompiledRules | null;
  readonly now: Date;
}

// Public addresses far apart: a trustProxy that trusts all of them trusts the whole internet.
const PUBLIC_V4 = ['1.2.3.4', '8.8.8.8', '100.128.0.1', '198.51.100.7', '223.255.255.254'];
const PUBLIC_V6 = ['2001:db8::1', '2606:4700::1111', '2a00:1450:4001::1', '3fff::1'];

function trustsAll(fn: TrustProxyFn, addresses: readonly string[]): boolean {
  try {
    return addresses.every((address) => fn(address, 0) === true);
  } catch {
    return false;
  }
}

/**
 * Forwarded certificates that nothing can trust are refused: said at start-up, or (for `auto`
 * without a proxy, which reads a header only on plain-HTTP connections) at the first such request.
 * `proxyVerified` is suggested only for a named proxy that verifies.
 */
export function warnForwardedUntrusted(facts: StartupFacts, warn: WarnFn): void {
  if (facts.mode === 'ignore' || facts.anchors || facts.hasPins || facts.proxyVerified || facts.unverifiedForwarded)
    return;
  const preset = facts.preset;
  const alternative =
    preset && preset.verification !== 'never'
      ? `, or, if ${preset.proxy} verifies client certificates against your CA, \`proxyVerified: true\``
      : preset
        ? ` (${preset.proxy} forwards certificates without verifying them)`
        : '';
  warn(
    'forwarded_untrusted',
    'forwarded client certificates will be rejected as untrusted: set `ca` (the CA that issues your ' +
      `clients' certificates) or \`pins\`${alternative}`,
  );
}

/** Every start-up warning that applies, in a fixed order. */
export function startupWarnings(facts: StartupFacts, warn: WarnFn): void {
  if (facts.mode === 'ignore') return;
  if (facts.mayReadHeaders && (trustsAll(facts.trustProxy, PUBLIC_V4) || trustsAll(facts.trustProxy, PUBLIC_V6))) {
    warn(
      'trust_proxy_everywhere',
      `trustProxy (${escapeForLog(facts.trustProxyDescription)}) trusts every peer, so any client can ` +
        "send a forwarded certificate header that will be believed; list only your proxies' addresses",
    );
  }
  const preset = facts.preset;
  if (facts.readsHeaders && preset?.remote && facts.trustProxyIsDefault && !preset.defaultTrustProxy) {
    warn(
      'trust_proxy_default',
      `${preset.proxy} connects from ${preset.connectsFrom}, but trustProxy is the default ` +
        `(${escapeForLog(facts.trustProxyDescription)}), so its headers will be ignored: set trustProxy to the addresses it connects from`,
    );
  }
  if (facts.readsHeaders) warnForwardedUntrusted(facts, warn);
  if (facts.mayReadHeaders && facts.unverifiedForwarded) {
    warn(
      'unverified_forwarded',
      'dangerouslyTrustAnyForwardedCertificate is on: any peer in trustProxy ' +
        `(${escapeForLog(facts.trustProxyDescription)}) can present a certificate it made itself and be admitted; ` +
        'every route must authorize the certificate itself (rules, or a check in the handler), or configure `ca` or `pins` instead',
    );
  }
  if (facts.mode === 'accept') {
    warn(
      'accept_mode',
      'mode accept lets requests without a certificate through with clientCert null: ' +
        'every route that needs a caller must check for it (or use mode require there)',
    );
  }
  const sha1 = facts.rules?.sha1Thumbprints ?? [];
  if (sha1.length > 0) {
    warn(
      'sha1_thumbprint',
      `${sha1.join(', ')} ${sha1.length === 1 ? 'is a SHA-1 thumbprint' : 'are SHA-1 thumbprints'}; ` +
        'SHA-1 is not collision resistant: use the SHA-256 fingerprint, or spki',
    );
  }
  if (!facts.anchors && !facts.hasPins && facts.rules?.onlyCommonName) {
    warn(
      'cn_only_rules',
      'rules check only the common name (CN) and neither `ca` nor `pins` is set: any certificate that the TLS stack ' +
        'or the proxy accepts with that CN gets in; set `ca` or `pins`, or check the issuer',
    );
  }
  const outOfDate = (facts.anchors ?? []).flatMap((anchor, index) => {
    const { notBefore, notAfter } = certificateValidity(anchor);
    const subject = escapeForLog(anchor.subject.replace(/\n/g, ', '));
    if (notAfter.getTime() < facts.now.getTime())
      return [`ca[${index}] (${subject}) expired ${notAfter.toISOString()}`];
    if (notBefore.getTime() > facts.now.getTime())
      return [`ca[${index}] (${subject}) is not valid before ${notBefore.toISOString()}`];
    return [];
  });
  if (outOfDate.length > 0) {
    warn(
      'expired_anchor',
      `the ca bundle has trust anchors outside their validity period, which verify nothing: ${outOfDate.join('; ')}`,
    );
  }
  warnNotCa(facts, warn);
  // Said at start-up: otherwise a legacy CA (easy-rsa writes non-critical basicConstraints) shows
  // only as every client refused.
  if (facts.anchorProblems.length > 0) {
    warn(
      'anchor_profile',
      `every client of these trust anchors will be refused: ${facts.anchorProblems.map(escapeForLog).join('; ')}`,
    );
  }
  if (facts.crlProblems.length > 0) {
    warn('crl_not_usable', facts.crlProblems.map(escapeForLog).join('; '));
  }
}

/**
 * A `ca` that is no CA: usually the client's own certificate, or the server's, passed where the
 * CA that issued them belongs. Nothing chains to it; it still admits the one client that presents
 * it (a leaf that is itself an anchor is pinned), so it is a warning, not an error.
 */
function warnNotCa(facts: StartupFacts, warn: WarnFn): void {
  const fix = "(`clientcert inspect <a client's certificate>` shows its Issuer)";
  const named = (list: readonly string[]): string =>
    `${list.join(', ')} ${list.length === 1 ? 'is not a CA certificate' : 'are not CA certificates'} (basicConstraints cA is not true)`;
  const it = (list: readonly string[]): string => (list.length === 1 ? 'it' : 'them');
  const { nonCaAnchors: anchors, nonCaIntermediates: intermediates } = facts;
  if (anchors.length > 0) {
    warn(
      'anchor_not_ca',
      `${named(anchors)}, so no client certificate chains to ${it(anchors)} and only a client presenting that very ` +
        `certificate can be admitted. Pass the CA that issued your clients' certificates as ca ${fix}; to admit exactly one ` +
        'certificate, list it in pins instead',
    );
  }
  if (intermediates.length > 0) {
    warn(
      'anchor_not_ca',
      `${named(intermediates)}, so no path goes through ${it(intermediates)}: pass the intermediate CA that issued your ` +
        `clients' certificates ${fix}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Warnings at request time: each said once (or at most once a minute), so a flood of requests
// cannot flood the log. Their state belongs to one middleware instance.

const UNTRUSTED_HEADER_REPORT_INTERVAL_MS = 60_000;
const SOFT_FAIL_REPORT_INTERVAL_MS = 60_000;
/** Distinct soft-fail reasons remembered (a reason names a source, so there are few). */
const MAX_SOFT_FAIL_REASONS = 100;

/** What the request-time warnings need of the compiled configuration. */
export interface RuntimeWarningFacts {
  /** False when the logger is off: nothing is worth even formatting. */
  readonly logging: boolean;
  readonly trustProxyDescription: string;
  readonly xfccHeader: string;
  readonly startup: StartupFacts;
}

export class RuntimeWarnings {
  readonly #warn: WarnFn;
  readonly #facts: RuntimeWarningFacts;
  #lastUntrustedReport = -Infinity;
  #forwardedChecked = false;
  #reencryptionReported = false;
  #hookFailed = false;
  #plainHttpReported = false;
  readonly #chainMissingReported = new Set<'resumed' | 'taken'>();
  readonly #serversChecked = new WeakSet<object>();
  /** When each soft-fail reason was last reported. */
  readonly #softFailReported = new Map<string, number>();

  constructor(warn: WarnFn, facts: RuntimeWarningFacts) {
    this.#warn = warn;
    this.#facts = facts;
  }

  /**
   * A certificate passed with no revocation status (policy soft): each reason at most once a
   * minute, since during an outage every request of every client has it.
   */
  revocationSoftFail(message: string): void {
    const now = Date.now();
    const last = this.#softFailReported.get(message);
    if (!this.#facts.logging || (last !== undefined && now - last < SOFT_FAIL_REPORT_INTERVAL_MS)) return;
    if (this.#softFailReported.size >= MAX_SOFT_FAIL_REASONS) this.#softFailReported.clear();
    this.#softFailReported.set(message, now);
    this.#warn('revocation_soft_fail', `${message}; reported at most once a minute`);
  }

  /**
   * `tls` read on a connection that is not TLS: no certificate can come from it. Usually TLS ends
   * at a proxy in front of the app, whose header is the source to read. Said once.
   */
  tlsSourcePlainHttp(socket: { readonly remoteAddress?: string | undefined }): void {
    if (this.#plainHttpReported) return;
    this.#plainHttpReported = true;
    const peer = escapeForLog(socket.remoteAddress ?? 'an unknown address');
    this.#warn(
      'tls_source_plain_http',
      `source 'tls' reads the client certificate of a TLS connection, but a request came over plain HTTP (from ${peer}), ` +
        'which cannot carry one: serve HTTPS with requestCert: true, or, if a proxy in front ends TLS, name it with proxy ' +
        '(or set source to the header it forwards) and add its address to trustProxy',
    );
  }

  /** A TLS server that never asks for a client certificate cannot get one: warn once per server. */
  requestCertOff(socket: object): void {
    const server = (socket as { server?: { requestCert?: unknown } }).server;
    if (typeof server !== 'object' || server === null || this.#serversChecked.has(server)) return;
    this.#serversChecked.add(server);
    if (server.requestCert === true) return;
    this.#warn(
      'tls_request_cert_off',
      'the TLS server does not ask for client certificates (requestCert is not true), so the TLS ' +
        'source never gets one: set requestCert: true (and rejectUnauthorized: false to let this library answer)',
    );
  }

  /** A forwarded header from a peer outside trustProxy; `address` null: no socket and no `remoteAddress`. */
  untrustedPeerHeader(headerNames: string, address: string | null): void {
    const now = Date.now();
    if (!this.#facts.logging || now - this.#lastUntrustedReport < UNTRUSTED_HEADER_REPORT_INTERVAL_MS) return;
    this.#lastUntrustedReport = now;
    const trusted = escapeForLog(this.#facts.trustProxyDescription);
    this.#warn(
      'untrusted_peer_header',
      address === null
        ? `ignored the ${headerNames} header on a request with no socket and no remoteAddress: a forwarded header is read only ` +
            'from a peer in trustProxy; pass the address of the peer that sent the request as remoteAddress; reported at most once a minute'
        : `ignored the ${headerNames} header from ${address}, a peer outside trustProxy (${trusted}): ` +
            `if ${address} is your proxy, add it to trustProxy; reported at most once a minute`,
    );
  }

  /**
   * `auto` without a proxy reads XFCC on plain-HTTP connections only; whether the app ever gets
   * one is known at the first such request, and only then is "nothing can trust it" worth saying.
   */
  forwardedUntrusted(): void {
    if (this.#forwardedChecked) return;
    this.#forwardedChecked = true;
    warnForwardedUntrusted(this.#facts.startup, this.#warn);
  }

  /**
   * `auto` without a proxy takes a TLS connection's peer for the client. A TLS connection that
   * forwards XFCC is a proxy re-encrypting to the app, whose own certificate would be read as the
   * client's: the configuration must name it. Said once.
   */
  proxyNotNamed(socket: { readonly remoteAddress?: string | undefined }): void {
    if (this.#reencryptionReported) return;
    this.#reencryptionReported = true;
    this.#warn(
      'proxy_not_named',
      `a TLS connection from ${escapeForLog(socket.remoteAddress ?? 'unknown')}, a peer in ` +
        `trustProxy, sent ${this.#facts.xfccHeader}: a proxy re-encrypts to this app, and the certificate of its connection is its ` +
        "own, not the client's; such requests are refused until the proxy is named with `proxy` (then only its header is read)",
    );
  }

  /** Intermediates the client sent are gone from its connection: what to do, once per cause. */
  chainMissing(cause: 'resumed' | 'taken'): void {
    if (this.#chainMissingReported.has(cause)) return;
    this.#chainMissingReported.add(cause);
    this.#warn(
      'tls_chain_missing',
      cause === 'resumed'
        ? 'a client resumed a TLS session, which carries its leaf certificate only, and this process has not seen that ' +
            "certificate's intermediates on a full handshake (another worker or an earlier process made the session): the path to " +
            '`ca` cannot be verified, so the client is refused until it connects without resuming. Give the intermediates with ' +
            'the `intermediates` option; reported once'
        : 'the TLS stack verified a client certificate through intermediates that are no longer on its connection: code that ' +
            "ran before the middleware called getPeerX509Certificate() on it, and Node 20 hands a peer's chain out only once. " +
            'The client is refused. Put the middleware first and read the certificate from its result (req.clientCert), or ' +
            'give the intermediates with the `intermediates` option; reported once',
    );
  }

  /** The request goes on as decided; the failure of `onDecision` (or the debug sink) is reported once. */
  decisionHookFailed(error: unknown): void {
    if (this.#hookFailed) return;
    this.#hookFailed = true;
    const reason = escapeForLog(String(error instanceof Error ? error.message : error).slice(0, 200));
    this.#warn(
      'on_decision_error',
      `onDecision (or the debug logger) threw (${reason}); the decision stands; reported once`,
    );
  }
}
