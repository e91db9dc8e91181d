/**
 * The CLI's failures, each with its exit code. Commands throw these; `cli.ts` prints the message
 * as one line on stderr and exits with the code. Anything else thrown is reported the same way
 * (its message only, never a stack).
 */
export const EXIT = Object.freeze({ ok: 0, failed: 1, usage: 2, input: 3 });

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** Bad arguments or options (exit 2). */
export const usageError = (message: string): CliError => new CliError(EXIT.usage, message);
/** An input that cannot be read or is not what it should be (exit 3). */
export const inputError = (message: string): CliError => new CliError(EXIT.input, message);

/** One line, printable: control characters (from certificates or headers) shown escaped. */
export function oneLine(text: string): string {
  return text.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this regex's job
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * Text from the command line or an input, fit for an error message: one line, and cut to `max`
 * characters (a pasted certificate given where an option was expected is not echoed whole).
 */
export function shown(text: string, max = 48): string {
  const line = oneLine(text);
  return line.length > max ? `${line.slice(0, max)}… (${text.length} characters)` : line;
}
