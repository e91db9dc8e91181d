/**
 * The start-up line for a Lambda configuration: where the certificate comes from in the event,
 * what trusts it, and who can therefore mint an identity. Said once, at construction.
 */
import type { ClientCertAuth } from '@clientcert/core';
import type { LambdaProxy } from './events.js';

const FROM: Record<LambdaProxy, string> = {
  'api-gateway':
    "API Gateway's mutual TLS (requestContext.identity.clientCert or requestContext.authentication.clientCert; the event's headers are never read)",
  'aws-alb': 'the ALB header x-amzn-mtls-clientcert-leaf (listener mutual authentication in verify mode)',
  'aws-alb-passthrough': 'the ALB header x-amzn-mtls-clientcert (listener mutual authentication in passthrough mode)',
};

const SERVICE_VERIFIED: Record<LambdaProxy, string> = {
  'api-gateway': "API Gateway's truststore (proxyVerified)",
  'aws-alb': "the ALB's trust store (proxyVerified)",
  'aws-alb-passthrough': 'nothing',
};

export function describeLambda(auth: ClientCertAuth, proxy: LambdaProxy): string {
  const options = auth.options;
  if (options.mode === 'ignore') return `clientcert: mode ignore; no certificate is read`;
  const anchors = options.anchors?.length ?? 0;
  const pins = options.pins !== null;
  const trust =
    anchors > 0
      ? `${anchors} trust anchor(s)${pins ? ', narrowed by pins' : ''}`
      : pins
        ? 'pinned certificates'
        : SERVICE_VERIFIED[proxy];
  const accepted = anchors > 0 ? 'that chains to the trust anchors' : pins ? 'that is pinned' : 'that it accepts';
  const holder =
    proxy === 'aws-alb-passthrough'
      ? `a TLS client of the ALB holding the private key of a certificate ${accepted}`
      : `a TLS client holding the private key of a certificate ${proxy === 'api-gateway' ? "API Gateway's truststore" : "the ALB's trust store"} accepts${anchors > 0 || pins ? ` and ${accepted}` : ''}`;
  // The ALB is not documented to remove a client-sent X-Amzn-Mtls-* header: on a listener whose
  // mutual authentication is off (or in the other mode) the header is the client's.
  const alb =
    proxy === 'api-gateway'
      ? ''
      : `; and any client of a listener without this mutual authentication mode, with ${anchors > 0 || pins ? `any certificate ${accepted} (certificates are public)` : 'any certificate at all'}`;
  return `clientcert: mode ${options.mode}; certificate from ${FROM[proxy]}; trust: ${trust}${options.rules ? '; rules configured' : ''}; who can mint an identity: ${holder}${alb}`;
}
