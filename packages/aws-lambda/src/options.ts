/**
 * The Lambda options, as core options: the source is fixed by what invokes the function (`proxy`),
 * the only "peer" is that service, and trust must be said out loud: `ca`, `pins`, or
 * `proxyVerified: true` for the service's own verification. Nothing is trusted by default.
 */
import { type ClientCertOptions, type CustomSource, type Logger, validateOption } from '@clientcert/core';
import {
  ALB_PEER,
  API_GATEWAY_HEADER,
  API_GATEWAY_PEER,
  API_GATEWAY_VERDICT_HEADER,
  decodeApiGatewayPem,
  type LambdaProxy,
} from './events.js';

/** Options of the core that have no meaning for an event: why, and what to use instead. */
const NOT_FOR_EVENTS: Readonly<Record<string, string>> = {
  source:
    "does not apply: where the certificate is follows from `proxy` ('api-gateway', 'aws-alb', 'aws-alb-passthrough')",
  trustProxy:
    'does not apply: an event has no peer address, it comes from the service that invoked the function (name it with `proxy`)',
  xfcc: 'does not apply: API Gateway and the ALB send no X-Forwarded-Client-Cert',
  rfc9440: 'does not apply: API Gateway and the ALB send no Client-Cert header',
  traefik: 'does not apply: API Gateway and the ALB send no Traefik header',
  urlPem: "does not apply: the ALB's header is read with `awsAlb`",
  base64Der: 'does not apply: API Gateway and the ALB send no base64 DER header',
  dangerouslyTrustAnyForwardedCertificate:
    "is not offered for Lambda: configure `ca` or `pins`, or `proxyVerified: true` to count API Gateway's or the ALB's verification",
};

type NotForEvents =
  | 'source'
  | 'trustProxy'
  | 'xfcc'
  | 'rfc9440'
  | 'traefik'
  | 'urlPem'
  | 'base64Der'
  | 'dangerouslyTrustAnyForwardedCertificate';

/** The ALB source's settings: header names (the ALB can rename them), `describedBy`, `limits`. Its mode follows `proxy`. */
export type AwsAlbSettings = Omit<NonNullable<ClientCertOptions['awsAlb']>, 'mode'>;

export interface LambdaClientCertOptions extends Omit<ClientCertOptions, NotForEvents | 'proxy' | 'awsAlb'> {
  /**
   * What invokes the function (default `'api-gateway'`): `'api-gateway'` (REST or HTTP API with
   * mutual TLS on a custom domain; the certificate is in `requestContext`), `'aws-alb'` (an ALB
   * listener with mutual authentication in verify mode; `x-amzn-mtls-clientcert-leaf`) or
   * `'aws-alb-passthrough'` (passthrough mode; `x-amzn-mtls-clientcert`, verified by nobody).
   */
  proxy?: LambdaProxy;
  /**
   * Count the invoking service's own verification instead of `ca`: API Gateway's truststore, or
   * the ALB's trust store in verify mode (refused for `aws-alb-passthrough`, which verifies
   * nothing). Default `false`: without `ca` or `pins`, set it to say that the service verified.
   */
  proxyVerified?: boolean;
  /** For `aws-alb` and `aws-alb-passthrough`: the header settings, e.g. names the listener renames. */
  awsAlb?: AwsAlbSettings;
}

const PROXIES: readonly LambdaProxy[] = ['api-gateway', 'aws-alb', 'aws-alb-passthrough'];

export interface CompiledLambdaOptions {
  readonly proxy: LambdaProxy;
  readonly core: ClientCertOptions;
  /** Where this package's start-up line goes (the core's own line speaks of peers and headers, not events). */
  readonly logger: Logger | null;
  /** Until construction ends, the core's start-up line is held back (see quietLogger). */
  readonly quiet: { value: boolean };
}

export function compileLambdaOptions(input: LambdaClientCertOptions = {}): CompiledLambdaOptions {
  const options = validateOption.objectOption(input, 'options') as LambdaClientCertOptions & Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(NOT_FOR_EVENTS, key)) throw validateOption.invalidOption(key, NOT_FOR_EVENTS[key]!);
  }
  const { proxy: proxyInput, proxyVerified: verifiedInput, awsAlb, logger: loggerInput, ...rest } = options;
  const proxy = validateOption.oneOf(proxyInput ?? 'api-gateway', PROXIES, 'proxy');
  const proxyVerified = validateOption.booleanOption(verifiedInput ?? false, 'proxyVerified');
  if (proxy === 'api-gateway' && awsAlb !== undefined) {
    throw validateOption.invalidOption(
      'awsAlb',
      "applies to ALB events only: set proxy: 'aws-alb' or 'aws-alb-passthrough'",
    );
  }
  if (awsAlb !== undefined && Object.hasOwn(validateOption.objectOption(awsAlb, 'awsAlb'), 'mode')) {
    // The mode is the listener's, named once by `proxy`: a second word for it could read the other mode's header.
    throw validateOption.invalidOption(
      'awsAlb.mode',
      "follows from `proxy`: 'aws-alb' is verify mode, 'aws-alb-passthrough' passthrough",
    );
  }
  requireTrust(options, proxy, proxyVerified);
  const logger = loggerInput === false ? null : (loggerInput ?? console);
  const quiet = { value: true };
  const core: ClientCertOptions = {
    ...rest,
    ...(logger ? { logger: quietLogger(logger, quiet) } : { logger: false }),
    ...(proxy === 'api-gateway' ? apiGatewaySource(proxyVerified) : albSource(proxy, proxyVerified, awsAlb)),
  };
  return { proxy, core, logger, quiet };
}

/**
 * Refused at start-up: a configuration under which nothing could be trusted (every request would
 * be refused), or under which trust was never said. The fix is named.
 */
function requireTrust(options: LambdaClientCertOptions, proxy: LambdaProxy, proxyVerified: boolean): void {
  if (options.mode === 'ignore' || options.ca !== undefined || options.pins !== undefined || proxyVerified) return;
  const service =
    proxy === 'api-gateway'
      ? "or `proxyVerified: true` to count API Gateway's truststore (it completed the TLS handshake with the certificate)"
      : proxy === 'aws-alb'
        ? "or `proxyVerified: true` to count the ALB's trust store (verify mode)"
        : '(passthrough mode verifies nothing, so the function must)';
  throw validateOption.invalidOption(
    'ca',
    `is needed: nothing says which client certificates to trust. Set \`ca\` (your clients' CA; add \`intermediates\` ` +
      `when clients are issued by one${proxy === 'api-gateway' ? ': API Gateway passes the leaf only' : ''}), \`pins\`, ${service}`,
  );
}

/**
 * API Gateway: a custom source over the header that events.ts writes from `requestContext`.
 * `proxyVerified` needs a preset whose proxy always verifies and says so per certificate: ALB
 * verify mode is that, and the verdict header is written with every certificate API Gateway
 * passed (it only passes certificates its truststore accepted).
 */
function apiGatewaySource(proxyVerified: boolean): ClientCertOptions {
  const source: CustomSource = {
    header: API_GATEWAY_HEADER,
    decode: decodeApiGatewayPem,
    verifyHeader: { name: API_GATEWAY_VERDICT_HEADER, success: ['verified'] },
  };
  return {
    source,
    trustProxy: (address) => address === API_GATEWAY_PEER,
    ...(proxyVerified ? { proxy: 'aws-alb', proxyVerified: true } : {}),
  };
}

/** The ALB: the core's `aws-alb` source and preset, over the event's own headers. */
function albSource(
  proxy: 'aws-alb' | 'aws-alb-passthrough',
  proxyVerified: boolean,
  awsAlb: AwsAlbSettings | undefined,
): ClientCertOptions {
  return {
    proxy,
    // Said, never assumed: the core's preset would count verify mode's verdict by default.
    proxyVerified,
    trustProxy: (address) => address === ALB_PEER,
    ...(awsAlb !== undefined ? { awsAlb } : {}),
  };
}

/**
 * The caller's logger, minus the core's start-up line while the core is built: that line speaks
 * of peers and forwarded headers, which an event does not have; this package says its own.
 * Warnings and per-request lines pass unchanged.
 */
function quietLogger(logger: Logger, quiet: { value: boolean }): Logger {
  const wrapped: Logger = {
    info: (message) => {
      if (!quiet.value) logger.info(message);
    },
    warn: (message) => logger.warn(message),
  };
  if (typeof logger.debug === 'function') wrapped.debug = (message) => logger.debug!(message);
  return wrapped;
}
