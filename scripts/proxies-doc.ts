/**
 * Writes docs/proxies.md: one section per `proxy` preset, rendered from the table the code uses
 * (packages/core/src/options/presets.ts PRESETS) and from what the library itself says about each
 * snippet (`describe()`, the start-up line: who can mint an identity; the start-up error for an
 * option a preset refuses). Nothing about a proxy is written here by hand: change the table, then
 * run this again.
 *
 *   node --import tsx scripts/proxies-doc.ts           # writes docs/proxies.md
 *
 * test/docs-proxies.test.ts renders the document again and fails when docs/proxies.md differs.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ClientCertOptions, createClientCertAuth, PRESETS, type ProxyPreset } from '../packages/core/src/index.js';
import { detectPlatform } from '../packages/core/src/options/compile.js';
import { createCA } from '../packages/core/src/testkit/index.js';

export const PROXIES_DOC = fileURLToPath(new URL('../docs/proxies.md', import.meta.url));
export const REGENERATE = 'node --import tsx scripts/proxies-doc.ts';

/** A value shown in a snippet as code (`text`) and evaluated as `value` to ask the library about it. */
class Code {
  constructor(
    readonly text: string,
    readonly value: unknown,
    readonly comment?: string,
  ) {}
}

const CA = (pem: string): Code => new Code("readFileSync('clients-ca.pem')", pem);

const CLOUDFLARE_RANGES = new Code(
  'cloudflareRanges',
  ['173.245.48.0/20', '2400:cb00::/32'],
  "every range Cloudflare publishes (they change: load them, don't copy them)",
);

/**
 * `trustProxy` in the snippets of presets whose proxy is not on the app's host: the addresses
 * the table's `connectsFrom` names, as an example. A preset added without one here gets a
 * placeholder address.
 */
const REMOTE_PEERS: Partial<Record<string, Code>> = {
  'ingress-nginx': new Code(
    "'10.244.0.0/16'",
    '10.244.0.0/16',
    'the pod network: a NetworkPolicy must let only the ingress controller reach the app',
  ),
  'aws-alb': new Code(
    "['10.0.1.0/24', '10.0.2.0/24']",
    ['10.0.1.0/24', '10.0.2.0/24'],
    "the load balancer's subnets, and nothing else in them",
  ),
  'aws-alb-passthrough': new Code(
    "['10.0.1.0/24', '10.0.2.0/24']",
    ['10.0.1.0/24', '10.0.2.0/24'],
    "the load balancer's subnets, and nothing else in them",
  ),
  cloudflare: CLOUDFLARE_RANGES,
  'cloudflare-rfc9440': CLOUDFLARE_RANGES,
};
/** An example address (TEST-NET-1), never a real one: the proxy's own address goes there. */
const PLACEHOLDER_PEER = new Code(
  "'192.0.2.10'",
  '192.0.2.10',
  "the proxy's address as the app sees it (the untrusted_peer_header warning names it)",
);

/** What each header format carries (header-sources.ts, xfcc.ts). */
const ENCODING: Record<string, string> = {
  xfcc: "Envoy's `X-Forwarded-Client-Cert` grammar: `Cert` (URL-encoded PEM of the leaf), `Chain`, `Hash` (must match the leaf), `By`, `Subject`, `URI`, `DNS`",
  'url-pem': 'the leaf as URL-encoded PEM (nginx `$ssl_client_escaped_cert`); no chain',
  'base64-der': "base64 of the leaf's DER",
  traefik: 'base64 DER of each certificate, comma-separated, leaf first',
  rfc9440: 'RFC 9440 byte sequence `:base64(DER):`',
  'aws-alb': 'URL-encoded PEM',
};

const VERIFICATION: Record<ProxyPreset['verification'], string> = {
  always: 'Always: it forwards only certificates it verified against its own trust store.',
  header: 'Per request, as configured, and it says so in the verify header.',
  config: 'Only when configured to, and it says nothing per request: the app cannot tell whether it did.',
  never: 'Never: it forwards whatever the client presented, self-signed certificates included.',
};

/** Fields this script renders by name; any other field of a preset is rendered as it is. */
const RENDERED = new Set([
  'proxy',
  'source',
  'header',
  'chainHeader',
  'infoHeader',
  'verifyHeader',
  'xfccElement',
  'albMode',
  'verification',
  'proxyVerifies',
  'connectsFrom',
  'remote',
  'defaultTrustProxy',
  'defaultTrustProxyReason',
  'strips',
  'setup',
  'describedBy',
]);

/** What each description header of `describedBy` carries (header-sources.ts DescriptionField). */
const DESCRIPTION: Record<string, string> = {
  subjectDn: 'subject DN',
  issuerDn: 'issuer DN',
  serial: 'serial number',
  sha256: 'SHA-256 fingerprint',
  sha1: 'SHA-1 fingerprint',
};

const ELEMENT: Record<string, string> = {
  last: 'the last element (written by the proxy nearest the app)',
  first: 'the first element (written by the edge proxy)',
  only: 'the only element: more than one is refused as malformed',
};

/** A code span, fenced with more backticks than the text holds (error messages quote option names). */
const code = (text: string): string => {
  const fence = '`'.repeat(Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length)) + 1);
  return fence.length > 1 ? `${fence} ${text} ${fence}` : `\`${text}\``;
};
const codes = (list: readonly string[]): string => list.map(code).join(', ');
const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function literal(value: unknown): string {
  if (value instanceof Code) return value.text;
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{ ${Object.entries(value)
      .map(([key, v]) => `${key}: ${literal(v)}`)
      .join(', ')} }`;
  }
  return String(value);
}

function evaluate(value: unknown): unknown {
  if (value instanceof Code) return value.value;
  if (Array.isArray(value)) return value.map(evaluate);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v)]));
  return value;
}

/** `clientCert({ … })`, on one line, or one option per line when an option carries a comment. */
function snippet(options: Record<string, unknown>): string {
  const entries = Object.entries(options);
  if (!entries.some(([, v]) => v instanceof Code && v.comment)) return `clientCert(${literal(options)})`;
  const lines = entries.map(
    ([key, v]) => `  ${key}: ${literal(v)},${v instanceof Code && v.comment ? ` // ${v.comment}` : ''}`,
  );
  return ['clientCert({', ...lines, '})'].join('\n');
}

interface Described {
  readonly line: string;
  readonly whoCanMint: string;
  readonly warnings: readonly string[];
}

/** What the library says at start-up for these options, with each Code value shown as its text. */
function describe(options: Record<string, unknown>): Described {
  const warnings: string[] = [];
  const auth = createClientCertAuth({
    ...(evaluate(options) as ClientCertOptions),
    logger: { info: () => {}, warn: (message: string) => warnings.push(message) },
  });
  let line = auth.describe();
  // Variables (cloudflareRanges) stand for their value in the line, as in the snippet.
  for (const value of Object.values(options)) {
    if (value instanceof Code && /^[A-Za-z_$][\w$]*$/.test(value.text) && Array.isArray(value.value))
      line = line.split(value.value.join(', ')).join(value.text);
  }
  const marker = 'who can mint an identity: ';
  const at = line.indexOf(marker);
  return { line, whoCanMint: at < 0 ? '(not stated)' : line.slice(at + marker.length), warnings };
}

/** The start-up error (invalid_option) these options get, or null when they are accepted. */
function refusal(options: Record<string, unknown>): string | null {
  try {
    createClientCertAuth({ ...(evaluate(options) as ClientCertOptions), logger: false });
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function trustProxyFor(preset: ProxyPreset): Code | undefined {
  if (!preset.remote || preset.defaultTrustProxy) return undefined;
  return REMOTE_PEERS[preset.proxy] ?? PLACEHOLDER_PEER;
}

function headersRow(preset: ProxyPreset): string {
  const parts = [`${code(preset.header)}: ${ENCODING[preset.source] ?? preset.source} (source ${code(preset.source)})`];
  if (preset.chainHeader) parts.push(`${code(preset.chainHeader)}: the rest of the presented chain`);
  if (preset.infoHeader)
    parts.push(`${code(preset.infoHeader)}: the proxy's description of the certificate (not used for trust)`);
  if (preset.verifyHeader) {
    const v = preset.verifyHeader;
    parts.push(
      `${code(v.name)}: the proxy's verdict — ${codes(v.success)} verified` +
        `${v.none ? `, ${codes(v.none)} no certificate presented (a certificate header sent with it is refused: the proxy did not write it)` : ''}, ` +
        'anything else failed',
    );
  }
  if (preset.xfccElement) parts.push(`element read: ${ELEMENT[preset.xfccElement] ?? preset.xfccElement}`);
  if (preset.albMode) parts.push(`listener mode ${code(preset.albMode)}`);
  return parts.join('; ');
}

/**
 * The proxy's own description of the certificate (`describedBy`: DN, serial, fingerprint headers),
 * compared with the forwarded certificate; null when the preset has none.
 */
function describedRow(preset: ProxyPreset): string | null {
  const described = (preset as unknown as Record<string, unknown>).describedBy;
  if (typeof described !== 'object' || described === null) return null;
  const entries = Object.entries(described as Record<string, unknown>);
  const headers = entries
    .filter(([key, v]) => key !== 'required' && typeof v === 'string')
    .map(([key, v]) => `${code(v as string)} (${DESCRIPTION[key] ?? key})`);
  const required = (described as { required?: unknown }).required === true;
  return (
    `${headers.join(', ')}: ${required ? 'compared' : 'when the proxy sends them, compared'} with the forwarded ` +
    'certificate, and a certificate that disagrees is refused (403 `client_certificate_untrusted`)' +
    (required
      ? '. Required with a certificate header: a certificate header without them did not come from the proxy and is refused.'
      : '.')
  );
}

function verifiesRow(preset: ProxyPreset): string {
  const base = VERIFICATION[preset.verification];
  switch (preset.verification) {
    case 'always':
      return (
        `${base} Its verification counts by default (\`proxyVerified\` defaults to true): without \`ca\` a forwarded ` +
        "certificate is admitted as `verifiedBy: 'proxy'`. With `ca` (recommended) the app verifies the chain itself."
      );
    case 'header':
      return (
        `${base} Its verdict counts by default (\`proxyVerified\` defaults to true), and only for a request whose ` +
        `${code(preset.verifyHeader!.name)} says ${codes(preset.verifyHeader!.success)}: a missing header or any other value is ` +
        '403 `client_certificate_untrusted`. With `ca` (recommended) the app verifies the chain itself and that decides.'
      );
    case 'config':
      return (
        `${base} Its verification counts only when you declare it with \`proxyVerified: true\`, and that is safe only ` +
        'when the proxy really verifies against your CA (see "Configure on the proxy"); otherwise set `ca` or `pins`.'
      );
    case 'never':
      return `${base} Set \`ca\` (or \`pins\`): \`proxyVerified: true\` is refused at start-up.`;
  }
}

function trustProxyRow(preset: ProxyPreset, peers: Code | undefined): string {
  if (preset.defaultTrustProxy) {
    return `Default for this preset: ${codes(preset.defaultTrustProxy)}. Why: ${preset.defaultTrustProxyReason ?? '(no reason given)'}`;
  }
  if (peers) {
    return (
      'Required: the default (`loopback`) never matches this proxy, so without `trustProxy` its headers are ignored ' +
      '(every request answers `client_certificate_required`) and the start-up warns `trust_proxy_default`. ' +
      'Name only the addresses it connects from: every peer listed can present any certificate it has seen.'
    );
  }
  return (
    "Default `loopback`: right when the proxy runs on the app's host. On another host, set `trustProxy` to its address, " +
    'and only that.'
  );
}

function otherRows(preset: ProxyPreset): string[] {
  return Object.entries(preset)
    .filter(([key]) => !RENDERED.has(key))
    .map(([key, value]) => {
      const shown =
        typeof value === 'string'
          ? value
          : Array.isArray(value) && value.every((v) => typeof v === 'string')
            ? codes(value as string[])
            : code(JSON.stringify(value));
      return `| ${code(key)} | ${cell(shown)} |`;
    });
}

function section(preset: ProxyPreset, pem: string): string {
  const peers = trustProxyFor(preset);
  const recommended: Record<string, unknown> = {
    proxy: preset.proxy,
    ...(peers ? { trustProxy: peers } : {}),
    ca: CA(pem),
  };
  const main = describe(recommended);
  const out: string[] = [
    `## ${preset.proxy}`,
    '',
    `\`proxy: '${preset.proxy}'\``,
    '',
    '| | |',
    '| --- | --- |',
    `| Headers read | ${cell(headersRow(preset))} |`,
    `| Does the proxy verify? | ${cell(verifiesRow(preset))} |`,
    `| Client-sent copies | ${cell(preset.strips)} |`,
    ...(describedRow(preset) ? [`| Description headers | ${cell(describedRow(preset)!)} |`] : []),
    `| Configure on the proxy | ${cell(preset.setup)} |`,
    `| Connects from | ${cell(preset.connectsFrom)} |`,
    `| \`trustProxy\` | ${cell(trustProxyRow(preset, peers))} |`,
  ];
  const env = { CONTAINER_APP_NAME: 'app', CONTAINER_APP_ENV_DNS_SUFFIX: 'example.internal' };
  if (detectPlatform(env)?.proxy === preset.proxy) {
    out.push(
      '| Detected | Without `proxy`, also chosen when `CONTAINER_APP_NAME` and `CONTAINER_APP_ENV_DNS_SUFFIX` are both set (the start-up line says "detected from the environment"). |',
    );
  }
  out.push(...otherRows(preset));
  out.push(`| Who can mint an identity | ${cell(main.whoCanMint)} |`);
  out.push('', 'Minimal options:', '', '```js', snippet(recommended), '```', '', `Start-up line: ${code(main.line)}`);
  if (main.warnings.length > 0) out.push('', `Start-up warnings: ${main.warnings.map(code).join('; ')}`);

  const withoutCa: Record<string, unknown> = { proxy: preset.proxy, ...(peers ? { trustProxy: peers } : {}) };
  if (preset.verification === 'always' || preset.verification === 'header') {
    const alone = describe(withoutCa);
    out.push(
      '',
      `Without \`ca\`, the proxy's ${preset.verification === 'header' ? 'per-request verdict' : 'verification'} is the trust:`,
      '',
      '```js',
      snippet(withoutCa),
      '```',
      '',
      `Who can mint an identity then: ${alone.whoCanMint}.`,
    );
  } else if (preset.verification === 'config') {
    const declared = { ...withoutCa, proxyVerified: true };
    const alone = describe(declared);
    out.push(
      '',
      'Only if the proxy verifies clients against your CA, its verification can stand in for `ca`:',
      '',
      '```js',
      snippet(declared),
      '```',
      '',
      `Who can mint an identity then: ${alone.whoCanMint}.`,
    );
  } else {
    const refused = refusal({ ...withoutCa, proxyVerified: true });
    if (refused) out.push('', `\`proxyVerified: true\` is refused at start-up: ${code(refused)}`);
  }
  return out.join('\n');
}

function summary(): string {
  const rows = Object.values(PRESETS).map((preset) => {
    const peers = trustProxyFor(preset);
    const trustProxy = preset.defaultTrustProxy
      ? `default ${codes(preset.defaultTrustProxy)}`
      : peers
        ? "required: the proxy's addresses"
        : 'default `loopback` (a proxy on this host)';
    const verdict = preset.verifyHeader ? ` (${code(preset.verifyHeader.name)})` : '';
    return `| [\`${preset.proxy}\`](#${preset.proxy}) | ${code(preset.header)} | ${preset.verification}${verdict} | ${trustProxy} |`;
  });
  return [
    '| `proxy` | certificate header | proxy verifies | `trustProxy` |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The whole of docs/proxies.md. */
export async function renderProxiesDoc(): Promise<string> {
  // A trust anchor for the snippets' `ca`. The start-up line names it with its expiry: fixed dates,
  // so that the document does not change with the day it is generated on.
  const validity = { notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2045-01-01T00:00:00Z') };
  const pem = (await createCA({ subject: 'CN=Example Client CA', ...validity })).cert;
  const header = [
    '<!-- Generated by scripts/proxies-doc.ts from packages/core/src/options/presets.ts: do not edit by hand. -->',
    `<!-- Regenerate with: ${REGENERATE} -->`,
    '',
    '# Proxies: what each `proxy` preset reads, trusts and needs',
    '',
    'Name the proxy in front of the app with `proxy`, and the header, its encoding, the XFCC element, whether the',
    "proxy's own verification counts, and the default `trustProxy` follow from the table below — the same table the",
    'code uses. Each section says what the proxy must be configured to do, where it connects from, and who can mint',
    "an identity with the minimal options, in the words of the library's own start-up line (`auth.describe()`).",
    "In the snippets `readFileSync('clients-ca.pem')` is the CA that issues your clients' certificates, and a variable",
    '(such as `cloudflareRanges`) stands for its value, in the snippet and in the start-up line.',
    '',
    'Rules that hold for every proxy (see [SECURITY.md](../SECURITY.md)):',
    '',
    '- Headers are read only from an immediate peer in `trustProxy` (its socket address); from any other peer they',
    "  are ignored and the start-up's `untrusted_peer_header` warning names the peer. A forwarded certificate proves",
    '  no key possession — certificates are public — so every peer in `trustProxy` can present any certificate it',
    '  has seen: list only your proxies.',
    "- With `proxy` named, the default `source` (`auto`) reads that proxy's header only. The certificate of a TLS",
    '  connection from the proxy (re-encryption with `proxy_ssl_certificate`, Cloudflare Authenticated Origin Pulls,',
    "  ALB HTTPS targets) is the proxy's own and is never read as a client's.",
    '- With `ca`, the app verifies the forwarded chain itself; that is the recommended set-up behind every proxy.',
    '- The proxy must overwrite or remove a header of the same name that a client sends (row "Client-sent copies"):',
    '  the library cannot tell a header the proxy wrote from one it passed through.',
    '',
    summary(),
  ];
  return [...header, ...Object.values(PRESETS).map((preset) => `\n${section(preset, pem)}`), ''].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(PROXIES_DOC, await renderProxiesDoc());
  console.log(`wrote ${PROXIES_DOC}`);
}
