/** `url-pem`: one certificate as percent-encoded PEM (nginx) or PEM with folded line breaks (Apache). */
import { type Decoded, pemCertificates } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource } from './types.js';

export function decodeUrlPemSource(source: CompiledHeaderSource, value: string): Decoded | undefined {
  const leaf = decodeUrlPem(source.header, value);
  return leaf && { leaf, chain: [] };
}

/**
 * `url-pem`: nginx `$ssl_client_escaped_cert` / ingress-nginx `ssl-client-cert` (percent-encoded
 * PEM, leaf only), or raw PEM with line breaks folded into spaces (Apache mod_headers
 * `%{SSL_CLIENT_CERT}s`; nginx-style multiple spaces and tabs too). Apache writes the literal
 * `(null)` when the variable is unset: no certificate. Exactly one certificate.
 */
function decodeUrlPem(header: string, value: string): Buffer | undefined {
  if (value === '(null)') return undefined;
  const ders = pemCertificates(header, value, 1);
  if (ders.length === 0) throw forwardedHeaderError(header, 'no certificate in the value');
  return ders[0]!;
}
