/** The errors of the forwarded-header sources: one code and check, messages that never quote header text. */
import { ClientCertError, type ErrorCode, isClientCertError } from '../../errors.js';

/** The code this module's errors carry (the pipeline answers `client_certificate_malformed`). */
export const FORWARDED_HEADER_ERROR_CODE = 'forwarded_header_malformed' satisfies ErrorCode;
/** `check` of every error this module throws. */
export const FORWARDED_HEADER_CHECK = 'forwarded_header';

/**
 * The error for a malformed forwarded header. `header` and `label` come from the configuration,
 * never from the request; `message` must not contain header text either.
 */
export function forwardedHeaderError(header: string, message: string, cause?: unknown): ClientCertError {
  return new ClientCertError(FORWARDED_HEADER_ERROR_CODE, `forwarded certificate header "${header}": ${message}`, {
    check: FORWARDED_HEADER_CHECK,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `check` of the refusal of a certificate header that came without the proxy's required description. */
export const PROXY_DESCRIPTION_CHECK = 'proxy.description';

/** True for errors thrown by this module (by code and check, so it survives duplicate copies). */
export function isForwardedHeaderError(error: unknown): error is ClientCertError {
  return (
    isClientCertError(error) && error.code === FORWARDED_HEADER_ERROR_CODE && error.check === FORWARDED_HEADER_CHECK
  );
}
