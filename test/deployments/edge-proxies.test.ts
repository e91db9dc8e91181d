/**
 * HAProxy, Caddy and Traefik beside the app (on loopback): with the default trustProxy their
 * headers are honored from loopback only; any host of a private range forging them is ignored,
 * also with `ca` set and a real client's (public) certificate in the header.
 */

import { DEPLOYMENTS } from './fixtures.js';
import { forgedHeaderSuite } from './forged-headers.js';
import { usePrivatePeers } from './private-peers.js';

describe('deployments: HAProxy, Caddy, Traefik', () => {
  usePrivatePeers();
  forgedHeaderSuite(DEPLOYMENTS.haproxy);
  forgedHeaderSuite(DEPLOYMENTS.caddy);
  forgedHeaderSuite(DEPLOYMENTS.traefik);
});
