import { ClientCertError, validateOption } from '@clientcert/core';

/**
 * The codes this package throws. `credential_*`: why an outbound client credential could not be
 * loaded, at load time (and on a failed reload after rotation, reported as an `error` event),
 * never at request time. `invalid_option`: an option of the wrong shape, as the core raises it.
 */
export type CredentialErrorCode =
  | 'credential_unreadable'
  | 'credential_malformed'
  | 'credential_passphrase'
  | 'credential_key_mismatch'
  | 'credential_expired'
  | 'credential_not_yet_valid'
  | 'credential_not_found'
  | 'invalid_option';

/** A load-time failure: status 500 (a server-side configuration problem), never exposed to clients. */
export function credentialError(code: CredentialErrorCode, message: string, cause?: unknown): ClientCertError {
  return new ClientCertError(code, `clientcert: ${message}`, {
    status: 500,
    ...(cause === undefined ? {} : { cause }),
  });
}

/** `invalid_option` naming the option, raised the one way the core raises it. */
export const optionError = validateOption.invalidOption;
