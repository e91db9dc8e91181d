/**
 * `base64-der`: strict base64 of the leaf's DER (App Service, ASP.NET, Cloudflare, Caddy,
 * HAProxy), with an optional chain header of base64 concatenated DER (HAProxy `ssl_c_chain_der`).
 */
import { checkDer, type Decoded, headerBase64, splitConcatenatedDer } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource } from './types.js';

/**
 * What Caddy sends for `header_up X-Client-Cert {http.request.tls.client.certificate_der_base64}`
 * when the client presented no certificate: Caddy leaves a placeholder it cannot resolve as
 * literal text (seen from Caddy 2.6.2 in test/interop; later Caddy releases send an empty value
 * instead). It means "no certificate", like an empty value; it can never be base64, so nothing
 * else is read as none.
 */
const CADDY_NO_CERTIFICATE = '{http.request.tls.client.certificate_der_base64}';

export function decodeBase64Der(
  source: CompiledHeaderSource,
  value: string,
  chainValue: string | undefined,
): Decoded | undefined {
  const { header, chainHeader, limits } = source;
  if (value === CADDY_NO_CERTIFICATE) {
    if (chainValue !== undefined)
      throw forwardedHeaderError(chainHeader!, `present without a certificate in "${header}"`);
    return undefined;
  }
  const leaf = checkDer(header, headerBase64(header, value, 0, value.length, 'padded'), 0);
  const chain =
    chainValue === undefined
      ? []
      : splitConcatenatedDer(
          chainHeader!,
          headerBase64(chainHeader!, chainValue, 0, chainValue.length, 'padded'),
          limits.maxChainLength,
        );
  return { leaf, chain };
}
