/**
 * HAProxy for the interop tests: one frontend terminating mTLS on loopback and forwarding the
 * conventional headers (HAProxy's documented header set, and what the `haproxy` preset expects).
 *
 * The client's copies are deleted first, unconditionally: `set-header … if { ssl_c_used }` alone
 * would leave a client-sent header in place on a request without a certificate (§14.2).
 */

import type { ProxyFiles } from './fixtures.js';
import type { ProxyLaunch } from './proxy-process.js';

export interface HaproxyVariant {
  /**
   * `strict`: `verify optional` (a certificate that fails verification aborts the handshake);
   * `lenient`: plus `ca-ignore-err all crt-ignore-err all`, so it is forwarded with its
   * non-zero `x-ssl-client-verify` error id for the app to refuse.
   */
  verify: 'strict' | 'lenient';
}

export function haproxyConfig(port: number, upstreamPort: number, dir: string, variant: HaproxyVariant): string {
  const ignore = variant.verify === 'lenient' ? ' ca-ignore-err all crt-ignore-err all' : '';
  return `global
    maxconn 256

defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend mtls
    bind 127.0.0.1:${port} ssl crt ${dir}/server-bundle.pem ca-file ${dir}/clients-ca.pem verify optional${ignore}
    http-request del-header x-ssl-client-cert
    http-request del-header x-ssl-client-chain
    http-request del-header x-ssl-client-verify
    http-request set-header x-ssl-client-cert %[ssl_c_der,base64] if { ssl_c_used }
    http-request set-header x-ssl-client-chain %[ssl_c_chain_der,base64] if { ssl_c_used }
    http-request set-header x-ssl-client-verify %[ssl_c_verify] if { ssl_c_used }
    default_backend app

backend app
    server app 127.0.0.1:${upstreamPort}
`;
}

/** `haproxy -f <cfg> -db`: foreground, no daemon. */
export function haproxyLaunch(
  binary: string,
  files: ProxyFiles,
  upstreamPort: number,
  variant: HaproxyVariant,
): ProxyLaunch {
  return {
    kind: 'haproxy',
    binary,
    // HAProxy wants the key in the certificate's PEM file.
    files: { 'server-bundle.pem': files.serverCert + files.serverKey, 'clients-ca.pem': files.clientsCa },
    config: (port, dir) => ({ name: 'haproxy.cfg', text: haproxyConfig(port, upstreamPort, dir, variant) }),
    args: (_dir, configFile) => ['-f', configFile, '-db'],
  };
}
