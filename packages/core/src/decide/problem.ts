import { randomUUID } from 'node:crypto';
import type { ClientCertError, RejectionCode } from '../errors.js';

/** An RFC 9457 problem details body. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** A unique id of this occurrence (`urn:uuid:…`), to find it in logs. */
  instance: string;
  code: RejectionCode;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const TITLES: Record<RejectionCode, string> = {
  client_certificate_required: 'Client certificate required',
  client_certificate_untrusted: 'Client certificate not trusted',
  client_certificate_expired: 'Client certificate expired',
  client_certificate_not_yet_valid: 'Client certificate not yet valid',
  client_certificate_revoked: 'Client certificate revoked',
  client_certificate_rejected: 'Client certificate rejected',
  client_certificate_malformed: 'Client certificate malformed',
};

/**
 * The rejection as a problem body. `detail` is the error's message, which the core only ever
 * builds from fixed text (never from header content or certificate fields).
 */
export function toProblem(
  error: ClientCertError & { code: RejectionCode },
  status: number,
  typeBase: string,
): ProblemDetails {
  return {
    type: typeBase + error.code,
    title: TITLES[error.code],
    status,
    detail: error.message,
    instance: `urn:uuid:${randomUUID()}`,
    code: error.code,
  };
}

/** Headers every adapter sends with a problem response. */
export const PROBLEM_HEADERS: Readonly<Record<string, string>> = {
  'content-type': PROBLEM_CONTENT_TYPE,
  'cache-control': 'no-store',
};
