/**
 * The one error class of clientcert. Detect errors by `code` (stable, snake_case), not by
 * `instanceof`: the code survives duplicate ESM/CJS copies of the package and minification.
 */

/** Why a request was rejected; these appear as the `code` of a problem response. */
export type RejectionCode =
  | 'client_certificate_required'
  | 'client_certificate_untrusted'
  | 'client_certificate_expired'
  | 'client_certificate_not_yet_valid'
  | 'client_certificate_revoked'
  | 'client_certificate_rejected'
  | 'client_certificate_malformed';

/** Everything else the core can throw: bad input to a parser, bad options at construction. */
export type ErrorCode =
  | RejectionCode
  | 'xfcc_malformed'
  | 'forwarded_header_malformed'
  | 'certificate_malformed'
  | 'invalid_option';

export class ClientCertError extends Error {
  override readonly name = 'ClientCertError';
  /**
   * One of the core's codes, or a code of a package built on it (@clientcert/agent's
   * `credential_*`): open, so that such a package keeps its own list without the core's release.
   */
  readonly code: ErrorCode | (string & {});
  /** HTTP status a framework should answer with when this error reaches it. */
  readonly status: number;
  readonly statusCode: number;
  /** The message is safe to show to the client (never contains attacker-controlled text). */
  readonly expose: boolean;
  /**
   * For rejections: which check decided, a stable label for logs and hooks (`presence`, `trust`,
   * `chain.<verify code>`, `certificate.<verify code>`, `tls`, `pins`, `revocation`, `rules.<rule>`,
   * `xfcc`, `certificate`). Never sent in the problem body.
   */
  readonly check: string | undefined;
  /**
   * For rejections whose `message` is kept general on purpose (it becomes the problem `detail`):
   * the full account, which may name what the configuration trusts. Logs and hooks only.
   */
  readonly reason: string | undefined;

  constructor(
    code: ErrorCode | (string & {}),
    message: string,
    options?: { cause?: unknown; status?: number; check?: string; reason?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.check = options?.check;
    this.reason = options?.reason;
    this.status = this.statusCode = options?.status ?? (code === 'invalid_option' ? 500 : 403);
    this.expose = this.status < 500;
  }
}

export function isClientCertError(value: unknown): value is ClientCertError {
  return (
    value instanceof Error &&
    (value as { name?: unknown }).name === 'ClientCertError' &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}

/**
 * A configuration mistake, found at start-up: names the option and the fix. Options are checked
 * through validate.ts, which raises this; a `TypeError` is only for a programmer's call with
 * arguments of the wrong type, never for configuration.
 */
export function invalidOption(option: string, problem: string): ClientCertError {
  return new ClientCertError('invalid_option', `clientcert: option "${option}" ${problem}`, { status: 500 });
}
