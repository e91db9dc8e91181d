import proxyaddr from 'proxy-addr';
import { invalidOption, stringList } from '../validate.js';

/** `(address, hop) => boolean`, as proxy-addr and express's `trust proxy` define it. */
export type TrustProxyFn = (address: string, hop: number) => boolean;

export type TrustProxyInput = string | readonly string[] | TrustProxyFn | false;

/**
 * Peers trusted to forward a client-certificate header when `trustProxy` is not set: a proxy on
 * this host (an Envoy or Istio sidecar, nginx beside the app). Not the private networks: every
 * other pod of a cluster, every host of a VPN or a peered network is there, and a forwarded
 * certificate proves no key possession (certificates are public). A preset whose platform fixes
 * who can connect (Azure Container Apps) brings its own default (presets.ts defaultTrustProxy).
 */
export const DEFAULT_TRUST_PROXY: readonly string[] = ['loopback'];

export interface CompiledTrust {
  fn: TrustProxyFn;
  /** For the start-up report. */
  description: string;
}

/** `trustProxy` as a function: `false` or an empty list trusts no peer. */
export function compileTrustProxy(input: TrustProxyInput): CompiledTrust {
  if (input === false) return { fn: () => false, description: 'no peer' };
  if (typeof input === 'function') return { fn: input, description: 'a custom function' };
  const list =
    typeof input === 'string'
      ? input
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : stringList(input, 'trustProxy', { allowEmptyList: true });
  if (list.length === 0) return { fn: () => false, description: 'no peer' };
  try {
    return { fn: proxyaddr.compile(list), description: list.join(', ') };
  } catch (error) {
    throw invalidOption('trustProxy', `is not a list of addresses, CIDRs or range names: ${(error as Error).message}`);
  }
}
