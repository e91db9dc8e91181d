#!/usr/bin/env node
/**
 * The `clientcert` command: argument parsing and output only; the work is in ./commands.
 * Exit codes: 0 ok, 1 the check failed / certificate rejected, 2 usage error, 3 input unreadable
 * or malformed. Errors are one line on stderr, never a stack trace.
 */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { check, formatCheck } from './commands/check.js';
import { gen } from './commands/gen.js';
import { formatInspect, inspect } from './commands/inspect.js';
import { buildHeaders } from './commands/xfcc.js';
import { CliError, EXIT, oneLine, usageError } from './errors.js';
import { HELP, USAGE } from './help.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

const COMMON: Options = { help: { type: 'boolean', short: 'h' } };

function parse(command: string, args: string[], options: Options, positionals: [number, number]): Parsed | null {
  // "--days -2": a negative number is the option's value, not an option.
  args = args.flatMap((arg, i) =>
    /^-\d/.test(args[i + 1] ?? '') && arg.startsWith('--') && options[arg.slice(2)]?.type === 'string'
      ? [`${arg}=${args[i + 1]}`]
      : /^-\d/.test(arg) && i > 0 && args[i - 1]!.startsWith('--') && options[args[i - 1]!.slice(2)]?.type === 'string'
        ? []
        : [arg],
  );
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, allowPositionals: true, strict: true }) as Parsed;
  } catch (error) {
    throw usageError(
      `${command}: ${(error as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '')} (see clientcert ${command} --help)`,
    );
  }
  if (parsed.values.help) return null;
  const [min, max] = positionals;
  if (parsed.positionals.length < min)
    throw usageError(`${command}: missing argument (see clientcert ${command} --help)`);
  if (parsed.positionals.length > max)
    throw usageError(
      `${command}: unexpected argument "${oneLine(parsed.positionals[max]!)}" (see clientcert ${command} --help)`,
    );
  return parsed;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): string[] | undefined =>
  Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? [v] : undefined;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = command === 'help' ? args[0] : undefined;
    process.stdout.write(`${topic && HELP[topic] ? HELP[topic] : USAGE}\n`);
    return command === undefined ? EXIT.usage : EXIT.ok;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write('0.1.0\n');
    return EXIT.ok;
  }
  const help = HELP[command];
  if (!help)
    throw usageError(`unknown command "${oneLine(command)}": use gen, inspect, xfcc or check (clientcert --help)`);

  switch (command) {
    case 'inspect': {
      const p = parse(
        command,
        args,
        {
          json: { type: 'boolean' },
          header: { type: 'string' },
          format: { type: 'string' },
          passphrase: { type: 'string' },
          element: { type: 'string' },
        },
        [1, 1],
      );
      if (!p) break;
      const element = str(p.values.element);
      if (element !== undefined && element !== 'first' && element !== 'last')
        throw usageError('inspect: --element must be first or last');
      const report = inspect(p.positionals[0]!, {
        header: str(p.values.header),
        format: str(p.values.format),
        passphrase: str(p.values.passphrase),
        element,
      });
      process.stdout.write(`${p.values.json ? JSON.stringify(report, null, 2) : formatInspect(report)}\n`);
      return EXIT.ok;
    }
    case 'xfcc': {
      const p = parse(
        command,
        args,
        {
          chain: { type: 'string' },
          by: { type: 'string', multiple: true },
          details: { type: 'string', multiple: true },
          format: { type: 'string' },
          passphrase: { type: 'string' },
          headers: { type: 'boolean' },
        },
        [1, 1],
      );
      if (!p) break;
      const headers = buildHeaders(p.positionals[0]!, {
        chain: str(p.values.chain),
        by: list(p.values.by),
        details: list(p.values.details),
        format: str(p.values.format),
        passphrase: str(p.values.passphrase),
      });
      if (headers.length > 1 && !p.values.headers) {
        throw usageError(
          'xfcc: this format needs two headers (certificate and chain): add --headers to print both as "name: value" lines',
        );
      }
      process.stdout.write(
        `${headers.map((h) => (p.values.headers ? `${h.name}: ${h.value}` : h.value)).join('\n')}\n`,
      );
      return EXIT.ok;
    }
    case 'gen': {
      const p = parse(
        command,
        args,
        {
          out: { type: 'string' },
          'key-type': { type: 'string' },
          'client-subject': { type: 'string' },
          san: { type: 'string', multiple: true },
          days: { type: 'string' },
          'server-name': { type: 'string' },
          intermediate: { type: 'boolean' },
          pfx: { type: 'boolean' },
          passphrase: { type: 'string' },
          force: { type: 'boolean' },
        },
        [0, 0],
      );
      if (!p) break;
      const v = p.values;
      const result = await gen({
        out: str(v.out),
        keyType: str(v['key-type']),
        clientSubject: str(v['client-subject']),
        san: list(v.san),
        days: str(v.days),
        serverName: str(v['server-name']),
        intermediate: v.intermediate === true,
        pfx: v.pfx === true,
        passphrase: str(v.passphrase),
        force: v.force === true,
      });
      const lines = [
        `wrote to ${result.dir}:`,
        ...result.files.map((f) => `  ${f}`),
        '',
        'try it (in that directory):',
        ...result.tryIt.map((l) => `  ${l}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
      return EXIT.ok;
    }
    case 'check': {
      const p = parse(
        command,
        args,
        {
          config: { type: 'string', short: 'c' },
          format: { type: 'string' },
          passphrase: { type: 'string' },
          at: { type: 'string' },
          json: { type: 'boolean' },
        },
        [1, 1],
      );
      if (!p) break;
      const config = str(p.values.config);
      if (config === undefined) throw usageError('check: --config <file> is required (see clientcert check --help)');
      const result = await check(p.positionals[0]!, {
        config,
        format: str(p.values.format),
        passphrase: str(p.values.passphrase),
        at: str(p.values.at),
      });
      process.stdout.write(`${p.values.json ? JSON.stringify(result, null, 2) : formatCheck(result)}\n`);
      return result.accepted ? EXIT.ok : EXIT.failed;
    }
    default:
      break;
  }
  process.stdout.write(`${help}\n`);
  return EXIT.ok;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const exit = error instanceof CliError ? error.exitCode : EXIT.input;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`clientcert: ${oneLine(message.replace(/^clientcert: /, ''))}\n`);
    process.exitCode = exit;
  },
);
