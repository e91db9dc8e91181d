import type { X509Certificate } from 'node:crypto';
import { type CompiledRules, compileRules, type RulesOption } from '../authorize/rules.js';
import {
  type CompiledHeaderSource,
  type CustomSourceOptions,
  compileHeaderSource,
  HEADER_SOURCE_NAMES,
  type HeaderSourceName,
  type HeaderSourceOptions,
} from '../sources/headers.js';
import {
  compileTrustProxy,
  DEFAULT_TRUST_PROXY,
  type TrustProxyFn,
  type TrustProxyInput,
} from '../sources/proxy-trust.js';
import { resolveLimits as resolveXfccLimits, type XfccLimits } from '../sources/xfcc.js';
import {
  type CompiledVerifyPolicy,
  compileIntermediatePool,
  compileTrustAnchors,
  compileVerifyPolicy,
  resolvePurpose,
  type VerifyPolicy,
} from '../trust/path/verify.js';
import { type CompiledPins, compilePins, type PinsOption } from '../trust/pins.js';
import { compileRevocation, type RevocationChecker, type RevocationOptions } from '../trust/revocation/index.js';
import { compileTrustStrategy, type TrustStrategy } from '../trust/strategy.js';
import {
  booleanOption,
  functionOption,
  headerNameOption,
  invalidOption,
  knownKeys,
  literalNewlineHint,
  objectOption,
  oneOf,
  stringList,
} from '../validate.js';
import { type CacheOptions, type CompiledCache, compileCache } from './cache.js';
import { proxyVerdictText } from './describe.js';
import { compileAnswering, type Mode } from './mode.js';
import { compileObservation, type DecisionHook } from './observe.js';
import { type ProxyName, type ProxyPreset, presetHeaderSource, resolvePreset } from './presets.js';
import { compilePrincipal, type PrincipalOption, type PrincipalStep } from './principal.js';
import type { WarnFn, WarningsOption } from './warnings.js';

export type { Mode };

/** Where to look for the certificate. `auto`: the TLS connection when the connection is TLS, else XFCC from a trusted proxy. */
export type SourceOption = 'auto' | 'tls' | 'xfcc' | HeaderSourceName;

/** Any other proxy's header: its name and how to turn its value into DER. */
export type CustomSource = Omit<CustomSourceOptions, 'source'>;

/** Settings of one header format (header names, verify header, limits), without `source`. */
type Settings<S extends HeaderSourceName> = Omit<Extract<HeaderSourceOptions, { source: S }>, 'source'>;

/** A source after compilation: the TLS connection, XFCC, or a compiled header source. */
export type CompiledSource = 'auto' | 'tls' | 'xfcc' | CompiledHeaderSource;

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Where `debug: true` writes its lines (falls back to `info`). */
  debug?(message: string): void;
}

export interface ClientCertOptions {
  /** `require` (default): no valid certificate → 403. `accept`: none → `clientCert` null; one presented must pass. `ignore`: read nothing. */
  mode?: Mode;
  /**
   * One source or a list tried in order (default `'auto'`): `tls`, `xfcc`, `rfc9440`, `traefik`,
   * `url-pem`, `base64-der`, `aws-alb`, a custom `{ header, decode }`, or `auto`: with `proxy`,
   * that proxy's header only; without, the TLS connection when the connection is TLS (its peer is
   * the client), else XFCC from a trusted proxy. In a list with header sources, `tls` is read only
   * from peers outside `trustProxy`: a trusted proxy's own certificate is never a client's identity.
   */
  source?: SourceOption | CustomSource | Array<SourceOption | CustomSource>;
  /**
   * The proxy in front of the app, by name: sets the header source, header names, XFCC element and
   * whether the proxy's own verification counts (`azure-container-apps`, `envoy`, `istio`, `nginx`,
   * `ingress-nginx`, `traefik`, `haproxy`, `caddy`, `aws-alb`, `aws-alb-passthrough`, `cloudflare`,
   * `cloudflare-rfc9440`, `azure-app-service`). Explicit options win over the preset.
   */
  proxy?: ProxyName;
  /** Settings of the RFC 9440 source (`Client-Cert`, `Client-Cert-Chain`). */
  rfc9440?: Settings<'rfc9440'>;
  /** Settings of the Traefik source (`X-Forwarded-Tls-Client-Cert`). */
  traefik?: Settings<'traefik'>;
  /** Settings of the URL-encoded PEM source (nginx `$ssl_client_escaped_cert`, ingress-nginx). */
  urlPem?: Settings<'url-pem'>;
  /** Settings of the base64 DER source (Azure App Service, Cloudflare, Caddy, HAProxy). */
  base64Der?: Settings<'base64-der'>;
  /** Settings of the AWS ALB source (`X-Amzn-Mtls-Clientcert`, or `-Leaf` in verify mode). */
  awsAlb?: Settings<'aws-alb'>;
  /**
   * Which immediate peers may send a forwarded-certificate header: addresses, CIDRs, proxy-addr
   * range names (`loopback`, `linklocal`, `uniquelocal`), a comma-separated string of those, or a
   * function `(address, hop) => boolean`. Default: `loopback` (a proxy on this host, such as an
   * Envoy or Istio sidecar); with `proxy: 'azure-container-apps'` (or ACA detected from its
   * environment) the private networks ACA's ingress connects from. Every peer trusted here can
   * present any certificate it has seen: list only your proxies. `true` trusts every peer (and
   * warns `trust_proxy_everywhere`).
   */
  trustProxy?: TrustProxyInput | true;
  /** Trust anchors (PEM string, PEM bundle, DER Buffer, or an array). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Intermediate CAs to build paths through when clients do not present them (PEM, DER, or a list). */
  intermediates?: string | Buffer | Array<string | Buffer>;
  /** Strength rules for chains, checked before any signature: `{ allowSha1Signatures: false, minRsaBits: 2048, maxRsaBits: 8192, ecCurves: ['P-256', 'P-384', 'P-521'] }` (RSA exponents odd, 3 to 2^32-1). */
  verifyPolicy?: VerifyPolicy;
  /**
   * Count the named `proxy`'s own verification of the chain instead of `ca`. Needs `proxy`, and a
   * proxy that verifies: nginx, ingress-nginx, HAProxy and Cloudflare must also say so per request
   * (their verify header); Azure Container Apps, App Service and ALB passthrough never verify and
   * refuse it. Default: true for proxies that report a verdict per request or always verify.
   */
  proxyVerified?: boolean;
  /**
   * Accept any certificate a trusted proxy forwards, verified by nobody: `verifiedBy: 'none'`.
   * Anyone who can reach the proxy can present a certificate they made themselves; only for apps
   * that authorize every request themselves (by thumbprint, say). Warns at every start-up.
   */
  dangerouslyTrustAnyForwardedCertificate?: boolean;
  /**
   * Pinned certificates, any of which must match: a certificate (PEM/DER), `sha256:<hex>` of the
   * leaf, `spki-sha256:<base64|hex>` of its public key, or `{ issuer }` for a CA the verified chain
   * must pass through. With `ca` they narrow trust; without it, a leaf pin is what makes a
   * certificate trusted (`verifiedBy: 'pin'`).
   */
  pins?: PinsOption;
  /** Authorization rules: subject/issuer DN, SANs, SPIFFE, identities (any of), predicate. */
  rules?: RulesOption;
  /** Revocation checking of the verified chain: CRLs (files, URLs), OCSP, policy `off` | `soft` | `strict`. Needs `ca`. */
  revocation?: RevocationOptions;
  /** Extended key usage a certificate must allow (name or OID, default `clientAuth`; `any` to skip). */
  purpose?: string;
  /** The current time, for validity checks (default `() => new Date()`). */
  clock?: () => Date;
  /** Seconds of clock skew tolerated on notBefore/notAfter (default 0). */
  clockTolerance?: number;
  xfcc?: {
    /** Header name (default `x-forwarded-client-cert`). */
    header?: string;
    /** Which element describes the client: `last` (default, the proxy nearest the app), `first`, or `only`. */
    element?: 'last' | 'first' | 'only';
    /**
     * The forwarding proxy's own URI SAN(s): the chosen element must carry one of them in `By`,
     * proof that your proxy wrote it (e.g. the Istio gateway's SPIFFE ID).
     */
    by?: string | string[];
    limits?: XfccLimits;
  };
  /** HTTP status of a rejection (default 403). */
  rejectStatus?: number;
  /** Base of the problem `type` URI; the code is appended (default `urn:clientcert:problem:`). */
  problemTypeBase?: string;
  /** Where start-up reports and warnings go (default: console); `false` silences them. */
  logger?: Logger | false;
  /** Switch warnings off: `false` for all, or `{ <code>: false }` for one (default: all on). */
  warnings?: WarningsOption;
  /** Called with each decision (authenticated, anonymous, rejected); must not throw (a throw is caught and logged once). */
  onDecision?: DecisionHook;
  /**
   * One line per decision explaining it, to `logger.debug` (else `logger.info`). Default: on when
   * `NODE_DEBUG` or `DEBUG` names `clientcert`; `false` keeps it off whatever the environment says.
   */
  debug?: boolean;
  /** OpenTelemetry, when `@opentelemetry/api` is installed: `tls.client.*` span attributes and the `clientcert.decisions` counter (default true; `false`: off). */
  telemetry?: boolean;
  /** Decisions kept between requests (default `{ maxEntries: 25000, maxBytes: 128 MiB }`), each counted as 2 KB plus the value it is found by. */
  cache?: CacheOptions;
  /** The app's user for an admitted certificate, `(certificate, context) => user | null` (sync or async; null → 403), or `{ map, cache: true }`. */
  principal?: PrincipalOption;
  /** Where the adapters put that user (default `user`: `req.user`, `ctx.state.user`, `request.user`, `c.get('user')`). */
  principalProperty?: string;
}

export interface CompiledOptions {
  mode: Mode;
  sources: CompiledSource[];
  /** What `auto` reads on a connection that is not TLS. */
  forwarded: 'xfcc' | CompiledHeaderSource;
  preset: ProxyPreset | null;
  /** Whether the preset was named in the options or detected from the environment (Azure Container Apps). */
  presetOrigin: 'option' | 'environment' | null;
  trustProxy: TrustProxyFn;
  trustProxyDescription: string;
  /** True when `trustProxy` was not given and the default applies. */
  trustProxyIsDefault: boolean;
  /**
   * `tls` listed beside header sources: read only from peers outside `trustProxy`. A trusted peer
   * is a proxy, and the certificate of its own TLS connection is the proxy's, not the client's.
   */
  tlsFromClientsOnly: boolean;
  /** `dangerouslyTrustAnyForwardedCertificate`: forwarded certificates are accepted unverified. */
  unverifiedForwarded: boolean;
  anchors: X509Certificate[] | null;
  intermediatePool: X509Certificate[];
  verifyPolicy: CompiledVerifyPolicy;
  proxyVerified: boolean;
  pins: CompiledPins | null;
  rules: CompiledRules | null;
  /** Null when revocation is off. */
  revocation: RevocationChecker | null;
  /** What makes a presented certificate trusted, from the TLS connection and forwarded: chosen once, here. */
  trust: TrustStrategy;
  purpose: string;
  clock: () => Date;
  /** The clock in milliseconds: `Date.now` unless a clock was given (no Date per request). */
  now: () => number;
  clockToleranceMs: number;
  xfccHeader: string;
  xfccElement: 'last' | 'first' | 'only';
  /** Null: any `By` (or none) is accepted. */
  xfccBy: ReadonlySet<string> | null;
  xfccLimits: Required<XfccLimits>;
  rejectStatus: number;
  problemTypeBase: string;
  logger: Logger | null;
  /** Coded warnings to the logger, minus those switched off. */
  warn: WarnFn;
  onDecision: DecisionHook | null;
  /** Null unless decisions are explained line by line. */
  debug: ((line: string) => void) | null;
  telemetry: boolean;
  cache: CompiledCache;
  principal: PrincipalStep | null;
}

const XFCC_OPTIONS: ReadonlySet<string> = new Set(['header', 'element', 'by', 'limits']);
const ELEMENTS: readonly ('last' | 'first' | 'only')[] = ['last', 'first', 'only'];
const SOURCES: readonly SourceOption[] = ['auto', 'tls', 'xfcc', ...HEADER_SOURCE_NAMES];
const SETTINGS_KEYS: Record<HeaderSourceName, 'rfc9440' | 'traefik' | 'urlPem' | 'base64Der' | 'awsAlb'> = {
  rfc9440: 'rfc9440',
  traefik: 'traefik',
  'url-pem': 'urlPem',
  'base64-der': 'base64Der',
  'aws-alb': 'awsAlb',
};
const KNOWN_OPTIONS = new Set([
  'mode',
  'source',
  'trustProxy',
  'ca',
  'intermediates',
  'verifyPolicy',
  'proxyVerified',
  'dangerouslyTrustAnyForwardedCertificate',
  'pins',
  'rules',
  'revocation',
  'purpose',
  'clock',
  'clockTolerance',
  'xfcc',
  'proxy',
  'rfc9440',
  'traefik',
  'urlPem',
  'base64Der',
  'awsAlb',
  'rejectStatus',
  'problemTypeBase',
  'logger',
  'warnings',
  'onDecision',
  'debug',
  'telemetry',
  'cache',
  'principal',
  'principalProperty',
]);

/** Validate and normalise once, at construction: misuse fails at start-up naming the option. */
export function compileOptions(input: ClientCertOptions = {}): CompiledOptions {
  const options = objectOption(input, 'options') as ClientCertOptions;
  knownKeys(options, KNOWN_OPTIONS);
  const answering = compileAnswering(options);
  const detected = options.proxy === undefined ? detectPlatform(process.env) : null;
  const preset = options.proxy !== undefined ? resolvePreset(options.proxy) : detected;
  const sourcing = compileSources(options, preset);
  const forwardedTrust = compileForwardedTrust(options, preset, detected !== null, sourcing.sources);
  // `true` (express's "trust proxy") is every peer; the start-up warns about it (trust_proxy_everywhere).
  const trustProxy =
    options.trustProxy === true
      ? { fn: () => true, description: 'every peer (trustProxy: true)' }
      : compileTrustProxy(options.trustProxy ?? preset?.defaultTrustProxy ?? DEFAULT_TRUST_PROXY);
  const chains = compileChains(options);
  const time = compileTime(options);
  const xfcc = compileXfcc(options.xfcc ?? {}, preset);
  const narrowing = compileNarrowing(options, chains.anchors);
  const purpose = compilePurpose(options.purpose);
  const observation = compileObservation(options);
  const trust = compileTrustStrategy({
    ...chains,
    ...forwardedTrust,
    pins: narrowing.pins,
    proxyReportsVerdict: preset?.proxyVerifies === true,
    purpose,
    clockToleranceMs: time.clockToleranceMs,
    proxyVerdictText: proxyVerdictText(sourcing.forwarded),
  });
  return {
    ...answering,
    ...sourcing,
    preset,
    presetOrigin: options.proxy !== undefined ? 'option' : detected ? 'environment' : null,
    trustProxy: trustProxy.fn,
    trustProxyDescription: trustProxy.description,
    trustProxyIsDefault: options.trustProxy === undefined,
    ...forwardedTrust,
    ...chains,
    ...narrowing,
    trust,
    purpose,
    ...time,
    ...xfcc,
    ...observation,
    cache: compileCache(options.cache),
    principal: compilePrincipal(options, answering),
  };
}

/** `source` (and `auto` under a preset), compiled: which sources are read, in order. */
function compileSources(
  options: ClientCertOptions,
  preset: ProxyPreset | null,
): Pick<CompiledOptions, 'sources' | 'forwarded' | 'tlsFromClientsOnly'> {
  const compileHeader = (name: HeaderSourceName): CompiledHeaderSource => {
    const key = SETTINGS_KEYS[name];
    const fromPreset = preset?.source === name ? presetHeaderSource(preset) : undefined;
    return compileHeaderSource({ ...fromPreset, ...options[key], source: name } as HeaderSourceOptions, key);
  };
  const compileSource = (source: SourceOption | CustomSource): CompiledSource => {
    if (typeof source === 'object' && source !== null) {
      return compileHeaderSource({ ...source, source: 'custom' } as HeaderSourceOptions, 'source');
    }
    if (!SOURCES.includes(source))
      throw invalidOption('source', `must be one of ${SOURCES.join(', ')}, or { header, decode }`);
    return source === 'auto' || source === 'tls' || source === 'xfcc' ? source : compileHeader(source);
  };
  const forwarded = !preset || preset.source === 'xfcc' ? 'xfcc' : compileHeader(preset.source);
  // With a proxy in front, `auto` is that proxy's header only: the certificate of a TLS connection
  // from the proxy (re-encryption, Cloudflare's origin pulls) is the proxy's own, never a client's.
  const listed = Array.isArray(options.source) ? options.source : [options.source ?? 'auto'];
  const sources = listed.map((source) => (source === 'auto' && preset ? forwarded : compileSource(source)));
  if (sources.length === 0) throw invalidOption('source', 'must name at least one source');
  const tlsFromClientsOnly = sources.includes('tls') && sources.some((source) => source !== 'tls' && source !== 'auto');
  return { sources, forwarded, tlsFromClientsOnly };
}

/** Who may vouch for a forwarded certificate instead of `ca`: the named proxy, or (explicitly) nobody. */
function compileForwardedTrust(
  options: ClientCertOptions,
  preset: ProxyPreset | null,
  detected: boolean,
  sources: readonly CompiledSource[],
): Pick<CompiledOptions, 'proxyVerified' | 'unverifiedForwarded'> {
  const proxyVerified =
    options.proxyVerified === undefined ? undefined : booleanOption(options.proxyVerified, 'proxyVerified');
  if (proxyVerified && preset?.verification === 'never') {
    throw invalidOption(
      'proxyVerified',
      `cannot be true: ${preset.proxy}${detected ? ' (detected from the environment)' : ''} forwards ` +
        "certificates without verifying them, so anyone could present a certificate they made; configure `ca` (your clients' CA) or `pins`",
    );
  }
  if (proxyVerified && !preset) {
    throw invalidOption(
      'proxyVerified',
      'needs `proxy`: name the proxy that verifies client certificates (envoy, istio, nginx, ' +
        'ingress-nginx, traefik, haproxy, caddy, aws-alb, cloudflare), so that its own verdict is read where it sends one; or configure `ca`',
    );
  }
  const option = 'dangerouslyTrustAnyForwardedCertificate';
  const unverifiedForwarded = booleanOption(options.dangerouslyTrustAnyForwardedCertificate ?? false, option);
  if (unverifiedForwarded && proxyVerified) {
    throw invalidOption(option, 'contradicts proxyVerified: either the proxy verifies, or nobody does');
  }
  if (unverifiedForwarded && !sources.some((source) => source !== 'tls')) {
    throw invalidOption(option, 'applies to forwarded certificates, and no source reads a forwarded header');
  }
  return {
    // A preset whose proxy verifies (always, or says so per request) is trusted for that unless told otherwise.
    proxyVerified: !unverifiedForwarded && (proxyVerified ?? preset?.proxyVerifies ?? false),
    unverifiedForwarded,
  };
}

/** `ca`, `intermediates` and `verifyPolicy`: what path validation starts from. */
function compileChains(
  options: ClientCertOptions,
): Pick<CompiledOptions, 'anchors' | 'intermediatePool' | 'verifyPolicy'> {
  let anchors: X509Certificate[] | null = null;
  if (options.ca !== undefined) {
    try {
      anchors = compileTrustAnchors(options.ca);
    } catch (error) {
      throw invalidOption('ca', `could not be read: ${(error as Error).message}${literalNewlineHint(options.ca)}`);
    }
  }
  let intermediatePool: X509Certificate[] = [];
  if (options.intermediates !== undefined) {
    if (!anchors)
      throw invalidOption('intermediates', 'needs `ca`: intermediates only help build a path to the trust anchors');
    try {
      intermediatePool = compileIntermediatePool(options.intermediates);
    } catch (error) {
      throw invalidOption(
        'intermediates',
        `could not be read: ${(error as Error).message}${literalNewlineHint(options.intermediates)}`,
      );
    }
  }
  let verifyPolicy: CompiledVerifyPolicy;
  try {
    verifyPolicy = compileVerifyPolicy(options.verifyPolicy);
  } catch (error) {
    throw invalidOption('verifyPolicy', (error as Error).message);
  }
  return { anchors, intermediatePool, verifyPolicy };
}

/** `clock` and `clockTolerance`. */
function compileTime(options: ClientCertOptions): Pick<CompiledOptions, 'clock' | 'now' | 'clockToleranceMs'> {
  const clockTolerance = options.clockTolerance ?? 0;
  if (!Number.isFinite(clockTolerance) || clockTolerance < 0)
    throw invalidOption('clockTolerance', 'must be a number of seconds >= 0');
  const clock =
    options.clock === undefined ? undefined : functionOption<() => Date>(options.clock, 'clock', 'returning a Date');
  return {
    clock: clock ?? (() => new Date()),
    now: clock ? () => clock().getTime() : Date.now,
    clockToleranceMs: clockTolerance * 1000,
  };
}

/** `xfcc`: its header, which element describes the client, whose `By` to require, and limits. */
function compileXfcc(
  input: unknown,
  preset: ProxyPreset | null,
): Pick<CompiledOptions, 'xfccHeader' | 'xfccElement' | 'xfccBy' | 'xfccLimits'> {
  const xfcc = objectOption(input, 'xfcc', '{ header, element, by, limits }') as NonNullable<ClientCertOptions['xfcc']>;
  knownKeys(xfcc, XFCC_OPTIONS, 'xfcc');
  // Validated here, at start-up: a bad limit would otherwise surface on the first request.
  const xfccLimits = resolveXfccLimits(xfcc.limits);
  const xfccElement = oneOf(xfcc.element ?? preset?.xfccElement ?? 'last', ELEMENTS, 'xfcc.element');
  const header = xfcc.header ?? (preset?.source === 'xfcc' ? preset.header : 'x-forwarded-client-cert');
  const by = xfcc.by === undefined ? null : stringList(xfcc.by, 'xfcc.by');
  return { xfccHeader: headerNameOption(header, 'xfcc.header'), xfccElement, xfccBy: by && new Set(by), xfccLimits };
}

/** `pins`, `rules` and `revocation`: what narrows a trusted certificate. */
function compileNarrowing(
  options: ClientCertOptions,
  anchors: readonly X509Certificate[] | null,
): Pick<CompiledOptions, 'pins' | 'rules' | 'revocation'> {
  const pins = options.pins === undefined ? null : compilePins(options.pins);
  if (pins?.usesChain && !anchors) {
    throw invalidOption(
      'pins',
      'has issuer pins, which need `ca`: an issuer pin narrows a verified chain, it does not make one',
    );
  }
  const rules = options.rules === undefined ? null : compileRules(options.rules);
  const checker = compileRevocation(options.revocation);
  const revocation = checker.policy === 'off' ? null : checker;
  if (revocation && !anchors) {
    // Revocation is checked on the path this library verified; without `ca` there is none.
    throw invalidOption(
      'revocation',
      'needs `ca`: revocation is checked along the chain verified to the trust anchors',
    );
  }
  return { pins, rules, revocation };
}

function compilePurpose(purpose: string | undefined): string {
  try {
    resolvePurpose(purpose);
  } catch (error) {
    throw invalidOption('purpose', (error as Error).message);
  }
  return purpose ?? 'clientAuth';
}

/**
 * Azure Container Apps sets these variables in every container: there the ingress is known to be
 * ACA's Envoy, which forwards whatever certificate a client presented without verifying it.
 */
export function detectPlatform(env: NodeJS.ProcessEnv): ProxyPreset | null {
  return env.CONTAINER_APP_NAME && env.CONTAINER_APP_ENV_DNS_SUFFIX ? resolvePreset('azure-container-apps') : null;
}
