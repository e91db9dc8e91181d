/**
 * Certificates for the deployment tests (made once per run with the test kit), and each
 * deployment's forwarded header written the way its proxy writes it.
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientCertOptions, ProxyName, SourceName } from '../../packages/core/src/index.js';
import {
  createCA,
  createSelfSigned,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
} from '../../packages/core/src/testkit/index.js';
import { albEscape, b64, nginxEscape } from '../helpers/encodings.js';

export interface Fixtures {
  /** The CA of the clients (and of the app's and nginx's own certificates). */
  root: TestCA;
  /** A real client. Her certificate is public: anyone can copy it into a header. */
  alice: TestCertificate;
  /** Another real client of the same CA, with her own valid certificate and key. */
  mallory: TestCertificate;
  /** Made by an attacker for himself: trusted by nobody. */
  admin: TestCertificate;
  /** What anyone can present to Azure Container Apps' ingress, which verifies nothing. */
  anyone: TestCertificate;
  /** Server certificate for localhost and 127.0.0.1 (the app's TLS port, nginx). */
  server: TestCertificate;
  /** nginx's own client certificate towards the app (`proxy_ssl_certificate`), from the clients' CA. */
  nginxUpstream: TestCertificate;
  /** Cloudflare Authenticated Origin Pulls: the CA and the certificate Cloudflare presents to the origin. */
  originPullCa: TestCA;
  originPull: TestCertificate;
}

let made: Promise<Fixtures> | undefined;

export function fixtures(): Promise<Fixtures> {
  return (made ??= (async () => {
    const [root, originPullCa] = await Promise.all([
      createCA({ subject: 'CN=Deployments Root CA,O=clientcert' }),
      createCA({ subject: 'CN=Origin Pull CA,O=Cloudflare (test)' }),
    ]);
    const [alice, mallory, admin, anyone, server, nginxUpstream, originPull] = await Promise.all([
      root.issue({ subject: 'CN=alice,O=Acme' }),
      root.issue({ subject: 'CN=mallory,O=Acme' }),
      createSelfSigned({ subject: 'CN=admin' }),
      createSelfSigned({ subject: 'CN=anyone-at-all' }),
      root.issue({ subject: 'CN=localhost', eku: ['serverAuth'], san: { dns: ['localhost'], ip: ['127.0.0.1'] } }),
      root.issue({ subject: 'CN=nginx-upstream-client' }),
      originPullCa.issue({ subject: 'CN=origin-pull.cloudflare.net' }),
    ]);
    return { root, alice, mallory, admin, anyone, server, nginxUpstream, originPullCa, originPull };
  })());
}

/** A DN as OpenSSL's XN_FLAG_RFC2253 prints it (nginx `$ssl_client_s_dn`), for the plain names used here. */
export function rfc2253(name: X509Certificate['subject']): string {
  return name.split('\n').filter(Boolean).reverse().join(',');
}

const isoSeconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** A deployment of item 1: how the app is configured, and what its proxy forwards. */
export interface Deployment {
  title: string;
  /** The options a user writes for it (no `ca`, no `trustProxy`). */
  options: ClientCertOptions;
  /** The source name the app reports. */
  source: SourceName;
  /**
   * Whether the proxy's own verdict counts without further options: `header` (nginx, HAProxy,
   * Cloudflare send SUCCESS / 0 / true per request), `always` (ALB verify mode), or `config`
   * (Envoy, Istio, Caddy, Traefik, plain XFCC: only `ca`, `pins` or `proxyVerified: true` make a
   * forwarded certificate trusted).
   */
  verification: 'header' | 'always' | 'config';
  /** The headers its proxy sends for a client that presented `cert`, with the proxy's success verdict. */
  headers(cert: TestCertificate): Record<string, string>;
}

function presetHeaders(proxy: ProxyName | 'xfcc', cert: TestCertificate): Record<string, string> {
  switch (proxy) {
    case 'xfcc':
    case 'envoy':
    case 'istio':
    case 'azure-container-apps':
      return { 'x-forwarded-client-cert': envoyXfcc(cert) };
    case 'nginx':
      return { 'ssl-client-cert': nginxEscape(cert.cert), 'ssl-client-verify': 'SUCCESS' };
    case 'ingress-nginx':
      // What ingress-nginx's template sets on a host with auth-tls-secret (header-formats §5.3).
      return {
        'ssl-client-cert': nginxEscape(cert.cert),
        'ssl-client-verify': 'SUCCESS',
        'ssl-client-subject-dn': rfc2253(cert.x509.subject),
        'ssl-client-issuer-dn': rfc2253(cert.x509.issuer),
      };
    case 'haproxy':
      return { 'x-ssl-client-cert': b64(cert.der), 'x-ssl-client-verify': '0' };
    case 'caddy':
      return { 'x-client-cert': b64(cert.der) };
    case 'traefik':
      return { 'x-forwarded-tls-client-cert': b64(cert.der) };
    case 'cloudflare':
      // Access's certificate forwarding (DER and SHA-256), plus the managed transform's verdict and fingerprint (§9).
      return {
        'cf-client-cert-der-base64': b64(cert.der),
        'cf-client-cert-sha256': cert.sha256,
        'cf-cert-verified': 'true',
        'cf-cert-sha256': cert.sha256,
      };
    case 'aws-alb':
      // Verify mode sends the leaf and its description (§7.2).
      return {
        'x-amzn-mtls-clientcert-serial-number': cert.x509.serialNumber.toUpperCase(),
        'x-amzn-mtls-clientcert-issuer': rfc2253(cert.x509.issuer),
        'x-amzn-mtls-clientcert-subject': rfc2253(cert.x509.subject),
        'x-amzn-mtls-clientcert-validity': `NotBefore=${isoSeconds(cert.notBefore)};NotAfter=${isoSeconds(cert.notAfter)}`,
        'x-amzn-mtls-clientcert-leaf': albEscape(cert.cert),
      };
    case 'aws-alb-passthrough':
      return { 'x-amzn-mtls-clientcert': albEscape(cert.cert) };
    case 'cloudflare-rfc9440':
      // What the documented Transform Rule sets for a verified certificate (RFC 9440 byte sequences).
      return { 'client-cert': `:${b64(cert.der)}:` };
    case 'azure-app-service':
      return { 'x-arr-clientcert': b64(cert.der) };
  }
}

function preset(proxy: ProxyName, source: SourceName, verification: Deployment['verification']): Deployment {
  return {
    title: `proxy: '${proxy}'`,
    options: { proxy },
    source,
    verification,
    headers: (cert) => presetHeaders(proxy, cert),
  };
}

/** Every deployment of item 1, by the name its test file uses. */
export const DEPLOYMENTS = {
  xfcc: {
    title: "no proxy, source: 'xfcc'",
    options: { source: 'xfcc' },
    source: 'xfcc',
    verification: 'config',
    headers: (cert: TestCertificate) => presetHeaders('xfcc', cert),
  } satisfies Deployment,
  envoy: preset('envoy', 'xfcc', 'config'),
  istio: preset('istio', 'xfcc', 'config'),
  nginx: preset('nginx', 'url-pem', 'header'),
  'ingress-nginx': preset('ingress-nginx', 'url-pem', 'header'),
  haproxy: preset('haproxy', 'base64-der', 'header'),
  caddy: preset('caddy', 'base64-der', 'config'),
  traefik: preset('traefik', 'traefik', 'config'),
  cloudflare: preset('cloudflare', 'base64-der', 'header'),
  'aws-alb': preset('aws-alb', 'aws-alb', 'always'),
} as const satisfies Record<string, Deployment>;

export { presetHeaders };
