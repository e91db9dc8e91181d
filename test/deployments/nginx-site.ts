/**
 * Real nginx for the deployment tests: one TLS server on loopback that verifies client
 * certificates against the clients' CA (`ssl_verify_client optional`) and proxies each location
 * `/<name>/` to one app, with the headers and upstream TLS each deployment uses. Started with
 * test/interop/proxy-process.ts (temporary prefix directory, free port, killed afterwards).
 */
import type { ProxyLaunch } from '../interop/proxy-process.js';
import type { Fixtures } from './fixtures.js';

export interface NginxLocation {
  /** Served at `/<name>/…`, proxied to the app's `/…`. */
  name: string;
  upstream: { scheme: 'http' | 'https'; port: number };
  /** `proxy_set_header` pairs (name, nginx value), in order. */
  headers: ReadonlyArray<readonly [string, string]>;
}

/** Re-encryption: nginx presents its own client certificate to an HTTPS app and checks the app's. */
const UPSTREAM_TLS = [
  'proxy_ssl_certificate upstream-client.pem;',
  'proxy_ssl_certificate_key upstream-client.key;',
  'proxy_ssl_trusted_certificate clients-ca.pem;',
  'proxy_ssl_verify on;',
  'proxy_ssl_name localhost;',
  'proxy_ssl_server_name on;',
];

function location(l: NginxLocation): string {
  const lines = [
    `proxy_pass ${l.upstream.scheme}://127.0.0.1:${l.upstream.port}/;`,
    ...(l.upstream.scheme === 'https' ? UPSTREAM_TLS : []),
    ...l.headers.map(([name, value]) => `proxy_set_header ${name} ${value};`),
  ];
  return `        location /${l.name}/ {\n${lines.map((line) => `            ${line}`).join('\n')}\n        }`;
}

export function nginxSiteConfig(port: number, locations: readonly NginxLocation[]): string {
  return `worker_processes 1;
pid nginx.pid;
error_log stderr notice;
events {
    worker_connections 256;
}
http {
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    server {
        listen 127.0.0.1:${port} ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate server.pem;
        ssl_certificate_key server.key;
        ssl_client_certificate clients-ca.pem;
        ssl_verify_client optional;
${locations.map(location).join('\n')}
    }
}
`;
}

export function nginxSiteLaunch(binary: string, f: Fixtures, locations: readonly NginxLocation[]): ProxyLaunch {
  return {
    kind: 'nginx',
    binary,
    files: {
      'server.pem': f.server.cert,
      'server.key': f.server.key,
      'clients-ca.pem': f.root.cert,
      'upstream-client.pem': f.nginxUpstream.cert,
      'upstream-client.key': f.nginxUpstream.key,
    },
    config: (port) => ({ name: 'nginx.conf', text: nginxSiteConfig(port, locations) }),
    args: (dir, configFile) => ['-p', `${dir}/`, '-c', configFile, '-e', 'stderr', '-g', 'daemon off;'],
  };
}

/** The nginx example's headers: the certificate (URL-encoded PEM) and nginx's verdict. */
export const NGINX_HEADERS = [
  ['ssl-client-cert', '$ssl_client_escaped_cert'],
  ['ssl-client-verify', '$ssl_client_verify'],
] as const;

/**
 * ingress-nginx's template on a host with `auth-tls-secret` (header-formats §5.3): the certificate
 * only with `auth-tls-pass-certificate-to-upstream: "true"`, the verdict and both DNs always.
 */
export function ingressNginxHeaders(passCertificateToUpstream: boolean): ReadonlyArray<readonly [string, string]> {
  return [
    ...(passCertificateToUpstream ? [['ssl-client-cert', '$ssl_client_escaped_cert'] as const] : []),
    ['ssl-client-verify', '$ssl_client_verify'],
    ['ssl-client-subject-dn', '$ssl_client_s_dn'],
    ['ssl-client-issuer-dn', '$ssl_client_i_dn'],
  ];
}
