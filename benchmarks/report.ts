/** The table `pnpm bench` prints and writes to benchmarks/last-run.md. */
import type { ColdResult } from './cold.js';
import type { Config } from './config.js';

export interface Sample {
  rps: number;
  /** Server CPU time per request, µs. */
  cpu: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A never-seen leaf under a known intermediate, against node:crypto's parse + one signature check. */
const COLD_TARGET = 0.8;

const HEADER = [
  'configuration',
  'req/s (median)',
  'ratio to bare',
  'server CPU µs/req',
  'CPU ratio',
  'CPU ratio, per run',
  'target',
  'ok? (req/s / CPU)',
  'runs (req/s)',
  'runs (CPU µs/req)',
];

/**
 * A row's ratios to its baseline, run by run: each run measured the two next to each other (A, B
 * then B, A), so a ratio within a run cancels most of the drift between runs. The median of them
 * is the table's ratio, their range its spread.
 */
function pairedRatios(rows: Sample[], baseline: Sample[]): { rps: number[]; cpu: number[] } {
  const runs = Math.min(rows.length, baseline.length);
  return {
    rps: Array.from({ length: runs }, (_, i) => rows[i]!.rps / baseline[i]!.rps),
    cpu: Array.from({ length: runs }, (_, i) => baseline[i]!.cpu / rows[i]!.cpu),
  };
}

const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** Medians per configuration, each divided by its baseline of the same run, as a Markdown table. */
export function tableOf(configs: Config[], samples: Map<string, Sample[]>, cold: ColdResult | null): string {
  const keyOf = (framework: string, name: string): string => `${framework} ${name}`;
  const rpsOf = (key: string): number => median(samples.get(key)!.map((sample) => sample.rps));
  const cpuOf = (key: string): number => median(samples.get(key)!.map((sample) => sample.cpu));
  const rows: string[][] = [];
  for (const config of configs) {
    const key = keyOf(config.framework, config.name);
    const runs = samples.get(key)!;
    // A baseline left out by --configs: the row's own numbers, no ratio.
    const baseline = samples.get(keyOf(config.framework, config.baseline));
    const paired = baseline ? pairedRatios(runs, baseline) : { rps: [Number.NaN], cpu: [Number.NaN] };
    const ratio = median(paired.rps);
    // CPU ratio: the share of the bare framework's capacity left when the server's CPU is the limit.
    const cpuRatio = median(paired.cpu);
    let target = '';
    let ok = '';
    if (typeof config.target === 'number') {
      target = `≥ ${(config.target * 100).toFixed(0)}%`;
      ok = `${ratio >= config.target ? 'ok' : 'NOT MET'} / ${cpuRatio >= config.target ? 'ok' : 'NOT MET'}`;
    } else if (config.target === 'peer' && samples.has(keyOf(config.framework, 'tls'))) {
      const ours = keyOf(config.framework, 'tls');
      target = 'below clientcert tls';
      ok = `${rpsOf(ours) > rpsOf(key) ? 'ok' : 'NOT MET'} / ${cpuOf(ours) < cpuOf(key) ? 'ok' : 'NOT MET'}`;
    }
    rows.push([
      key,
      String(Math.round(rpsOf(key))),
      baseline ? percent(ratio) : '',
      cpuOf(key).toFixed(1),
      baseline ? percent(cpuRatio) : '',
      baseline && key !== keyOf(config.framework, config.baseline)
        ? `${percent(Math.min(...paired.cpu))}–${percent(Math.max(...paired.cpu))}`
        : '',
      target,
      ok,
      runs.map((sample) => Math.round(sample.rps)).join('/'),
      runs.map((sample) => sample.cpu.toFixed(0)).join('/'),
    ]);
  }
  if (cold) {
    rows.push([
      'cold parse+verify (µs/cert)',
      `${cold.oursMicros.toFixed(1)} µs`,
      `${cold.ratio.toFixed(2)}× floor`,
      '',
      '',
      '',
      `≤ ${COLD_TARGET}× node:crypto`,
      cold.ratio <= COLD_TARGET ? 'ok' : 'NOT MET',
      `floor ${cold.floorMicros.toFixed(1)} µs`,
      cold.ratioRange ? `ratio ${cold.ratioRange[0].toFixed(2)}–${cold.ratioRange[1].toFixed(2)}` : '',
    ]);
  }
  return [HEADER, HEADER.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
