/**
 * The fixed texts of revocation answers. A message names the certificate's depth in the path and
 * why its status is what it is, never certificate or CRL content: it may reach the client.
 */

/** Why the revocation status of one certificate is unknown. */
export type Reason =
  | 'no_source'
  | 'no_crl'
  | 'crl_stale'
  | 'crl_invalid'
  | 'crl_unavailable'
  | 'no_responder'
  | 'ocsp_unreachable'
  | 'ocsp_error'
  | 'ocsp_invalid'
  | 'ocsp_unknown'
  | 'unreadable';

const REASON_TEXT: Record<Reason, string> = {
  no_source: 'no CRL or OCSP responder covers it',
  no_crl: 'no CRL covers it',
  crl_stale: 'its CRL is out of date',
  crl_invalid: 'its CRL is not valid',
  crl_unavailable: 'a CRL could not be loaded',
  no_responder: 'it names no OCSP responder',
  ocsp_unreachable: 'the OCSP responder could not be reached',
  ocsp_error: 'the OCSP responder returned an error',
  ocsp_invalid: 'the OCSP response could not be validated',
  ocsp_unknown: 'the OCSP responder does not know the certificate',
  unreadable: 'the certificate could not be read',
};

/**
 * Why a CRL that its issuer signed must still not be used (RFC 5280 §5, §6.3.3): it is then "no
 * data", never evidence of good standing nor of revocation.
 */
export type CrlDefect =
  | 'no_crl_number'
  | 'crl_number_critical'
  | 'crl_number_invalid'
  | 'critical_extension'
  | 'critical_entry_extension'
  | 'delta'
  | 'indirect'
  | 'some_reasons'
  | 'distribution_point_form'
  | 'issuer_not_crl_signer';

export const DEFECT_TEXT: Record<CrlDefect, string> = {
  no_crl_number: 'it has no cRLNumber (RFC 5280 §5.2.3)',
  crl_number_critical: 'its cRLNumber is marked critical (RFC 5280 §5.2.3)',
  crl_number_invalid: 'its cRLNumber is negative or longer than 20 octets (RFC 5280 §5.2.3)',
  critical_extension: 'it has a critical extension that is not supported (RFC 5280 §5.2)',
  critical_entry_extension: 'it has a critical entry extension that is not supported (RFC 5280 §5.3)',
  delta: 'it is a delta CRL, which is not supported',
  indirect: 'it is an indirect CRL, which is not supported',
  some_reasons: 'it covers only some revocation reasons, which is not supported',
  distribution_point_form: 'it names its distribution point in a form that is not supported',
  issuer_not_crl_signer: 'the keyUsage of its issuer does not include cRLSign (RFC 5280 §6.3.3)',
};

export function revokedMessage(depth: number): string {
  return `certificate at depth ${depth} has been revoked`;
}

export function unknownMessage(depth: number, reason: Reason, defect: CrlDefect | null): string {
  const why = defect === null ? REASON_TEXT[reason] : `${REASON_TEXT[reason]}: ${DEFECT_TEXT[defect]}`;
  return `revocation status of the certificate at depth ${depth} could not be determined: ${why}`;
}
