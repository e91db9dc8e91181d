/**
 * nginx for the interop tests: the configuration is examples/nginx/nginx.conf itself, read from
 * disk, with only the listen and upstream ports replaced (and, for the variants, one directive
 * swapped), so the example is exactly what the tests run. Every replaced text must occur exactly
 * once, so an edit of the example that the tests no longer match fails loudly instead of testing
 * something else.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ProxyFiles } from './fixtures.js';
import type { ProxyLaunch } from './proxy-process.js';

export const NGINX_EXAMPLE = fileURLToPath(new URL('../../examples/nginx/nginx.conf', import.meta.url));

const EXAMPLE_LISTEN = 'listen 127.0.0.1:8443 ssl;';
const EXAMPLE_UPSTREAM = 'proxy_pass http://127.0.0.1:3000;';
const EXAMPLE_VERIFY = 'ssl_verify_client optional;';
const EXAMPLE_HEADERS = [
  'proxy_set_header ssl-client-cert $ssl_client_escaped_cert;',
  'proxy_set_header ssl-client-verify $ssl_client_verify;',
];
/** An Envoy-style XFCC element built by nginx; nginx has no SHA-256 variable, hence no Hash. */
export const NGINX_XFCC_DIRECTIVE = `proxy_set_header X-Forwarded-Client-Cert 'Cert="$ssl_client_escaped_cert";Subject="$ssl_client_s_dn"';`;

export interface NginxVariant {
  /** `url-pem`: the example's ssl-client-cert / ssl-client-verify; `xfcc`: NGINX_XFCC_DIRECTIVE instead. */
  headers: 'url-pem' | 'xfcc';
  /** `optional` (the example) or `optional_no_ca` (failed verification forwarded as FAILED:reason). */
  verifyClient: 'optional' | 'optional_no_ca';
}

function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) {
    throw new Error(`examples/nginx/nginx.conf: expected exactly one "${from}"`);
  }
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** The example configuration, listening on `port` and proxying to `upstreamPort`. */
export function nginxConfig(port: number, upstreamPort: number, variant: NginxVariant): string {
  let text = readFileSync(NGINX_EXAMPLE, 'utf8');
  text = replaceOnce(text, EXAMPLE_LISTEN, `listen 127.0.0.1:${port} ssl;`);
  text = replaceOnce(text, EXAMPLE_UPSTREAM, `proxy_pass http://127.0.0.1:${upstreamPort};`);
  if (variant.verifyClient !== 'optional') {
    text = replaceOnce(text, EXAMPLE_VERIFY, `ssl_verify_client ${variant.verifyClient};`);
  }
  if (variant.headers === 'xfcc') {
    text = replaceOnce(text, EXAMPLE_HEADERS[0]!, NGINX_XFCC_DIRECTIVE);
    text = replaceOnce(text, EXAMPLE_HEADERS[1]!, '');
  } else {
    for (const line of EXAMPLE_HEADERS) replaceOnce(text, line, line); // still there, once
  }
  return text;
}

/**
 * `nginx -p <dir> -c <dir>/nginx.conf -e stderr -g 'daemon off;'`: the prefix is the temporary
 * directory, so the pid file, the temp paths and the certificates (relative in the example) are all
 * inside it; `-e stderr` keeps nginx from opening its compiled-in error log before reading the
 * configuration (it runs as root in CI).
 */
export function nginxLaunch(
  binary: string,
  files: ProxyFiles,
  upstreamPort: number,
  variant: NginxVariant,
): ProxyLaunch {
  return {
    kind: 'nginx',
    binary,
    files: { 'server.pem': files.serverCert, 'server.key': files.serverKey, 'clients-ca.pem': files.clientsCa },
    config: (port) => ({ name: 'nginx.conf', text: nginxConfig(port, upstreamPort, variant) }),
    args: (dir, configFile) => ['-p', `${dir}/`, '-c', configFile, '-e', 'stderr', '-g', 'daemon off;'],
  };
}
