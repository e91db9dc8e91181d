/**
 * Peers that really connect FROM private addresses: one address of each private range is added to
 * the loopback interface for the duration of a block (`ip addr add … dev lo`), and clients bind to
 * it with `localAddress`. Linux delivers anything addressed to the host's own addresses over `lo`,
 * so a server on 127.0.0.1 (or `::`) sees `socket.remoteAddress` = that private address, exactly
 * as it would see another pod, a VPN node or a host behind an address-rewriting load balancer.
 *
 * Adding addresses needs root (CAP_NET_ADMIN). Without it the block is skipped on a developer
 * machine and fails under CI (`CI` set), as test/interop does for a missing proxy binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export interface PrivatePeer {
  /** The range it stands for, as the tests print it. */
  range: string;
  address: string;
  family: 4 | 6;
}

/** One host of each range a default `trustProxy` must not trust (everything but loopback). */
export const PRIVATE_PEERS: readonly PrivatePeer[] = [
  { range: '10/8', address: '10.213.0.2', family: 4 },
  { range: '172.16/12', address: '172.16.213.2', family: 4 },
  { range: '192.168/16', address: '192.168.213.2', family: 4 },
  { range: '100.64/10', address: '100.64.213.2', family: 4 },
  { range: 'fc00::/7', address: 'fd00:213::2', family: 6 },
];

export const peer = (range: string): PrivatePeer => {
  const found = PRIVATE_PEERS.find((p) => p.range === range);
  if (!found) throw new Error(`no private peer for ${range}`);
  return found;
};

/** `ip` arguments to add (or, with `del`, remove) one address on the loopback interface. */
function ipArgs(verb: 'add' | 'del', p: PrivatePeer): string[] {
  return p.family === 4
    ? ['addr', verb, `${p.address}/32`, 'dev', 'lo']
    : // nodad: usable at once, without waiting for duplicate address detection.
      ['-6', 'addr', verb, `${p.address}/128`, 'dev', 'lo', ...(verb === 'add' ? ['nodad'] : [])];
}

/** Addresses this process added, removed again in `after` (and on exit, if the run dies early). */
const added = new Set<PrivatePeer>();
let users = 0;
let exitHook = false;

function removeAll(): void {
  for (const p of added) {
    spawnSync('ip', ipArgs('del', p), { stdio: 'ignore' });
    added.delete(p);
  }
}

/** Adds the addresses, or returns why it cannot. An address that already exists is used as it is (and left in place). */
function addAll(): string | null {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  for (const p of PRIVATE_PEERS) {
    if (added.has(p)) continue;
    const run = spawnSync('ip', ipArgs('add', p), { encoding: 'utf8' });
    if (run.error) return `cannot run ip (${run.error.message}): apt-get install iproute2`;
    if (run.status !== 0) {
      if (/File exists/i.test(run.stderr)) continue; // someone else's; not ours to remove
      return `ip ${ipArgs('add', p).join(' ')} failed: ${run.stderr.trim()}`;
    }
    added.add(p);
  }
  // The premise of every test here: the kernel has the address (also checks that `ip -6` worked).
  const shown = execFileSync('ip', ['addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
  const missing = PRIVATE_PEERS.filter((p) => !shown.includes(`${p.address}/`));
  return missing.length > 0
    ? `addresses not on lo after adding them: ${missing.map((p) => p.address).join(', ')}`
    : null;
}

/**
 * In a `describe`: add the private addresses before its tests and remove them after. Without
 * root the block is skipped (a warning says why), and under CI it fails.
 */
export function usePrivatePeers(): void {
  before(function () {
    const problem = addAll();
    if (problem) {
      removeAll();
      const message = `private-range peers need addresses on the loopback interface: ${problem}`;
      if (process.env.CI) throw new Error(`deployments: ${message}; CI runs as root`);
      console.warn(`      skipping: ${message}`);
      this.skip();
    }
    users++;
    if (!exitHook) {
      exitHook = true;
      process.once('exit', removeAll);
    }
  });
  after(() => {
    if (users > 0 && --users === 0) removeAll();
  });
}
