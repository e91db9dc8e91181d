/**
 * Presets by proxy name: which header a TLS-terminating proxy forwards the client certificate in,
 * how it is encoded, which XFCC element describes the client, whether and how the proxy itself
 * verified the chain, and what it does with a client-sent header of the same name (each proxy's
 * own documentation of its header and of whether it replaces or appends to a client's copy; the
 * `strips` line of every preset says which, and docs/proxies.md is generated from these rows).
 *
 * A preset is plain data to merge into the options. It never turns on `proxyVerified` by itself:
 * trusting a proxy's verification instead of `ca` stays an explicit decision of the configuration,
 * and `verification` says whether that decision can be honoured (see ProxyVerification).
 */

import type {
  DescriptionHeaders,
  HeaderSourceName,
  HeaderSourceOptions,
  VerifyHeaderOption,
} from '../sources/headers.js';
import type { XfccElementPolicy } from '../sources/xfcc.js';
import { invalidOption } from '../validate.js';

export type ProxyName =
  | 'azure-container-apps'
  | 'envoy'
  | 'istio'
  | 'nginx'
  | 'ingress-nginx'
  | 'traefik'
  | 'haproxy'
  | 'caddy'
  | 'aws-alb'
  | 'aws-alb-passthrough'
  | 'cloudflare'
  | 'cloudflare-rfc9440'
  | 'azure-app-service';

/**
 * What the proxy can say about the certificate it forwards:
 * - `always`: it only forwards certificates it verified (AWS ALB verify mode).
 * - `header`: it verifies according to its configuration and reports the result for each request
 *   in `verifyHeader` (nginx, ingress-nginx, HAProxy, Cloudflare's managed transform); only a
 *   `verified` verdict may count as proxy verification.
 * - `config`: it may or may not verify depending on its configuration, and says nothing per
 *   request (Envoy, Istio, Traefik, Caddy): `proxyVerified: true` is the operator's word for it.
 * - `never`: it forwards whatever the client presented (Azure Container Apps, App Service, ALB
 *   passthrough): the app must verify (`ca` or `pins`); `proxyVerified: true` would trust anyone.
 */
export type ProxyVerification = 'always' | 'header' | 'config' | 'never';

export interface ProxyPreset {
  readonly proxy: ProxyName;
  /** The header format: a `source` name of the options. */
  readonly source: 'xfcc' | HeaderSourceName;
  /** The certificate header, lower-case as Node delivers it. */
  readonly header: string;
  /** A header with the rest of the presented chain, when the proxy has one. */
  readonly chainHeader?: string;
  /** Traefik's `-Info` header. */
  readonly infoHeader?: string;
  /** The proxy's per-request verification header (values compared exactly). */
  readonly verifyHeader?: Readonly<{ name: string; success: readonly string[]; none?: readonly string[] }>;
  /**
   * Headers in which the proxy also describes the certificate (DN, serial, fingerprint): a
   * forwarded certificate that disagrees with them is refused. `required`: the proxy always sends
   * them with a certificate, so a certificate header without them did not come from the proxy.
   */
  readonly describedBy?: Readonly<DescriptionHeaders>;
  /** XFCC presets: which element describes the client. */
  readonly xfccElement?: XfccElementPolicy;
  /** aws-alb presets: the listener's mutual-authentication mode. */
  readonly albMode?: 'passthrough' | 'verify';
  readonly verification: ProxyVerification;
  /**
   * Where the proxy's connections to the app come from, for the docs and the start-up line. When
   * `remote`, the default `trustProxy` (loopback) never matches it: `trustProxy` must name it.
   */
  readonly connectsFrom: string;
  readonly remote: boolean;
  /**
   * Peers trusted when `trustProxy` is not given, where the platform fixes who can connect (Azure
   * Container Apps); otherwise loopback only. `defaultTrustProxyReason` says why, in the docs.
   */
  readonly defaultTrustProxy?: readonly string[];
  readonly defaultTrustProxyReason?: string;
  /** True when the proxy's own verification can be relied on by default: `verification` is `always` or `header`. */
  readonly proxyVerifies: boolean;
  /** One line: does the proxy remove a client-sent copy of these headers? */
  readonly strips: string;
  /** One line: the proxy configuration this preset assumes. */
  readonly setup: string;
}

type PresetInput = Omit<ProxyPreset, 'proxy' | 'proxyVerifies'>;

const XFCC = 'x-forwarded-client-cert';
const NGINX_VERIFY = { name: 'ssl-client-verify', success: ['SUCCESS'], none: ['NONE'] };

const TABLE: Record<ProxyName, PresetInput> = {
  'azure-container-apps': {
    source: 'xfcc',
    header: XFCC,
    // ACA documents a single element; `last` is the element ACA's own Envoy wrote even if a
    // client-sent value were kept in front of it.
    xfccElement: 'last',
    verification: 'never',
    connectsFrom:
      "the environment's ingress (Envoy), from the environment's private address space (not a fixed address)",
    remote: true,
    defaultTrustProxy: ['loopback', 'uniquelocal', '100.64.0.0/10'],
    defaultTrustProxyReason:
      "ACA's ingress connects to the container from the environment's private network, whose addresses are not fixed; a " +
      "container's target port is reached through the ingress. Anything else that can open a connection to the container " +
      'from a private address (a custom VNet, a peered network) can send the header too: narrow trustProxy where you can.',
    strips:
      'Not documented whether ACA ingress removes a client-sent X-Forwarded-Client-Cert; the element ACA writes is the last one.',
    setup: 'ingress clientCertificateMode require or accept; ACA accepts any certificate, so configure ca (or pins).',
  },
  envoy: {
    source: 'xfcc',
    header: XFCC,
    // One edge Envoy in SANITIZE_SET leaves exactly one element; more means another mode or hop.
    xfccElement: 'only',
    verification: 'config',
    connectsFrom: "a sidecar on loopback, or the front Envoy's address (then set trustProxy)",
    remote: false,
    strips:
      'SANITIZE (default) and SANITIZE_SET remove a client-sent XFCC; FORWARD_ONLY/APPEND_FORWARD keep it whenever the client presented any certificate; ALWAYS_FORWARD_ONLY never removes it.',
    setup:
      'forward_client_cert_details: SANITIZE_SET with set_current_client_cert_details { cert: true, chain: true }; verifies only with a validation_context (not ACCEPT_UNTRUSTED).',
  },
  istio: {
    source: 'xfcc',
    header: XFCC,
    // Gateway (SANITIZE_SET) writes E1 about the external client; the app's sidecar (APPEND_FORWARD)
    // appends E2 about the gateway, without Cert. The client certificate is in the first element.
    xfccElement: 'first',
    verification: 'config',
    connectsFrom: "the pod's own sidecar, from loopback (127.0.0.6)",
    remote: false,
    strips:
      'The ingress gateway (SANITIZE_SET by default) replaces a client-sent XFCC; sidecars (APPEND_FORWARD) keep what a mesh peer sent, so any workload that can reach the app directly can forge the first element: allow only the gateway (AuthorizationPolicy).',
    setup:
      'gatewayTopology.forwardClientCertDetails SANITIZE_SET (or APPEND_FORWARD) on the ingress gateway; the gateway verifies only with tls.mode MUTUAL/OPTIONAL_MUTUAL and caCertificates.',
  },
  nginx: {
    source: 'url-pem',
    // nginx has no fixed name; these are ingress-nginx's, the canonical example.
    header: 'ssl-client-cert',
    verifyHeader: NGINX_VERIFY,
    // Compared when nginx sends them (proxy_set_header … $ssl_client_s_dn / $ssl_client_i_dn).
    describedBy: { subjectDn: 'ssl-client-subject-dn', issuerDn: 'ssl-client-issuer-dn' },
    verification: 'header',
    connectsFrom: "loopback when nginx runs beside the app, else the nginx host's address (then set trustProxy)",
    remote: false,
    strips:
      'proxy_set_header drops a client-sent header of each name it sets, in the locations where it is configured.',
    setup:
      'proxy_set_header ssl-client-cert $ssl_client_escaped_cert; proxy_set_header ssl-client-verify $ssl_client_verify; (ssl_verify_client on | optional; optional_no_ca reports FAILED).',
  },
  'ingress-nginx': {
    source: 'url-pem',
    header: 'ssl-client-cert',
    verifyHeader: NGINX_VERIFY,
    // Set on every host with auth-tls-secret, also without auth-tls-pass-certificate-to-upstream,
    // where a client-sent ssl-client-cert reaches the app: the DNs are of the certificate the
    // client really presented, and a forwarded certificate must be that one.
    describedBy: { subjectDn: 'ssl-client-subject-dn', issuerDn: 'ssl-client-issuer-dn', required: true },
    verification: 'header',
    connectsFrom:
      "the ingress controller's pods, from the cluster's pod network (set trustProxy; a NetworkPolicy keeps other pods out)",
    remote: true,
    strips:
      'The ssl-client-* headers are overwritten only on hosts with auth-tls-secret, and ssl-client-cert only with auth-tls-pass-certificate-to-upstream "true": otherwise a client-sent ssl-client-cert reaches the app.',
    setup:
      'annotations auth-tls-secret, auth-tls-verify-client (on | optional), auth-tls-pass-certificate-to-upstream: "true".',
  },
  traefik: {
    source: 'traefik',
    header: 'x-forwarded-tls-client-cert',
    infoHeader: 'x-forwarded-tls-client-cert-info',
    verification: 'config',
    connectsFrom: "loopback when Traefik runs beside the app, else Traefik's address (then set trustProxy)",
    remote: false,
    strips:
      'The entry point removes both X-Forwarded-Tls-Client-Cert headers unless forwardedHeaders.insecure is set or the peer is in forwardedHeaders.trustedIPs; PassTLSClientCert sets them only when the client presented a certificate.',
    setup:
      'PassTLSClientCert with pem: true; Traefik verifies only with clientAuthType RequireAndVerifyClientCert or VerifyClientCertIfGiven and caFiles.',
  },
  haproxy: {
    source: 'base64-der',
    header: 'x-ssl-client-cert',
    chainHeader: 'x-ssl-client-chain',
    // ssl_c_verify is an integer, 0 when no error.
    verifyHeader: { name: 'x-ssl-client-verify', success: ['0'] },
    verification: 'header',
    connectsFrom: "loopback when HAProxy runs beside the app, else the HAProxy host's address (then set trustProxy)",
    remote: false,
    strips:
      'http-request set-header replaces a client-sent header only when the rule runs: an `if { ssl_c_used }` guard leaves client copies on requests without a certificate unless `http-request del-header` comes first.',
    setup:
      'http-request del-header x-ssl-client-cert (and -chain, -verify), then set-header x-ssl-client-cert %[ssl_c_der,base64], x-ssl-client-chain %[ssl_c_chain_der,base64], x-ssl-client-verify %[ssl_c_verify] if { ssl_c_used }; bind … verify optional|required ca-file ….',
  },
  caddy: {
    source: 'base64-der',
    header: 'x-client-cert',
    verification: 'config',
    connectsFrom: "loopback when Caddy runs beside the app, else the Caddy host's address (then set trustProxy)",
    remote: false,
    strips: 'reverse_proxy header_up replaces a client-sent header of that name.',
    setup:
      'reverse_proxy { header_up X-Client-Cert {http.request.tls.client.certificate_der_base64} }; Caddy verifies only with client_auth mode require_and_verify (or verify_if_given) and trusted CAs.',
  },
  'aws-alb': {
    source: 'aws-alb',
    header: 'x-amzn-mtls-clientcert-leaf',
    albMode: 'verify',
    describedBy: {
      issuerDn: 'x-amzn-mtls-clientcert-issuer',
      serial: 'x-amzn-mtls-clientcert-serial-number',
      required: true,
    },
    verification: 'always',
    connectsFrom: "the load balancer's nodes, from the VPC subnets it is placed in (set trustProxy to them)",
    remote: true,
    strips:
      'Not documented whether the ALB removes client-sent X-Amzn-Mtls-* headers: make the app reachable only through the ALB, and keep the mode in step with the listener.',
    setup: 'listener MutualAuthentication Mode verify with a trust store (the ALB verifies, then forwards the leaf).',
  },
  'aws-alb-passthrough': {
    source: 'aws-alb',
    header: 'x-amzn-mtls-clientcert',
    albMode: 'passthrough',
    verification: 'never',
    connectsFrom: "the load balancer's nodes, from the VPC subnets it is placed in (set trustProxy to them)",
    remote: true,
    strips:
      'Not documented whether the ALB removes client-sent X-Amzn-Mtls-* headers: make the app reachable only through the ALB, and keep the mode in step with the listener.',
    setup:
      'listener MutualAuthentication Mode passthrough (the ALB forwards the whole presented chain unverified; configure ca).',
  },
  cloudflare: {
    source: 'base64-der',
    header: 'cf-client-cert-der-base64',
    // Access sends Cf-Client-Cert-Sha256 with every Cf-Client-Cert-Der-Base64.
    describedBy: { sha256: 'cf-client-cert-sha256', required: true },
    // Managed Transform "Add TLS client auth headers": cf-cert-verified = cf.tls_client_auth.cert_verified.
    verifyHeader: { name: 'cf-cert-verified', success: ['true'] },
    verification: 'header',
    connectsFrom: "Cloudflare's published IP ranges (set trustProxy to them; they change, see Cloudflare's list)",
    remote: true,
    strips:
      "Not documented for Cf-Client-Cert-Der-Base64; accept only Cloudflare's addresses (or authenticated origin pulls). The certificate may be forwarded only on the first request of a connection. cf-cert-revoked is not consulted.",
    setup:
      'Access mTLS with client_certificate_forwarding: true, plus the managed transform "Add TLS client auth headers" for cf-cert-verified.',
  },
  'cloudflare-rfc9440': {
    source: 'rfc9440',
    header: 'client-cert',
    chainHeader: 'client-cert-chain',
    // The headers exist only if the zone's Transform Rules set them, from the fields
    // cf.tls_client_auth.cert_rfc9440 and cert_chain_rfc9440, which Cloudflare fills whether or not
    // the certificate verified: only the rule's own expression makes their presence mean "verified",
    // and the app cannot see that expression. So the verification is the configuration's (`config`).
    verification: 'config',
    connectsFrom: "Cloudflare's published IP ranges (set trustProxy to them; they change, see Cloudflare's list)",
    remote: true,
    strips:
      'Cloudflare passes a client-sent Client-Cert and Client-Cert-Chain through unless a Transform Rule removes them: the first rule must remove both on every request (expression true), before any rule sets them.',
    setup:
      'Request header Transform Rules, in this order: (1) expression true: Remove Client-Cert, Remove Client-Cert-Chain; (2) expression cf.tls_client_auth.cert_verified and not cf.tls_client_auth.cert_revoked: Set Client-Cert to cf.tls_client_auth.cert_rfc9440, Set Client-Cert-Chain to cf.tls_client_auth.cert_chain_rfc9440; mTLS enabled on the host with your CA uploaded.',
  },
  'azure-app-service': {
    source: 'base64-der',
    header: 'x-arr-clientcert',
    verification: 'never',
    connectsFrom: 'the App Service front ends (set trustProxy to the addresses your app sees)',
    remote: true,
    strips:
      'Not stated whether the App Service front end removes a client-sent X-ARR-ClientCert; the app must validate the certificate.',
    setup:
      'clientCertEnabled with clientCertMode Required or Optional; the front end forwards the leaf without validating it.',
  },
};

function freezePreset(proxy: ProxyName, input: PresetInput): ProxyPreset {
  const verifyHeader =
    input.verifyHeader &&
    Object.freeze({
      ...input.verifyHeader,
      success: Object.freeze([...input.verifyHeader.success]),
      ...(input.verifyHeader.none ? { none: Object.freeze([...input.verifyHeader.none]) } : {}),
    });
  return Object.freeze({
    proxy,
    ...input,
    ...(verifyHeader ? { verifyHeader } : {}),
    ...(input.describedBy ? { describedBy: Object.freeze({ ...input.describedBy }) } : {}),
    ...(input.defaultTrustProxy ? { defaultTrustProxy: Object.freeze([...input.defaultTrustProxy]) } : {}),
    proxyVerifies: input.verification === 'always' || input.verification === 'header',
  });
}

/** Every preset by proxy name (frozen). */
export const PRESETS: Readonly<Record<ProxyName, ProxyPreset>> = Object.freeze(
  Object.fromEntries(
    (Object.keys(TABLE) as ProxyName[]).map((name) => [name, freezePreset(name, TABLE[name])]),
  ) as Record<ProxyName, ProxyPreset>,
);

export const PROXY_NAMES: readonly ProxyName[] = Object.freeze(Object.keys(TABLE) as ProxyName[]);

/** The preset for a proxy name; throws `invalidOption('proxy', …)` listing the known names. */
export function resolvePreset(name: string): ProxyPreset {
  if (typeof name === 'string' && Object.hasOwn(PRESETS, name)) return PRESETS[name as ProxyName];
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
  throw invalidOption('proxy', `names an unknown proxy ${shown}; use one of ${PROXY_NAMES.join(', ')}`);
}

/**
 * The header-source options a non-XFCC preset stands for (pass them to compileHeaderSource, after
 * merging any user overrides), or undefined for XFCC presets (use `header` and `xfccElement`).
 */
export function presetHeaderSource(preset: ProxyPreset): HeaderSourceOptions | undefined {
  const verifyHeader: VerifyHeaderOption | undefined = preset.verifyHeader && {
    name: preset.verifyHeader.name,
    success: [...preset.verifyHeader.success],
    ...(preset.verifyHeader.none ? { none: [...preset.verifyHeader.none] } : {}),
  };
  const describedBy = preset.describedBy && { ...preset.describedBy };
  const common = {
    header: preset.header,
    ...(verifyHeader ? { verifyHeader } : {}),
    ...(describedBy ? { describedBy } : {}),
  };
  switch (preset.source) {
    case 'xfcc':
      return undefined;
    case 'rfc9440':
      return { source: 'rfc9440', ...common, ...(preset.chainHeader ? { chainHeader: preset.chainHeader } : {}) };
    case 'traefik':
      return { source: 'traefik', ...common, infoHeader: preset.infoHeader ?? false };
    case 'url-pem':
      return { source: 'url-pem', ...common };
    case 'base64-der':
      return { source: 'base64-der', ...common, ...(preset.chainHeader ? { chainHeader: preset.chainHeader } : {}) };
    case 'aws-alb':
      return {
        source: 'aws-alb',
        header: preset.header,
        mode: preset.albMode ?? 'passthrough',
        ...(describedBy ? { describedBy } : {}),
      };
  }
}
