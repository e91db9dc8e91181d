/**
 * Caddy for the interop tests (Caddy 2.6 Caddyfile syntax, checked with `caddy adapt`).
 *
 * - `admin off`, `auto_https off` and HOME / XDG_DATA_HOME / XDG_CONFIG_HOME in the temporary
 *   directory: no admin port, no ACME, nothing written outside the directory (Caddy still
 *   autosaves its JSON configuration there).
 * - The site address has no host (`https://:port` plus `bind 127.0.0.1`): with a host, Caddy puts
 *   the client_auth policy behind an SNI matcher and adds a catch-all policy *without* client
 *   authentication for clients that send no SNI. Without a host there is one policy for all.
 * - Because client authentication is configured, Caddy enforces SNI = Host (421 otherwise): the
 *   test client sends SNI `localhost` and `Host: localhost:<port>`.
 * - `servers { protocols h1 h2 }`: no HTTP/3 listener on the (UDP) port.
 */

import type { ProxyFiles } from './fixtures.js';
import type { ProxyLaunch } from './proxy-process.js';

export interface CaddyVariant {
  /**
   * `verify_if_given`: a presented certificate must chain to the trusted CA, or the handshake
   * fails; `request`: any certificate is accepted and forwarded unverified (the app verifies).
   */
  mode: 'verify_if_given' | 'request';
}

export function caddyfile(port: number, upstreamPort: number, dir: string, variant: CaddyVariant): string {
  return `{
	admin off
	auto_https off
	servers {
		protocols h1 h2
	}
}

https://:${port} {
	bind 127.0.0.1
	tls ${dir}/server.pem ${dir}/server.key {
		client_auth {
			mode ${variant.mode}
			trusted_ca_cert_file ${dir}/clients-ca.pem
		}
	}
	reverse_proxy 127.0.0.1:${upstreamPort} {
		header_up X-Client-Cert {http.request.tls.client.certificate_der_base64}
	}
}
`;
}

/** `caddy run --config Caddyfile --adapter caddyfile`, foreground. */
export function caddyLaunch(
  binary: string,
  files: ProxyFiles,
  upstreamPort: number,
  variant: CaddyVariant,
): ProxyLaunch {
  return {
    kind: 'caddy',
    binary,
    files: { 'server.pem': files.serverCert, 'server.key': files.serverKey, 'clients-ca.pem': files.clientsCa },
    config: (port, dir) => ({ name: 'Caddyfile', text: caddyfile(port, upstreamPort, dir, variant) }),
    args: (_dir, configFile) => ['run', '--config', configFile, '--adapter', 'caddyfile'],
    env: (dir) => ({ HOME: dir, XDG_DATA_HOME: `${dir}/data`, XDG_CONFIG_HOME: `${dir}/config` }),
  };
}
