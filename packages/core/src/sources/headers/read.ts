/**
 * Reading a compiled source from the request headers: the certificate header, its chain header,
 * the proxy's verdict and description, each format's decoder chosen by the source.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HTAB, SP } from '../../encoding/text.js';
import { ClientCertError } from '../../errors.js';
import { decodeAwsAlb } from './aws-alb.js';
import { decodeBase64Der } from './base64-der.js';
import { decodeCustom } from './custom.js';
import { type Decoded, withoutLeaf } from './decode.js';
import { forwardedHeaderError, PROXY_DESCRIPTION_CHECK } from './errors.js';
import { decodeRfc9440 } from './rfc9440.js';
import { decodeTraefikSource } from './traefik.js';
import {
  type CompiledHeaderSource,
  DESCRIPTION_FIELDS,
  type DescriptionField,
  type ForwardedCertificate,
  type ForwardedDescription,
  type HeaderSourceName,
  type ProxyVerdict,
} from './types.js';
import { decodeUrlPemSource } from './url-pem.js';
import { checkValue, headerValue, readChecked } from './value.js';

const DESCRIPTION_MISSING_MESSAGE =
  "The forwarded certificate came without the proxy's description of it (its subject, issuer, serial or fingerprint " +
  'headers), so the proxy did not write it.';

/**
 * The proxy's verdict for this request, or null when the source has none or its verify header
 * is absent. Useful on its own when readHeaderSource found no certificate: a `failed` verdict
 * without a certificate header (ingress-nginx without pass-certificate-to-upstream) still means
 * the client presented a certificate that the proxy rejected.
 */
export function readProxyVerdict(source: CompiledHeaderSource, headers: IncomingHttpHeaders): ProxyVerdict | null {
  if (source.mode === 'verify') return 'verified';
  const verify = source.verifyHeader;
  if (!verify) return null;
  const value = headerValue(headers, verify.name);
  if (value === undefined) return null;
  if (verify.success.includes(value)) return 'verified';
  if (verify.none.includes(value)) return 'none';
  return 'failed';
}

/**
 * Reads one source from the request headers (Node's lower-cased `IncomingHttpHeaders`).
 *
 * Returns undefined when the certificate header is absent or empty (and, for `url-pem`, when it is
 * Apache's `(null)`; for `base64-der`, when it is Caddy's unresolved placeholder; for a custom
 * decoder, when it returns undefined/null). Traefik: only the
 * certificate header counts; a request with only `-Info` yields undefined here, and
 * readTraefikInfo returns that info (it describes a certificate this library cannot verify).
 *
 * Throws (see FORWARDED_HEADER_ERROR_CODE) on anything malformed, on a limit exceeded, on a chain
 * header without a certificate header (RFC 9440: "MUST NOT appear unless Client-Cert is also
 * present"), and on a certificate whose verify header says `none`: the proxy says no certificate
 * was presented, so the certificate header did not come from it (e.g. ingress-nginx without
 * `auth-tls-pass-certificate-to-upstream`, which leaves a client-sent `ssl-client-cert` in place).
 * A description header sent more than once (as a list) is malformed too. With `describedBy.required`,
 * a certificate without the description throws `client_certificate_untrusted` (check
 * PROXY_DESCRIPTION_CHECK); otherwise the description comes back in `description`, unchecked.
 *
 * This function does not decide trust: the caller checks the peer against `trustProxy` before
 * calling it, then verifies the certificate or honours the verdict (see ForwardedCertificate).
 */
export function readHeaderSource(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
): ForwardedCertificate | undefined {
  const value = readChecked(source, headers, source.header);
  const chainValue = source.chainHeader === null ? undefined : readChecked(source, headers, source.chainHeader);
  if (value === undefined) {
    if (chainValue !== undefined) {
      throw forwardedHeaderError(source.chainHeader!, `present without the certificate header "${source.header}"`);
    }
    return undefined;
  }

  const decoded = DECODERS[source.source](source, value, chainValue);
  if (!decoded) return undefined;
  const proxyVerdict = readProxyVerdict(source, headers);
  if (proxyVerdict === 'none') {
    throw forwardedHeaderError(
      source.header,
      `present although "${source.verifyHeader!.name}" says no certificate was presented`,
    );
  }
  const description = readDescription(source, headers);
  return Object.freeze({
    source: source.source,
    leaf: decoded.leaf,
    chain: Object.freeze(withoutLeaf(decoded.leaf, decoded.chain)),
    proxyVerdict,
    ...(description === undefined ? {} : { description }),
  });
}

/**
 * One description header: a single value (a list of several, from `headersDistinct` or a
 * framework, is malformed; Node's own `", "`-joined repeat is left to the comparison, which it
 * fails), at most `maxLength` characters, no control characters. DN headers may carry bytes
 * above 0x7e (a proxy that writes UTF-8 instead of `\XX` escapes); the others are hex, ASCII only.
 */
function readDescriptionValue(
  source: CompiledHeaderSource,
  headers: IncomingHttpHeaders,
  name: string,
  dn: boolean,
): string | undefined {
  const raw: unknown = headers[name];
  let value: string;
  if (typeof raw === 'string') value = raw;
  else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
    if (raw.length > 1) throw forwardedHeaderError(name, 'sent more than once (the proxy sends one value)');
    value = raw.length === 0 ? '' : (raw[0] as string);
  } else return undefined;
  if (value === '') return undefined;
  if (!dn) {
    checkValue(name, value, source.limits);
    return value;
  }
  if (value.length > source.limits.maxLength) {
    throw forwardedHeaderError(name, `value exceeds maxLength (${source.limits.maxLength} characters)`);
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < SP && c !== HTAB) || c === 0x7f) throw forwardedHeaderError(name, `control character at position ${i}`);
  }
  return value;
}

function readDescription(source: CompiledHeaderSource, headers: IncomingHttpHeaders): ForwardedDescription | undefined {
  const described = source.describedBy;
  if (described === null) return undefined;
  const description: { -readonly [K in DescriptionField]?: string } = {};
  let present = 0;
  let missingOtherThanSubject = false;
  for (const field of DESCRIPTION_FIELDS) {
    const name = described[field];
    if (name === null) continue;
    const value = readDescriptionValue(source, headers, name, field === 'subjectDn' || field === 'issuerDn');
    if (value !== undefined) {
      description[field] = value;
      present++;
    } else if (field !== 'subjectDn') {
      missingOtherThanSubject = true;
    }
  }
  if (described.required) {
    if (present === 0 || missingOtherThanSubject) {
      throw new ClientCertError('client_certificate_untrusted', DESCRIPTION_MISSING_MESSAGE, {
        check: PROXY_DESCRIPTION_CHECK,
      });
    }
    // Every other header is there, so the proxy wrote them: its subject header is missing
    // because the subject is empty (nginx sends no header for an empty value).
    if (described.subjectDn !== null && description.subjectDn === undefined) description.subjectDn = '';
  }
  return present === 0 ? undefined : Object.freeze(description);
}

/** Each format's decoder: the certificate header's value (and the chain header's) to DER. */
const DECODERS: Readonly<
  Record<
    HeaderSourceName | 'custom',
    (source: CompiledHeaderSource, value: string, chainValue: string | undefined) => Decoded | undefined
  >
> = {
  rfc9440: decodeRfc9440,
  traefik: decodeTraefikSource,
  'url-pem': decodeUrlPemSource,
  'base64-der': decodeBase64Der,
  'aws-alb': decodeAwsAlb,
  custom: decodeCustom,
};
