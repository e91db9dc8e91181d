import proxyaddr from 'proxy-addr';
import { invalidOption } from './errors.js';

/** `(address, hop) => boolean`, as proxy-addr and express's `trust proxy` define it. */
export type TrustProxyFn = (address: string, hop: number) => boolean;

export type TrustProxyInput = string | readonly string[] | TrustProxyFn | false;

/**
 * Peers trusted to forward a client-certificate header when `trustProxy` is not set: a sidecar on
 * loopback (Envoy, Istio) and an ingress on a private network (Azure Container Apps' Envoy sits in
 * the environment's private network; 100.64.0.0/10 is the shared address space such platforms
 * use). None of these addresses can be a peer that comes straight from the public internet.
 */
export const DEFAULT_TRUST_PROXY: readonly string[] = ['loopback', 'uniquelocal', '100.64.0.0/10'];

export interface CompiledTrust {
  fn: TrustProxyFn;
  /** For the start-up report. */
  description: string;
}

export function compileTrustProxy(input: TrustProxyInput): CompiledTrust {
  if (input === false) return { fn: () => false, description: 'no peer' };
  if (typeof input === 'function') return { fn: input, description: 'a custom function' };
  const list = typeof input === 'string' ? input.split(',').map((part) => part.trim()).filter(Boolean) : [...input];
  if (list.length === 0) return { fn: () => false, description: 'no peer' };
  try {
    return { fn: proxyaddr.compile(list), description: list.join(', ') };
  } catch (error) {
    throw invalidOption('trustProxy', `is not a list of addresses, CIDRs or range names: ${(error as Error).message}`);
  }
}
