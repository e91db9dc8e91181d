/**
 * Sidecar deployments (an Envoy or Istio sidecar on loopback, or any XFCC-writing proxy with no
 * preset): the default trustProxy is loopback only, so every other host of the cluster's or the
 * VPC's private network is a stranger whose X-Forwarded-Client-Cert is ignored, even when it
 * carries a real client's (public) certificate and `ca` would accept it.
 */

import { DEPLOYMENTS } from './fixtures.js';
import { forgedHeaderSuite } from './forged-headers.js';
import { usePrivatePeers } from './private-peers.js';

describe('deployments: sidecar (XFCC from loopback)', () => {
  usePrivatePeers();
  forgedHeaderSuite(DEPLOYMENTS.xfcc);
  forgedHeaderSuite(DEPLOYMENTS.envoy);
  forgedHeaderSuite(DEPLOYMENTS.istio);
});
