/**
 * `aws-alb`: percent-encoded PEM with `+ = /` possibly left unencoded. Passthrough mode sends the
 * whole presented chain, leaf first (`x-amzn-mtls-clientcert`); verify mode the leaf only
 * (`x-amzn-mtls-clientcert-leaf`), and only for certificates the ALB verified.
 */
import { type Decoded, pemCertificates } from './decode.js';
import { forwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource } from './types.js';

export const AWS_ALB_LEAF_HEADER = 'x-amzn-mtls-clientcert-leaf';

export function decodeAwsAlb(source: CompiledHeaderSource, value: string): Decoded {
  const { header, limits } = source;
  const max = source.mode === 'verify' ? 1 : limits.maxChainLength + 1;
  const ders = pemCertificates(header, value, max);
  if (ders.length === 0) throw forwardedHeaderError(header, 'no certificate in the value');
  const [leaf, ...chain] = ders;
  return { leaf: leaf!, chain };
}
