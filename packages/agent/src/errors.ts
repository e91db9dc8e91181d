import { ClientCertError, type ErrorCode } from '@clientcert/core';

/** The codes this package throws (a subset of the core's `ErrorCode`). */
export type CredentialErrorCode = Extract<ErrorCode, `credential_${string}`> | 'invalid_option';

/** A load-time failure: status 500 (a server-side configuration problem), never exposed to clients. */
export function credentialError(code: CredentialErrorCode, message: string, cause?: unknown): ClientCertError {
  return new ClientCertError(code, `clientcert: ${message}`, {
    status: 500,
    ...(cause === undefined ? {} : { cause }),
  });
}

export function optionError(option: string, problem: string): ClientCertError {
  return new ClientCertError('invalid_option', `clientcert: option "${option}" ${problem}`, { status: 500 });
}
