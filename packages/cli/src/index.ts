/**
 * @clientcert/cli: the `clientcert` command's logic, for programmatic use. Each command is a
 * function that returns data (and throws `CliError` with the exit code on failure); the binary
 * (`cli.js`) only parses arguments and prints.
 */

export type { CheckInput, CheckOptions, CheckResult, Transport } from './commands/check.js';
export { check, decide, formatCheck, loadConfig, readCheckInput } from './commands/check.js';
export type { GenOptions, GenResult, SanList } from './commands/gen.js';
export { gen, parseSanList } from './commands/gen.js';
export type { CertificateReport, InspectOptions, InspectReport } from './commands/inspect.js';
export { describeCertificate, formatInspect, inspect, inspectLoaded } from './commands/inspect.js';
export type { HeaderLine, OutputFormat, XfccOptions } from './commands/xfcc.js';
export { buildHeaders, nginxEscape, OUTPUT_FORMATS } from './commands/xfcc.js';
export { CliError, EXIT, inputError, shown, usageError } from './errors.js';
export type { HeaderFormat, LoadedCertificates, LoadOptions } from './input.js';
export {
  detectFormat,
  HEADER_FORMATS,
  HEADER_NAMES,
  headerValueOf,
  kindOf,
  loadCertificates,
  readArgument,
} from './input.js';
