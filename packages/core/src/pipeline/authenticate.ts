import { createHash, type X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { LRUCache } from 'lru-cache';
import { evaluateRules, type RuleResult } from '../authorize/rules.js';
import { type ProblemDetails, toProblem } from '../decide/problem.js';
import { ClientCertError, isClientCertError, type RejectionCode } from '../errors.js';
import type { ClientCertificate, SourceName, Verification } from '../model.js';
import {
  type ClientCertOptions,
  type CompiledOptions,
  type CompiledSource,
  compileOptions,
} from '../options/compile.js';
import { describeTrust, trustModelFacts } from '../options/describe.js';
import { escapeForLog, startupWarnings, warnForwardedUntrusted } from '../options/warnings.js';
import {
  type CompiledHeaderSource,
  type ForwardedDescription,
  PROXY_DESCRIPTION_CHECK,
  type ProxyVerdict,
  readHeaderSource,
  readProxyVerdict,
} from '../sources/headers.js';
import { descriptionMismatch } from '../sources/proxy-description.js';
import {
  connectionOf,
  type MissingChainCause,
  missingChainCause,
  type PeerInfo,
  RESUMED_SESSION,
  readPeer,
  servesSeveralNames,
} from '../sources/tls.js';
import { parseXfcc, selectXfccElement, xfccHashMatches, xfccLeaf } from '../sources/xfcc.js';
import { checkCertificate, checkKeyPolicy, type VerifyFailureCode, verifyChainSync } from '../trust/path/verify.js';
import { matchPins } from '../trust/pins.js';
import type { RevocationResult } from '../trust/revocation.js';
import { parseCertificate, pemToDer, sealCertificate, validityWindow } from '../x509/certificate.js';
import { debugLine, decisionChannel, decisionEvent, newTrace, type Trace } from './observe.js';

/**
 * The little the core needs of a request: Node's IncomingMessage (HTTP/1.1) and Http2ServerRequest
 * (HTTP/2) satisfy it, and so does `{ headers, remoteAddress }` built from a Web `Request`.
 */
export interface RequestLike {
  /**
   * The connection: its TLS peer is the `tls` source, its address decides whether forwarded
   * headers are read. Without one (a Web `Request`), there is no TLS source and nothing is kept
   * per connection.
   */
  readonly socket?: Socket | null;
  /**
   * HTTP/2: the request's stream (`req.stream` of the compatibility API, or the stream of the
   * `'stream'` event). Its session is the connection, one for all its streams.
   */
  readonly stream?: { readonly session?: { readonly socket?: Socket; readonly destroyed?: boolean } | null } | null;
  /**
   * The immediate peer's address, for a request without a socket: forwarded headers are read only
   * when it is in `trustProxy`, and never when it is absent. Ignored when there is a socket (its
   * own address is the peer's).
   */
  readonly remoteAddress?: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values as received (Node's `rawHeaders`): a forwarded header sent twice is refused. */
  readonly rawHeaders?: readonly string[];
}

export type AuthResult =
  | { readonly ok: true; readonly certificate: ClientCertificate | null }
  | { readonly ok: false; readonly error: ClientCertError & { code: RejectionCode }; readonly problem: ProblemDetails };

export interface ClientCertAuth {
  readonly options: CompiledOptions;
  /** Decide one request: a result now, or a Promise when revocation data must be fetched or a predicate is async. */
  authenticate(request: RequestLike): AuthResult | Promise<AuthResult>;
  /** One line saying what this configuration trusts, as reported at start-up. */
  describe(): string;
}

/** A decision about one presented certificate, cached per connection or per header value. */
interface Decision {
  readonly certificate: ClientCertificate | null;
  readonly error: (ClientCertError & { code: RejectionCode }) | null;
  /** Re-decide outside [checkFrom, checkUntil] (ms): validity windows move with the clock. */
  readonly checkFrom: number;
  readonly checkUntil: number;
  /** The verified path (leaf first), when rules with a predicate must still run for each request. */
  readonly pendingRules?: readonly X509Certificate[];
  /** SHA-256 (hex) of the presented leaf's DER, on a refusal of a presented certificate: for decision events. */
  readonly fingerprint?: string;
}

/** A header source's per-request verdict of the proxy (undefined: the source reports none). */
type Verdict = ProxyVerdict | null | undefined;

/** A decision now, or once revocation data has been fetched. */
type Decided = Decision | Promise<Decision>;

const ALWAYS = { checkFrom: -Infinity, checkUntil: Infinity };
/** A window no clock reading falls in: the decision is used once and never served from a cache. */
const NEVER = { checkFrom: Infinity, checkUntil: -Infinity };
const HEADER_CACHE_SIZE = 1000;
const CHAIN_CACHE_SIZE = 1000;
/** Issuing certificates seen in presented chains: a deployment has a handful, each sent with every leaf. */
const ISSUER_CACHE_SIZE = 100;
const VERIFY_FAILURE_TTL_MS = 60_000;
const UNTRUSTED_HEADER_REPORT_INTERVAL_MS = 60_000;

function reject(
  code: RejectionCode,
  message: string,
  check: string,
  reason?: string,
): ClientCertError & { code: RejectionCode } {
  return new ClientCertError(code, message, reason === undefined ? { check } : { check, reason }) as ClientCertError & {
    code: RejectionCode;
  };
}

/**
 * Path-validation failures as problem codes: anything wrong with the chain is "untrusted"; a leaf
 * that chains fine but is not meant for client authentication (EKU, key usage) is "rejected".
 */
const VERIFY_CODES: Record<VerifyFailureCode, RejectionCode> = {
  untrusted: 'client_certificate_untrusted',
  expired: 'client_certificate_expired',
  not_yet_valid: 'client_certificate_not_yet_valid',
  wrong_purpose: 'client_certificate_rejected',
  bad_key_usage: 'client_certificate_rejected',
  malformed: 'client_certificate_malformed',
  invalid_ca: 'client_certificate_untrusted',
  path_length_exceeded: 'client_certificate_untrusted',
  name_constraints: 'client_certificate_untrusted',
  invalid_policy: 'client_certificate_untrusted',
  unhandled_critical_extension: 'client_certificate_untrusted',
  weak_algorithm: 'client_certificate_untrusted',
};

/** OpenSSL's reasons (socket.authorizationError) mapped to rejection codes. */
function tlsRejection(reason: string | null): ClientCertError & { code: RejectionCode } {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return reject('client_certificate_expired', 'The client certificate has expired.', 'tls');
    case 'CERT_NOT_YET_VALID':
      return reject('client_certificate_not_yet_valid', 'The client certificate is not yet valid.', 'tls');
    case 'CERT_REVOKED':
      return reject('client_certificate_revoked', 'The client certificate has been revoked.', 'tls');
    case 'INVALID_PURPOSE':
    case 'UNSUPPORTED_CERTIFICATE_PURPOSE':
      return reject(
        'client_certificate_rejected',
        'The client certificate is not valid for client authentication.',
        'tls',
      );
    case RESUMED_SESSION.notVerifiedForServerName:
    case RESUMED_SESSION.serverNameUnknown:
      return reject(
        'client_certificate_untrusted',
        'A resumed TLS session is not evidence for this server name: connect again without resuming.',
        'tls.resumed',
      );
    default:
      return reject(
        'client_certificate_untrusted',
        'The client certificate was not issued by a trusted certificate authority.',
        'tls',
      );
  }
}

export function createClientCertAuth(userOptions: ClientCertOptions = {}): ClientCertAuth {
  const options = compileOptions(userOptions);
  const perSocket = new WeakMap<Socket, Decision>();
  const perHeader = new LRUCache<string, Decision>({ max: HEADER_CACHE_SIZE });
  const perChain = new LRUCache<string, Decision>({ max: CHAIN_CACHE_SIZE });
  // Each intermediate seen in a presented chain, parsed once and keyed by its exact DER: a new leaf
  // then costs one parse, not one per chain certificate, and the intermediate's own signature
  // check (cached per object pair in verify.ts) is not repeated either.
  const issuers = new LRUCache<string, ClientCertificate>({ max: ISSUER_CACHE_SIZE });
  // Per connection: whether the peer is a trusted proxy (its address never changes), and the last
  // forwarded-header value with its decision — a proxy's keep-alive connection repeats it, and
  // comparing two strings is far cheaper than hashing a 2-3 KB header for the LRU lookup.
  const peerTrusted = new WeakMap<Socket, boolean>();
  const lastHeader = new WeakMap<
    Socket,
    { readonly source: 'xfcc' | CompiledHeaderSource; readonly value: string; readonly decision: Decision }
  >();
  let lastUntrustedReport = -Infinity;
  let forwardedTrustChecked = false;
  // TLS certificates are trusted on the TLS stack's word (no ca, no pins): its verdict is per server name.
  const trustsTlsStack = !options.anchors && !options.pins;
  let reencryptionReported = false;
  const chainMissingReported = new Set<MissingChainCause>();
  const trustFacts = trustModelFacts(options);
  // Observability: a request is traced only while a hook, a debug sink or a channel subscriber
  // listens; otherwise `trace` stays null and the pipeline allocates nothing for it.
  const hook = options.onDecision;
  const explain = options.debug;
  const alwaysObserved = hook !== null || explain !== null;
  let trace: Trace | null = null;
  let hookFailed = false;
  const serversChecked = new WeakSet<object>();

  function refused(code: RejectionCode, message: string, check: string): Decision {
    decidedNow();
    return { certificate: null, error: reject(code, message, check), ...ALWAYS };
  }

  /**
   * A refusal that time can undo (a certificate not valid yet, an intermediate renewed in the
   * configured pool): kept for a minute at most, so a flood of the same chain stays cheap.
   */
  function refusedForNow(code: RejectionCode, message: string, check: string, now: Date, reason?: string): Decision {
    return {
      certificate: null,
      error: reject(code, message, check, reason),
      checkFrom: -Infinity,
      checkUntil: now.getTime() + VERIFY_FAILURE_TTL_MS,
    };
  }

  /**
   * Establish trust in a presented certificate — configured anchors, else leaf pins, else the TLS
   * stack, else a declared verifying proxy — then narrow it with pins and rules.
   */
  function verify(
    certificate: ClientCertificate,
    source: SourceName,
    peer: PeerInfo | null,
    verdict: Verdict,
  ): Decided {
    const checks = {
      at: options.clock(),
      purpose: options.purpose,
      clockToleranceSeconds: options.clockToleranceMs / 1000,
    };
    let by: Verification;
    let path: readonly X509Certificate[];
    if (options.anchors) {
      const result = verifyChainSync({
        ...checks,
        leaf: certificate.x509,
        intermediates: certificate.chain.map((c) => c.x509),
        intermediatePool: options.intermediatePool,
        trustAnchors: options.anchors,
        policy: options.verifyPolicy,
      });
      // `message` is the same for every path that reaches no anchor (it becomes the problem detail,
      // and must not tell a prober which names are anchors); `reason` says why, for logs only.
      if (!result.ok)
        return refusedForNow(
          VERIFY_CODES[result.code],
          result.message,
          `chain.${result.code}`,
          checks.at,
          result.reason,
        );
      by = 'chain';
      path = result.chain;
    } else {
      if (options.pins) {
        by = 'pin'; // checked with the other pins below; without `ca` a leaf pin is the trust
      } else if (source === 'tls') {
        if (peer && !peer.authorized)
          return { certificate: null, error: tlsRejection(peer.authorizationError), ...ALWAYS };
        by = 'tls';
      } else if (options.proxyVerified) {
        // A proxy that reports its verification per request is believed only when it says
        // "verified"; a proxy known to report it (nginx, HAProxy, Cloudflare, ALB verify mode) is
        // not believed on a source that carries no verdict (`{ proxy: 'nginx', source: 'xfcc' }`).
        if (verdict !== 'verified' && (verdict !== undefined || options.preset?.proxyVerifies === true)) {
          const message =
            verdict === 'failed'
              ? 'The proxy reported that the client certificate failed verification.'
              : 'The proxy did not report verifying the client certificate.';
          return refused('client_certificate_untrusted', message, 'proxy');
        }
        by = 'proxy';
      } else if (options.unverifiedForwarded) {
        by = 'none'; // dangerouslyTrustAnyForwardedCertificate: the configuration's explicit, logged choice
      } else {
        return refused(
          'client_certificate_untrusted',
          'No trust anchors are configured for forwarded client certificates.',
          'trust',
        );
      }
      const leaf = checkCertificate(certificate.x509, checks);
      if (!leaf.ok) return refusedForNow(VERIFY_CODES[leaf.code], leaf.message, `certificate.${leaf.code}`, checks.at);
      path = [certificate.x509, ...certificate.chain.map((c) => c.x509)];
      // Trusted on the TLS stack's, a pin's or a proxy's word: the key policy (bounded RSA, named
      // curves) still holds, as it does on paths this library verifies itself.
      const keys = checkKeyPolicy(path, options.verifyPolicy);
      if (!keys.ok) return refused(VERIFY_CODES[keys.code], keys.message, `certificate.${keys.code}`);
    }

    let pin: string | null = null;
    if (options.pins) {
      const matched = matchPins(options.pins, certificate, { chain: path });
      if (!matched.ok) return refused('client_certificate_untrusted', matched.message, 'pins');
      pin = matched.matched;
    }
    // Immutable from here on: the decision is cached and handed to every request with this chain.
    const trusted = sealCertificate(certificate, { verifiedBy: by, authorization: { pin, identity: null } });

    if (!options.revocation) return authorize(trusted, path, Infinity);
    const revocation = options.revocation;
    const status = revocation.check(path, checks.at);
    const settleRevocation = (result: RevocationResult): Decision => {
      const decided = revocation.decide(result);
      // cacheUntil 0: a transient failure (timeout, stale CRL) — decide again next time.
      if (!decided.ok) {
        const window = decided.cacheUntil > 0 ? { checkFrom: -Infinity, checkUntil: decided.cacheUntil } : NEVER;
        return { certificate: null, error: reject(decided.code, decided.message, 'revocation'), ...window };
      }
      if (decided.warning) options.warn('revocation_soft_fail', decided.warning);
      return authorize(trusted, path, decided.cacheUntil);
    };
    return status instanceof Promise ? status.then(settleRevocation) : settleRevocation(status);
  }

  /**
   * Rules, once the certificate is trusted. The decision is reused until the first certificate of
   * the path expires (or before one is valid), or the revocation data runs out (`revocationUntil`;
   * 0 = do not reuse).
   */
  function authorize(
    certificate: ClientCertificate,
    path: readonly X509Certificate[],
    revocationUntil: number,
  ): Decision {
    const validity = path.map(validityWindow);
    const window =
      revocationUntil === 0
        ? NEVER
        : {
            checkFrom: Math.max(...validity.map((v) => v.from)) - options.clockToleranceMs,
            checkUntil: Math.min(revocationUntil, ...validity.map((v) => v.until + options.clockToleranceMs)),
          };
    if (!options.rules) return { certificate, error: null, ...window };
    // A predicate may depend on time or state, so its verdict is never cached: it runs per request.
    if (options.rules.hasPredicate) return { certificate, error: null, ...window, pendingRules: path };
    const verdict = evaluateRules(options.rules, certificate, { chain: path }) as RuleResult;
    return { ...ruled(certificate, verdict), ...window };
  }

  /** The certificate admitted by the rules (naming the identity), or the rule that refused it. */
  function ruled(certificate: ClientCertificate, verdict: RuleResult): Pick<Decision, 'certificate' | 'error'> {
    if (!verdict.ok)
      return {
        certificate: null,
        error: reject('client_certificate_rejected', verdict.message, `rules.${verdict.failed}`),
      };
    // A view of its own (parsed state shared): with a predicate this runs per request, and one
    // request's identity must never show in another's certificate.
    const authorization = { pin: certificate.authorization?.pin ?? null, identity: verdict.matched };
    return { certificate: sealCertificate(certificate, { authorization }), error: null };
  }

  /**
   * The decision for one presented chain, shared by every connection and header value that carries
   * it: keyed by a digest of the DER itself (and, for TLS, what the TLS stack said), so a key can
   * only ever find the decision about those exact bytes.
   */
  function decidePresented(
    source: SourceName,
    leaf: Buffer,
    chain: readonly Buffer[],
    peer: PeerInfo | null,
    verdict: Verdict,
  ): Decided {
    const key = presentedKey(source, leaf, chain, peer, verdict);
    return cached(
      key,
      (k) => perChain.get(k),
      (k, d) => perChain.set(k, d),
      () => {
        decidedNow();
        try {
          // Over TLS, Node has parsed the certificates already: reuse its objects (~100 µs each).
          const parsed = peer?.certificates;
          // Envoy's Chain includes the leaf; Azure Container Apps documents intermediates only. Accept both.
          const presented = chain.flatMap((der, i) =>
            der.equals(leaf) ? [] : [chainCertificate(der, parsed?.[i + 1])],
          );
          const certificate = sealCertificate(parseCertificate(parsed?.[0] ?? leaf), {
            source,
            chain: presented,
            verifiedBy: null,
            authorization: null,
          });
          return fingerprinted(leaf, verify(certificate, source, peer, verdict));
        } catch (error) {
          return { certificate: null, error: asRejection(error), fingerprint: sha256Hex(leaf), ...ALWAYS };
        }
      },
    );
  }

  /** An intermediate, shared by every chain that carries the same bytes (from Node's object when the TLS stack parsed it). */
  function chainCertificate(der: Buffer, parsed: X509Certificate | undefined): ClientCertificate {
    const key = der.toString('latin1');
    let known = issuers.get(key);
    if (known === undefined) issuers.set(key, (known = parseCertificate(parsed ?? der))); // throws certificate_malformed, uncached
    return known;
  }

  /** A refusal of a presented certificate keeps the leaf's fingerprint, for decision events (decided once, then cached). */
  function fingerprinted(leaf: Buffer, decided: Decided): Decided {
    if (decided instanceof Promise) return decided.then((settled) => fingerprinted(leaf, settled) as Decision);
    return decided.error && !decided.fingerprint ? { ...decided, fingerprint: sha256Hex(leaf) } : decided;
  }

  function decideTls(peer: PeerInfo, socket: Socket): Decided {
    decidedNow();
    checkRequestCert(socket); // once per connection: its decision is cached
    if (!peer.leaf) return { certificate: null, error: null, ...ALWAYS };
    const decided = decidePresented('tls', peer.leaf, peer.chain, peer, undefined);
    // No path to an anchor, and no chain on the connection: say why, when the connection can tell.
    if (decided instanceof Promise || decided.error?.check !== 'chain.untrusted' || peer.chain.length > 0)
      return decided;
    const cause = missingChainCause(socket, peer);
    return cause === null ? decided : chainMissing(decided, cause);
  }

  /**
   * A refusal for lack of a path whose intermediates the client did send, on a connection that no
   * longer has them: the same answer, a reason for logs, and a warning saying what to do (once
   * per cause). The chain of a resumed session is the one remembered from a full handshake of the
   * same certificate (tls-source.ts); this one had none in this process.
   */
  function chainMissing(decided: Decision, cause: MissingChainCause): Decision {
    const reason =
      cause === 'resumed'
        ? 'the TLS session was resumed, and a resumed session carries the leaf certificate only'
        : 'code that ran before the middleware called getPeerX509Certificate() on the connection and took its chain';
    if (!chainMissingReported.has(cause)) {
      chainMissingReported.add(cause);
      options.warn(
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
    const error = decided.error!;
    const full = error.reason === undefined ? reason : `${error.reason}; ${reason}`;
    return {
      ...decided,
      error: reject(error.code as RejectionCode, error.message, error.check ?? 'chain.untrusted', full),
    };
  }

  function decideXfcc(value: string): Decided {
    decidedNow();
    try {
      const element = selectXfccElement(parseXfcc(value, options.xfccLimits), options.xfccElement);
      if (element && options.xfccBy && !element.by.some((by) => options.xfccBy!.has(by))) {
        return refused(
          'client_certificate_untrusted',
          'The forwarded element was not written by the expected proxy.',
          'xfcc.by',
        );
      }
      // The leaf is `Cert`, else the first of `Chain` (Envoy set to send `Chain` alone); `Hash` must be its digest.
      const written = element ? xfccLeaf(element) : undefined;
      if (written === undefined) return { certificate: null, error: null, ...ALWAYS };
      const leaf = pemToDer(written);
      if (!xfccHashMatches(element!, leaf)) {
        return refused(
          'client_certificate_malformed',
          'The forwarded Hash does not match the forwarded certificate.',
          'xfcc',
        );
      }
      return decidePresented('xfcc', leaf, element!.chain.map(pemToDer), null, undefined);
    } catch (error) {
      return { certificate: null, error: asRejection(error), ...ALWAYS };
    }
  }

  function cached<K extends object | string>(
    key: K,
    get: (key: K) => Decision | undefined,
    set: (key: K, decision: Decision) => void,
    decide: () => Decided,
  ): Decided {
    const hit = get(key);
    if (hit && isFresh(hit)) return hit;
    const decision = decide();
    // Only settled decisions are cached; concurrent requests share the revocation fetch instead.
    if (decision instanceof Promise) {
      return decision.then(
        (settled) => {
          set(key, settled);
          return settled;
        },
        // Never a 500: a failure inside an asynchronous check is a rejection, decided again next time.
        (error: unknown) => ({ certificate: null, error: asRejection(error), ...NEVER }),
      );
    }
    set(key, decision);
    return decision;
  }

  /** The decision for this connection's last header value of `source`, while it still holds. */
  function recall(
    socket: Socket | undefined,
    source: 'xfcc' | CompiledHeaderSource,
    value: string,
  ): Decision | undefined {
    const last = socket === undefined ? undefined : lastHeader.get(socket);
    return last && last.source === source && last.value === value && isFresh(last.decision) ? last.decision : undefined;
  }

  function remember(
    socket: Socket | undefined,
    source: 'xfcc' | CompiledHeaderSource,
    value: string,
    decided: Decided,
  ): Decided {
    if (socket !== undefined && !(decided instanceof Promise))
      lastHeader.set(socket, { source, value, decision: decided });
    return decided;
  }

  function isFresh(decision: Decision): boolean {
    const now = options.now();
    return now >= decision.checkFrom && now <= decision.checkUntil;
  }

  /** `auto` is the TLS peer on a TLS connection, else the forwarded header. */
  function resolve(source: CompiledSource, socket: Socket | undefined): 'tls' | 'xfcc' | CompiledHeaderSource {
    return source === 'auto'
      ? (socket as { encrypted?: boolean } | undefined)?.encrypted
        ? 'tls'
        : options.forwarded
      : source;
  }

  /** `socket`: the request's connection (connectionOf), undefined for a request without one. */
  function fromSource(source: CompiledSource, request: RequestLike, socket: Socket | undefined): Decided | undefined {
    const resolved = resolve(source, socket);
    if (resolved === 'tls') {
      if (socket === undefined) return undefined; // no connection, no TLS peer
      // Beside header sources, a trusted peer is a proxy: its TLS certificate is its own, not a client's.
      if (options.tlsFromClientsOnly && source === 'tls' && peerIsTrusted(socket, request)) {
        if (trace?.steps)
          trace.steps.push(
            `tls: not read, peer ${escapeForLog(socket.remoteAddress ?? 'unknown')} is a trusted proxy (its certificate is its own)`,
          );
        return undefined;
      }
      // `auto` without a proxy: the peer of a TLS connection is the client. A trusted peer that
      // forwards XFCC over TLS is a proxy nobody named, and the certificate of its connection its
      // own: refused rather than taken for the client's (proxy_not_named says how to fix it).
      if (source === 'auto' && request.headers[options.xfccHeader] !== undefined && peerIsTrusted(socket, request)) {
        if (!reencryptionReported) reportReencryption(socket);
        return refused(
          'client_certificate_untrusted',
          'A proxy forwarded a client certificate over TLS, but the configuration names no proxy.',
          'tls.proxy',
        );
      }
      const peer = readPeer(socket);
      if (!peer) return undefined;
      // A server with a client CA per name: the stack verified the certificate for the TLS server
      // name, so a request for another host is not covered by that verdict (nginx answers 421).
      if (trustsTlsStack && peer.leaf && servesSeveralNames(socket) && !hostIsServerName(request, socket)) {
        return refused(
          'client_certificate_untrusted',
          'The request is for another host than the TLS server name the certificate was verified for.',
          'tls.host',
        );
      }
      // Every request on a kept-alive connection lands here: answer a fresh hit without allocating.
      const known = perSocket.get(socket);
      if (known && isFresh(known)) return known;
      const connection = socket; // captured from this block, so other sources' calls carry no larger closure context
      return cached(
        socket,
        (k) => perSocket.get(k),
        (k, d) => perSocket.set(k, d),
        () => decideTls(peer, connection),
      );
    }
    if (source === 'auto' && !forwardedTrustChecked) checkForwardedTrust();
    if (resolved !== 'xfcc') return fromHeaderSource(resolved, request, socket);
    const raw = request.headers[options.xfccHeader];
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!fromTrustedProxy(socket, request, options.xfccHeader)) return undefined;
    // A proxy writes one line (APPEND_FORWARD appends with a comma); a second line was added by someone else.
    if (request.rawHeaders && countLines(request.rawHeaders, options.xfccHeader) > 1) {
      return refused(
        'client_certificate_malformed',
        'The forwarded client certificate header was sent more than once.',
        'xfcc',
      );
    }
    return (
      recall(socket, 'xfcc', value) ??
      remember(
        socket,
        'xfcc',
        value,
        cached(
          value,
          (k) => perHeader.get(k),
          (k, d) => perHeader.set(k, d),
          () => decideXfcc(value),
        ),
      )
    );
  }

  /** Headers are evidence only from a trusted proxy: from anyone else they are ignored (and reported). */
  function fromTrustedProxy(socket: Socket | undefined, request: RequestLike, headerNames: string): boolean {
    const trusted = peerIsTrusted(socket, request);
    if (!trusted) {
      const given = peerAddress(socket, request);
      const address = given === undefined || given === '' ? null : escapeForLog(given);
      reportUntrustedHeader(headerNames, address);
      if (trace?.steps)
        trace.steps.push(
          `${headerNames}: ignored, ${address === null ? 'no peer address' : `peer ${address} is outside trustProxy`}`,
        );
    }
    return trusted;
  }

  /**
   * Whether the immediate peer is a proxy named by `trustProxy`. A connection's address never
   * changes: decided once per connection. Without a connection, the address the caller gave, each
   * time; with neither, no one is trusted.
   */
  function peerIsTrusted(socket: Socket | undefined, request: RequestLike): boolean {
    if (socket === undefined) {
      const address = request.remoteAddress;
      return typeof address === 'string' && address !== '' && options.trustProxy(address, 0) === true;
    }
    let trusted = peerTrusted.get(socket);
    if (trusted === undefined) {
      const address = socket.remoteAddress;
      trusted = address !== undefined && options.trustProxy(address, 0);
      if (address !== undefined) peerTrusted.set(socket, trusted);
    }
    return trusted;
  }

  /**
   * `auto` without a proxy takes a TLS connection's peer for the client. A TLS connection that
   * forwards XFCC is a proxy re-encrypting to the app, whose own certificate would be read as the
   * client's: the configuration must name it. Said once.
   */
  function reportReencryption(socket: Socket): void {
    reencryptionReported = true;
    options.warn(
      'proxy_not_named',
      `a TLS connection from ${escapeForLog(socket.remoteAddress ?? 'unknown')}, a peer in ` +
        `trustProxy, sent ${options.xfccHeader}: a proxy re-encrypts to this app, and the certificate of its connection is its ` +
        "own, not the client's; such requests are refused until the proxy is named with `proxy` (then only its header is read)",
    );
  }

  /**
   * `auto` without a proxy reads XFCC on plain-HTTP connections only; whether the app ever gets
   * one is known at the first such request, and only then is "nothing can trust it" worth saying.
   */
  function checkForwardedTrust(): void {
    forwardedTrustChecked = true;
    warnForwardedUntrusted(trustFacts, options.warn);
  }

  /** A TLS server that never asks for a client certificate cannot get one: warn once per server. */
  function checkRequestCert(socket: Socket): void {
    const server = (socket as { server?: { requestCert?: unknown } }).server;
    if (typeof server !== 'object' || server === null || serversChecked.has(server)) return;
    serversChecked.add(server);
    if (server.requestCert !== true) {
      options.warn(
        'tls_request_cert_off',
        'the TLS server does not ask for client certificates (requestCert is not true), so the TLS ' +
          'source never gets one: set requestCert: true (and rejectUnauthorized: false to let this library answer)',
      );
    }
  }

  /** The other proxies' formats (RFC 9440, Traefik, URL-encoded PEM, base64 DER, AWS ALB, custom). */
  function fromHeaderSource(
    source: CompiledHeaderSource,
    request: RequestLike,
    socket: Socket | undefined,
  ): Decided | undefined {
    const headers = request.headers;
    if (!source.headers.some((name) => headers[name] !== undefined)) return undefined;
    if (!fromTrustedProxy(socket, request, source.headers.join(', '))) return undefined;
    // Every header the source reads, as sent (NUL cannot occur in a header value): on a proxy's
    // keep-alive connection the same values repeat, and the decision for them stands.
    const value = source.headers.map((name) => String(headers[name] ?? '')).join('\0');
    const known = recall(socket, source, value);
    if (known) return known;
    try {
      const forwarded = readHeaderSource(source, headers);
      if (forwarded) {
        const verdict = source.hasVerdict ? forwarded.proxyVerdict : undefined;
        const decided = decidePresented(forwarded.source, forwarded.leaf, forwarded.chain, null, verdict);
        return remember(
          socket,
          source,
          value,
          forwarded.description ? described(decided, forwarded.description) : decided,
        );
      }
      // No certificate, but the proxy says the client presented one that failed its verification.
      if (readProxyVerdict(source, headers) === 'failed') {
        return refused(
          'client_certificate_untrusted',
          'The proxy reported that the client certificate failed verification.',
          'proxy',
        );
      }
      return undefined;
    } catch (error) {
      return unreadable(error);
    }
  }

  /**
   * Where the proxy also described the certificate (DN, serial, fingerprint), the forwarded
   * certificate must be the one described: a client-sent certificate header that the proxy left in
   * place (ingress-nginx without pass-certificate-to-upstream) disagrees with the proxy's own words.
   * Checked per header value, outside the per-chain cache: the description belongs to the request.
   */
  function described(decided: Decided, description: ForwardedDescription): Decided {
    if (decided instanceof Promise) return decided.then((settled) => described(settled, description) as Decision);
    if (decided.certificate === null) return decided;
    const mismatch = descriptionMismatch(decided.certificate, description);
    return mismatch === null ? decided : refused('client_certificate_untrusted', mismatch, PROXY_DESCRIPTION_CHECK);
  }

  /** A header that could not be read: refused now, never cached. */
  function unreadable(error: unknown): Decision {
    decidedNow();
    return { certificate: null, error: asRejection(error), ...ALWAYS };
  }

  /**
   * Observed requests only: the decision of the current source is being taken now, not served
   * from a cache (marked on the deciding side, so the cache-hit path carries no extra code).
   */
  function decidedNow(): void {
    if (trace !== null) trace.cached = false;
  }

  /** `address` null: a request with neither a socket nor a `remoteAddress`. */
  function reportUntrustedHeader(headerNames: string, address: string | null): void {
    const now = Date.now();
    if (!options.logger || now - lastUntrustedReport < UNTRUSTED_HEADER_REPORT_INTERVAL_MS) return;
    lastUntrustedReport = now;
    options.warn(
      'untrusted_peer_header',
      address === null
        ? `ignored a ${headerNames} header on a request with no socket and no remoteAddress: a forwarded header is read only ` +
            'from a peer in trustProxy; pass the address of the peer that sent the request as remoteAddress; reported at most once a minute'
        : `ignored a ${headerNames} header from ${address}, a peer outside trustProxy (${escapeForLog(options.trustProxyDescription)}): ` +
            `if ${address} is your proxy, add it to trustProxy; reported at most once a minute`,
    );
  }

  function authenticate(request: RequestLike): AuthResult | Promise<AuthResult> {
    if (options.mode === 'ignore') return { ok: true, certificate: null };
    // Not a request (no headers): answered as one that sent nothing, never a TypeError.
    if (request?.headers == null) request = headless(request);
    // HTTP/1.1 (no stream) is told apart here: calling connectionOf cost the cached TLS path ~15 ns of ~75.
    const stream = request.stream;
    const socket = stream === undefined || stream === null ? (request.socket ?? undefined) : connectionOf(request);
    if (!alwaysObserved && !decisionChannel.hasSubscribers) return fromSources(request, socket, 0);
    return observed(request, socket);
  }

  /** The same decision, traced and reported: only while a hook, a debug sink or a channel subscriber listens. */
  function observed(request: RequestLike, socket: Socket | undefined): AuthResult | Promise<AuthResult> {
    const outer = trace;
    const traced = (trace = newTrace(explain !== null));
    let result: AuthResult | Promise<AuthResult>;
    try {
      result = fromSources(request, socket, 0);
    } finally {
      trace = outer;
    }
    return result instanceof Promise ? result.then((settled) => report(settled, traced)) : report(result, traced);
  }

  function report(result: AuthResult, traced: Trace): AuthResult {
    const event = decisionEvent(options.mode as 'require' | 'accept', result, traced);
    if (decisionChannel.hasSubscribers) decisionChannel.publish(event);
    try {
      if (explain)
        explain(debugLine(event, result.ok ? null : (result.error.reason ?? result.error.message), traced.steps));
      // An async hook's rejection would otherwise be unhandled, and end the process.
      const returned: unknown = hook ? hook(event) : undefined;
      if (returned instanceof Promise) returned.catch(hookThrew);
    } catch (error) {
      hookThrew(error);
    }
    return result;
  }

  /** The request goes on as decided; the failure is reported once. */
  function hookThrew(error: unknown): void {
    if (hookFailed) return;
    hookFailed = true;
    const reason = escapeForLog(String(error instanceof Error ? error.message : error).slice(0, 200));
    options.warn(
      'on_decision_error',
      `onDecision (or the debug logger) threw (${reason}); the decision stands; reported once`,
    );
  }

  /** What an observed request records about the source that decided it. */
  function note(
    traced: Trace,
    index: number,
    request: RequestLike,
    socket: Socket | undefined,
    decision: Decision,
  ): void {
    const resolved = resolve(options.sources[index]!, socket);
    traced.source = resolved === 'tls' || resolved === 'xfcc' ? resolved : resolved.source;
    traced.hop = resolved === 'tls' ? null : (peerAddress(socket, request) ?? null);
    traced.fingerprint = decision.certificate?.fingerprints.sha256 ?? decision.fingerprint ?? null;
  }

  /** Debug: what one source yielded. */
  function step(traced: Trace, index: number, socket: Socket | undefined, decided: Decided | undefined): void {
    const resolved = resolve(options.sources[index]!, socket);
    const name = resolved === 'tls' ? 'tls' : resolved === 'xfcc' ? options.xfccHeader : resolved.description;
    const what =
      decided === undefined
        ? 'nothing presented'
        : decided instanceof Promise
          ? 'pending (revocation data)'
          : decided.error
            ? `${decided.error.code} at ${decided.error.check ?? '-'}`
            : decided.certificate
              ? `certificate passed (verified by ${decided.certificate.verifiedBy ?? '-'})`
              : 'no certificate';
    traced.steps!.push(`${name}: ${what}${traced.cached ? ' (cached)' : ''}`);
  }

  /** Sources in order; the first that presents a certificate (or fails) decides. */
  function fromSources(
    request: RequestLike,
    socket: Socket | undefined,
    first: number,
  ): AuthResult | Promise<AuthResult> {
    for (let i = first; i < options.sources.length; i++) {
      if (trace !== null) trace.cached = true; // until a source decides now (decidedNow)
      const decided = fromSource(options.sources[i]!, request, socket);
      if (trace?.steps) step(trace, i, socket, decided);
      if (decided instanceof Promise) return afterPending(decided, request, socket, i);
      if (decided && (decided.certificate || decided.error)) {
        if (trace !== null) note(trace, i, request, socket, decided);
        return conclude(decided);
      }
    }
    return settle(undefined);
  }

  /** Source `index` is fetching revocation data: go on once it has decided (a function of its own, so the loop above allocates no closure context). */
  function afterPending(
    pending: Promise<Decision>,
    request: RequestLike,
    socket: Socket | undefined,
    index: number,
  ): Promise<AuthResult> {
    const traced = trace;
    return pending.then((d) => {
      const outer = trace;
      trace = traced;
      try {
        if (!(d.certificate || d.error)) return fromSources(request, socket, index + 1);
        if (traced !== null) note(traced, index, request, socket, d);
        return conclude(d);
      } finally {
        trace = outer;
      }
    });
  }

  /** Per-request rules (a predicate) on a trusted certificate, then the answer. */
  function conclude(decision: Decision): AuthResult | Promise<AuthResult> {
    if (decision.pendingRules && decision.certificate && options.rules) {
      const certificate = decision.certificate;
      const verdict = evaluateRules(options.rules, certificate, { chain: decision.pendingRules });
      return verdict instanceof Promise
        ? verdict.then((v) => settle(ruled(certificate, v)))
        : settle(ruled(certificate, verdict));
    }
    return settle(decision);
  }

  function settle(decision: Pick<Decision, 'certificate' | 'error'> | undefined): AuthResult {
    if (decision?.error) return fail(decision.error);
    if (decision?.certificate) return { ok: true, certificate: decision.certificate };
    if (options.mode === 'accept') return { ok: true, certificate: null };
    return fail(reject('client_certificate_required', 'A client certificate is required.', 'presence'));
  }

  function fail(error: ClientCertError & { code: RejectionCode }): AuthResult {
    return { ok: false, error, problem: toProblem(error, options.rejectStatus, options.problemTypeBase) };
  }

  // The trust model is fixed at start-up: said once, the same words in describe() and the log.
  const description = describeTrust(options);
  function describe(): string {
    return description;
  }

  if (options.logger) {
    options.logger.info(describe());
    startupWarnings(trustFacts, options.warn);
  }

  return { options, authenticate, describe };
}

/** A request whose headers are missing, as one without headers (its connection kept). */
function headless(request: unknown): RequestLike {
  const given = typeof request === 'object' && request !== null ? (request as Partial<RequestLike>) : {};
  return {
    socket: given.socket ?? null,
    stream: given.stream ?? null,
    remoteAddress: given.remoteAddress,
    headers: {},
  };
}

/** The immediate peer's address: the connection's, else (no connection) the one the caller gave. */
function peerAddress(socket: Socket | undefined, request: RequestLike): string | undefined {
  if (socket !== undefined) return socket.remoteAddress;
  return typeof request.remoteAddress === 'string' ? request.remoteAddress : undefined;
}

/**
 * The request's host (HTTP/1.1 `Host`, HTTP/2 `:authority`) is the TLS server name, or no name was
 * sent (the default context verified the certificate). Ports and IPv6 brackets are not names.
 */
function hostIsServerName(request: RequestLike, socket: Socket): boolean {
  const servername = (socket as { servername?: unknown }).servername;
  if (typeof servername !== 'string' || servername === '') return true;
  const host = request.headers[':authority'] ?? request.headers.host;
  if (typeof host !== 'string') return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name.length === servername.length && name.toLowerCase() === servername.toLowerCase();
}

/** How many times a header (lower-case name) was sent, from Node's `rawHeaders` name/value pairs. */
function countLines(rawHeaders: readonly string[], name: string): number {
  let count = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const header = rawHeaders[i]!;
    if (header.length === name.length && header.toLowerCase() === name) count += 1;
  }
  return count;
}

function sha256Hex(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex');
}

/** Digest of a presented chain (length-prefixed DERs), with the source and the TLS stack's verdict. */
function presentedKey(
  source: SourceName,
  leaf: Buffer,
  chain: readonly Buffer[],
  peer: PeerInfo | null,
  verdict: Verdict,
): string {
  const tls = peer ? `${peer.authorized}\0${peer.authorizationError ?? ''}` : '';
  const hash = createHash('sha256').update(`${source}\0${tls}\0${verdict ?? '-'}\0`);
  for (const der of [leaf, ...chain]) {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(der.length);
    hash.update(length).update(der);
  }
  return hash.digest('base64');
}

const MALFORMED_CHECKS: Partial<Record<string, string>> = {
  xfcc_malformed: 'xfcc',
  certificate_malformed: 'certificate',
  forwarded_header_malformed: 'forwarded_header',
};

/** Any failure while reading a presented certificate becomes a rejection, never a crash. */
function asRejection(error: unknown): ClientCertError & { code: RejectionCode } {
  if (isClientCertError(error) && error.code.startsWith('client_certificate_')) {
    return error as ClientCertError & { code: RejectionCode };
  }
  if (isClientCertError(error) && MALFORMED_CHECKS[error.code] !== undefined) {
    return reject('client_certificate_malformed', error.message, error.check ?? MALFORMED_CHECKS[error.code]!);
  }
  return reject('client_certificate_malformed', 'The client certificate could not be read.', 'certificate');
}
