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
import { CliError, EXIT, oneLine, shown, usageError } from './errors.js';
import { HELP, USAGE } from './help.js';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed = { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] };

const COMMON: Options = { help: { type: 'boolean', short: 'h' } };

/**
 * An option as typed: `--name`, `--name=value` or `-x`. Any other argument that starts with `-`
 * is a value: a pasted PEM (`-----BEGIN`), nginx's or an ALB's escaped one, a negative number.
 */
const OPTION = /^(--[A-Za-z][A-Za-z0-9-]*(=.*)?|-[A-Za-z])$/s;

function parse(command: string, args: string[], options: Options, positionals: [number, number]): Parsed | null {
  // parseArgs would take those values for options: they are hidden from it, then put back.
  const hidden: string[] = [];
  const masked = args.map((arg) =>
    arg.startsWith('-') && arg !== '-' && arg !== '--' && !OPTION.test(arg) ? `\u0000${hidden.push(arg) - 1}` : arg,
  );
  const unmask = (value: string): string => (value.startsWith('\u0000') ? hidden[Number(value.slice(1))]! : value);
  const all = { ...COMMON, ...options };
  const unknown = masked.find((arg) => OPTION.test(arg) && !known(all, arg));
  if (unknown !== undefined)
    throw usageError(
      `${command}: unknown option "${shown(unknown.split('=')[0]!)}" (see clientcert ${command} --help)`,
    );
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: masked, options: all, allowPositionals: true, strict: true }) as Parsed;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '');
    throw usageError(`${command}: ${shown(message, 120)} (see clientcert ${command} --help)`);
  }
  if (parsed.values.help) return null;
  for (const [key, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') parsed.values[key] = unmask(value);
    else if (Array.isArray(value)) parsed.values[key] = value.map(unmask);
  }
  parsed.positionals = parsed.positionals.map(unmask);
  const [min, max] = positionals;
  if (parsed.positionals.length < min)
    throw usageError(`${command}: missing argument (see clientcert ${command} --help)`);
  if (parsed.positionals.length > max)
    throw usageError(
      `${command}: unexpected argument "${shown(parsed.positionals[max]!)}" (see clientcert ${command} --help)`,
    );
  return parsed;
}

/** Whether `arg` (`--name`, `--name=value`, `-x`) is one of `options`. */
function known(options: Options, arg: string): boolean {
  if (!arg.startsWith('--')) return Object.values(options).some((o) => o.short === arg.slice(1));
  return Object.hasOwn(options, arg.slice(2).split('=')[0]!);
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
    throw usageError(`unknown command "${shown(command)}": use gen, inspect, xfcc or check (clientcert --help)`);

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
          'client-subject': { type: 'string', multiple: true },
          name: { type: 'string' },
          san: { type: 'string', multiple: true },
          days: { type: 'string' },
          'not-before': { type: 'string' },
          'server-name': { type: 'string' },
          intermediate: { type: 'boolean' },
          pfx: { type: 'boolean' },
          passphrase: { type: 'string' },
          force: { type: 'boolean' },
          ca: { type: 'string' },
          'ca-key': { type: 'string' },
        },
        [0, 0],
      );
      if (!p) break;
      const v = p.values;
      const result = await gen({
        out: str(v.out),
        keyType: str(v['key-type']),
        clientSubject: list(v['client-subject']),
        name: str(v.name),
        san: list(v.san),
        days: str(v.days),
        notBefore: str(v['not-before']),
        serverName: str(v['server-name']),
        intermediate: v.intermediate === true,
        pfx: v.pfx === true,
        passphrase: str(v.passphrase),
        force: v.force === true,
        ca: str(v.ca),
        caKey: str(v['ca-key']),
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
          header: { type: 'string' },
          passphrase: { type: 'string' },
          at: { type: 'string' },
          'tls-ca': { type: 'string', multiple: true },
          from: { type: 'string' },
          'add-header': { type: 'string', multiple: true, short: 'H' },
          'no-certificate': { type: 'boolean' },
          json: { type: 'boolean' },
        },
        [0, 1],
      );
      if (!p) break;
      const config = str(p.values.config);
      if (config === undefined) throw usageError('check: --config <file> is required (see clientcert check --help)');
      const result = await check(p.positionals[0], {
        config,
        format: str(p.values.format),
        header: str(p.values.header),
        passphrase: str(p.values.passphrase),
        at: str(p.values.at),
        tlsCa: list(p.values['tls-ca']),
        from: str(p.values.from),
        addHeaders: list(p.values['add-header']),
        noCertificate: p.values['no-certificate'] === true,
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
