/**
 * Compiling a header source once, at start-up: every option checked through validate.ts (an
 * `invalid_option` naming the option under `optionName`, e.g. `source.header`), header names
 * lower-cased as Node delivers them, and one header never used for two purposes.
 */
import {
  booleanOption,
  functionOption,
  headerNameOption,
  integerOption,
  invalidOption,
  knownKeys,
  objectOption,
  oneOf,
  stringList,
} from '../../validate.js';
import { AWS_ALB_LEAF_HEADER } from './aws-alb.js';
import {
  type CompiledDescriptionHeaders,
  type CompiledHeaderSource,
  type CompiledVerifyHeader,
  type CustomHeaderDecoder,
  DEFAULT_HEADER_SOURCE_LIMITS,
  DESCRIPTION_FIELDS,
  HEADER_SOURCE_NAMES,
  type HeaderSourceLimits,
  type HeaderSourceName,
  type HeaderSourceOptions,
} from './types.js';

const DEFAULT_HEADERS: Readonly<Record<HeaderSourceName, string>> = {
  rfc9440: 'client-cert',
  traefik: 'x-forwarded-tls-client-cert',
  'url-pem': 'ssl-client-cert',
  'base64-der': 'x-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert',
};
const DEFAULT_RFC9440_CHAIN_HEADER = 'client-cert-chain';
const DEFAULT_TRAEFIK_INFO_HEADER = 'x-forwarded-tls-client-cert-info';

const COMMON_KEYS = ['source', 'header', 'verifyHeader', 'describedBy', 'limits'];
const KEYS: Readonly<Record<HeaderSourceName | 'custom', readonly string[]>> = {
  rfc9440: [...COMMON_KEYS, 'chainHeader'],
  traefik: [...COMMON_KEYS, 'infoHeader'],
  'url-pem': COMMON_KEYS,
  'base64-der': [...COMMON_KEYS, 'chainHeader'],
  'aws-alb': [...COMMON_KEYS, 'mode'],
  custom: [...COMMON_KEYS, 'decode'],
};

/** A header name, `false` for none, or the default when not given. */
function optionalHeader(value: unknown, option: string, fallback: string | null): string | null {
  if (value === undefined) return fallback;
  if (value === false) return null;
  return headerNameOption(value, option);
}

function compileVerifyHeader(value: unknown, option: string): CompiledVerifyHeader | null {
  if (value === undefined) return null;
  if (typeof value === 'string') {
    return Object.freeze({
      name: headerNameOption(value, option),
      success: Object.freeze(['SUCCESS']),
      none: Object.freeze(['NONE']),
    });
  }
  const input = objectOption(value, option, "a header name or { name, success: ['SUCCESS'], none?: ['NONE'] }");
  knownKeys(input, ['name', 'success', 'none'], option);
  const success = Object.freeze(stringList(input.success, `${option}.success`));
  const none = Object.freeze(
    input.none === undefined ? [] : stringList(input.none, `${option}.none`, { allowEmptyList: true }),
  );
  if (none.some((v) => success.includes(v))) throw invalidOption(option, 'has a value in both success and none');
  return Object.freeze({ name: headerNameOption(input.name, `${option}.name`), success, none });
}

function compileDescribedBy(value: unknown, option: string): CompiledDescriptionHeaders | null {
  if (value === undefined || value === false) return null;
  const input = objectOption(value, option, "false or { subjectDn: 'ssl-client-subject-dn', … } with header names");
  knownKeys(input, [...DESCRIPTION_FIELDS, 'required'], option);
  const names = Object.fromEntries(
    DESCRIPTION_FIELDS.map((field) => [
      field,
      input[field] === undefined ? null : headerNameOption(input[field], `${option}.${field}`),
    ]),
  ) as { [K in (typeof DESCRIPTION_FIELDS)[number]]: string | null };
  if (DESCRIPTION_FIELDS.every((field) => names[field] === null)) {
    throw invalidOption(option, `must name at least one header (${DESCRIPTION_FIELDS.join(', ')}); use false for none`);
  }
  const required = input.required === undefined ? false : booleanOption(input.required, `${option}.required`);
  return Object.freeze({ ...names, required });
}

/** `limits`, each missing one at its default. */
export function compileLimits(value: unknown, option: string): Readonly<Required<HeaderSourceLimits>> {
  if (value === undefined) return DEFAULT_HEADER_SOURCE_LIMITS;
  const input = objectOption(value, option, '{ maxLength: 65536, maxChainLength: 10 }');
  knownKeys(input, ['maxLength', 'maxChainLength'], option);
  return Object.freeze({
    maxLength:
      input.maxLength === undefined
        ? DEFAULT_HEADER_SOURCE_LIMITS.maxLength
        : integerOption(input.maxLength, `${option}.maxLength`, { min: 1 }),
    maxChainLength:
      input.maxChainLength === undefined
        ? DEFAULT_HEADER_SOURCE_LIMITS.maxChainLength
        : integerOption(input.maxChainLength, `${option}.maxChainLength`, { min: 0 }),
  });
}

/** Which format: `source`, or `custom` when only `decode` is given. */
function sourceKind(raw: Record<string, unknown>, optionName: string): HeaderSourceName | 'custom' {
  const hasDecode = raw.decode !== undefined;
  const kind = oneOf(
    raw.source === undefined && hasDecode ? 'custom' : raw.source,
    [...HEADER_SOURCE_NAMES, 'custom'],
    `${optionName}.source`,
  );
  if (hasDecode && kind !== 'custom') {
    throw invalidOption(
      `${optionName}.decode`,
      `cannot be combined with source "${kind}": a custom decoder is its own source`,
    );
  }
  return kind;
}

interface Headers {
  header: string;
  chainHeader: string | null;
  infoHeader: string | null;
  mode: 'passthrough' | 'verify' | null;
  decode: CustomHeaderDecoder | null;
}

/** The headers a format reads, its aws-alb mode and its custom decoder. */
function compileFormat(kind: HeaderSourceName | 'custom', raw: Record<string, unknown>, optionName: string): Headers {
  const at = (key: string): string => `${optionName}.${key}`;
  const header = (fallback: string): string =>
    raw.header === undefined ? fallback : headerNameOption(raw.header, at('header'));
  const none = { chainHeader: null, infoHeader: null, mode: null, decode: null };
  switch (kind) {
    case 'custom': {
      const decode = functionOption<CustomHeaderDecoder>(
        raw.decode,
        at('decode'),
        '(value: string) => Buffer | Buffer[]',
      );
      if (raw.header === undefined) throw invalidOption(at('header'), 'is required with a custom decoder');
      return { ...none, header: headerNameOption(raw.header, at('header')), decode };
    }
    case 'aws-alb': {
      const mode = oneOf(raw.mode ?? 'passthrough', ['passthrough', 'verify'], at('mode'));
      return { ...none, header: header(mode === 'verify' ? AWS_ALB_LEAF_HEADER : DEFAULT_HEADERS['aws-alb']), mode };
    }
    case 'rfc9440':
      return {
        ...none,
        header: header(DEFAULT_HEADERS.rfc9440),
        chainHeader: optionalHeader(raw.chainHeader, at('chainHeader'), DEFAULT_RFC9440_CHAIN_HEADER),
      };
    case 'base64-der':
      return {
        ...none,
        header: header(DEFAULT_HEADERS['base64-der']),
        chainHeader: optionalHeader(raw.chainHeader, at('chainHeader'), null),
      };
    case 'traefik':
      return {
        ...none,
        header: header(DEFAULT_HEADERS.traefik),
        infoHeader: optionalHeader(raw.infoHeader, at('infoHeader'), DEFAULT_TRAEFIK_INFO_HEADER),
      };
    case 'url-pem':
      return { ...none, header: header(DEFAULT_HEADERS['url-pem']) };
  }
}

/**
 * Validates a header source once, at construction. Failures are `invalidOption` errors naming the
 * option under `optionName` (e.g. `source.header`), so misconfiguration fails at start-up.
 */
export function compileHeaderSource(input: HeaderSourceOptions, optionName = 'source'): CompiledHeaderSource {
  const raw = objectOption(input, optionName);
  const kind = sourceKind(raw, optionName);
  knownKeys(raw, KEYS[kind], optionName);
  const limits = compileLimits(raw.limits, `${optionName}.limits`);
  const { header, chainHeader, infoHeader, mode, decode } = compileFormat(kind, raw, optionName);
  const verifyHeader = compileVerifyHeader(raw.verifyHeader, `${optionName}.verifyHeader`);
  if (verifyHeader && mode === 'verify') {
    throw invalidOption(
      `${optionName}.verifyHeader`,
      'does not apply to aws-alb verify mode: the ALB only forwards certificates it verified',
    );
  }
  const describedBy = compileDescribedBy(raw.describedBy, `${optionName}.describedBy`);
  const descriptionHeaders = describedBy === null ? [] : DESCRIPTION_FIELDS.map((field) => describedBy[field]);
  const headers = [header, chainHeader, infoHeader, verifyHeader?.name, ...descriptionHeaders].filter(
    (h): h is string => typeof h === 'string',
  );
  if (new Set(headers).size !== headers.length) {
    throw invalidOption(optionName, 'uses one header name for two purposes');
  }
  const described = kind === 'aws-alb' ? `aws-alb ${mode}` : kind;
  return Object.freeze({
    source: kind,
    header,
    chainHeader,
    infoHeader,
    verifyHeader,
    mode,
    hasVerdict: verifyHeader !== null || mode === 'verify',
    describedBy,
    headers: Object.freeze(headers),
    limits,
    description: `${described} (${headers.join(', ')})`,
    decode,
  });
}
