/**
 * Self time per function from a V8 .cpuprofile (as written by `node --cpu-prof`): the hot spots.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  selfPercent: number;
}

export function hotSpots(path: string, top = 25): HotSpot[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id)!;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url.replace(/^file:\/\/.*?\/(node_modules|packages|benchmarks)\//, '$1/')}:${lineNumber + 1}`
      : '';
    const key = `${functionName || '(anonymous)'}\t${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, time]) => {
      const [name, where] = key.split('\t') as [string, string];
      return { name, where, selfPercent: (100 * time) / total };
    });
}

/** Self time summed per file (packages/core/src/*, node:internal, framework modules...). */
export function selfByFile(path: string, top = 15): HotSpot[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const node = byId.get(id)!;
    const url = node.callFrame.url || `(${node.callFrame.functionName || 'native'})`;
    const key = url.replace(
      /^file:\/\/.*?\/(node_modules\/\.pnpm\/[^/]+\/node_modules\/|packages\/|benchmarks\/)/,
      '$1',
    );
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([where, time]) => ({ name: '', where, selfPercent: (100 * time) / total }));
}
