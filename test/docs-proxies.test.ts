/**
 * docs/proxies.md is generated from the presets table the code uses (scripts/proxies-doc.ts) and
 * must be what the generator writes today; and every middleware set-up the documentation shows
 * (README files, SECURITY.md, docs/proxies.md), run as written, starts without a warning, trusts
 * no private network it does not name, and lets no forged certificate in: a self-made
 * certificate in the snippet's own header format, with its proxy's "verified" verdict, from a
 * private-range or public peer the snippet does not name is ignored, and
 * from a peer it does name it is refused unless the snippet deliberately trusts its proxy's verdict.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import {
  type ClientCertAuth,
  type ClientCertOptions,
  createClientCertAuth,
  PRESETS,
  parseCertificate,
} from '../packages/core/src/index.js';
import type { CompiledSource } from '../packages/core/src/options/compile.js';
import {
  createCA,
  createSelfSigned,
  envoyXfcc,
  type TestCA,
  type TestCertificate,
} from '../packages/core/src/testkit/index.js';
import { PROXIES_DOC, REGENERATE, renderProxiesDoc } from '../scripts/proxies-doc.js';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('docs/proxies.md', function () {
  this.timeout(60_000);
  let written: string;
  let rendered: string;

  before(async () => {
    written = readFileSync(PROXIES_DOC, 'utf8');
    rendered = await renderProxiesDoc();
  });

  it('is what scripts/proxies-doc.ts renders from the presets table today', () => {
    if (written === rendered) return;
    const a = written.split('\n');
    const b = rendered.split('\n');
    const line = a.findIndex((text, i) => text !== b[i]);
    const at = line < 0 ? Math.min(a.length, b.length) : line;
    expect.fail(
      `docs/proxies.md is out of date with packages/core/src/options/presets.ts (first difference at line ${at + 1}: ` +
        `${JSON.stringify(a[at] ?? '<end of file>')} should be ${JSON.stringify(b[at] ?? '<end of file>')}). Regenerate it: ${REGENERATE}`,
    );
  });

  it('has one section per preset, with what the proxy strips and must be configured to do', () => {
    for (const preset of Object.values(PRESETS)) {
      const start = rendered.indexOf(`\n## ${preset.proxy}\n`);
      expect(start, preset.proxy).to.be.greaterThan(0);
      const next = rendered.indexOf('\n## ', start + 1);
      const text = rendered.slice(start, next < 0 ? undefined : next);
      expect(text, preset.proxy).to.include(preset.strips.replace(/\|/g, '\\|'));
      expect(text, preset.proxy).to.include(preset.setup.replace(/\|/g, '\\|'));
      expect(text, preset.proxy).to.include(preset.connectsFrom);
      expect(text, preset.proxy).to.include('Who can mint an identity');
      expect(text, preset.proxy).to.include(`proxy: '${preset.proxy}'`);
      if (preset.defaultTrustProxyReason) expect(text, preset.proxy).to.include(preset.defaultTrustProxyReason);
    }
  });

  it('is linked from the root README, the core README and SECURITY.md', () => {
    expect(readFileSync(`${root}README.md`, 'utf8')).to.include('](docs/proxies.md');
    expect(readFileSync(`${root}packages/core/README.md`, 'utf8')).to.include('](../../docs/proxies.md');
    expect(readFileSync(`${root}SECURITY.md`, 'utf8')).to.include('](docs/proxies.md');
  });
});

// ---------------------------------------------------------------------------------------------
// The set-ups the documentation shows

/** Every markdown file whose snippets a reader copies. */
function documents(): string[] {
  const files = ['README.md', 'SECURITY.md', 'docs/proxies.md'];
  for (const dir of ['packages', 'examples']) {
    for (const name of readdirSync(`${root}${dir}`)) {
      const readme = `${dir}/${name}/README.md`;
      if (statSync(`${root}${dir}/${name}`).isDirectory() && exists(readme)) files.push(readme);
    }
  }
  return files;
}

function exists(file: string): boolean {
  try {
    return statSync(`${root}${file}`).isFile();
  } catch {
    return false;
  }
}

interface Snippet {
  readonly file: string;
  /** The options object literal, as written. */
  readonly text: string;
}

/** The code a markdown file shows: fenced js/ts blocks and inline code spans. */
function codeOf(markdown: string): string[] {
  const out: string[] = [];
  const fenced = /^```(?:js|javascript|ts|typescript|mjs)\n([\s\S]*?)^```/gm;
  for (const match of markdown.matchAll(fenced)) out.push(match[1]!);
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  for (const match of prose.matchAll(/(`+)([^`][\s\S]*?)\1/g)) out.push(match[2]!);
  return out;
}

/** The options objects passed to the middleware in a piece of code. */
function optionsIn(code: string): string[] {
  const out: string[] = [];
  const call = /(?:\bclientCert\(|\bcreateClientCertAuth\(|\bregister\(clientCert,\s*|\bclientCert:\s*)\{/g;
  for (const match of code.matchAll(call)) {
    const start = match.index! + match[0].length - 1;
    const end = closingBrace(code, start);
    if (end > start) out.push(code.slice(start, end + 1));
  }
  return out;
}

/** The index of the `}` that closes the `{` at `start`, skipping strings and comments (-1: none). */
function closingBrace(code: string, start: number): number {
  let depth = 0;
  for (let i = start; i < code.length; i++) {
    const c = code[i]!;
    if (c === "'" || c === '"' || c === '`') {
      for (i++; i < code.length && code[i] !== c; i++) if (code[i] === '\\') i++;
    } else if (c === '/' && code[i + 1] === '/') {
      while (i < code.length && code[i] !== '\n') i++;
    } else if (c === '{' || c === '[' || c === '(') {
      depth++;
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
      if (depth === 0) return c === '}' ? i : -1;
    }
  }
  return -1;
}

function snippets(): Snippet[] {
  return documents().flatMap((file) =>
    codeOf(readFileSync(`${root}${file}`, 'utf8')).flatMap((code) => optionsIn(code).map((text) => ({ file, text }))),
  );
}

/**
 * Evaluates an options literal as written, with the names a snippet uses bound to test values:
 * every file read and every CA variable is the test CA, a Cloudflare range list is two of its
 * ranges. A name nobody bound fails the test, naming it (bind it here).
 */
function evaluateOptions(text: string, ca: TestCA): ClientCertOptions {
  const pem = ca.cert;
  const bound: Record<string, unknown> = {
    readFileSync: () => pem,
    process: { env: new Proxy({}, { get: () => pem }) },
    mode: 'require',
    cloudflareRanges: ['173.245.48.0/20', '2400:cb00::/32'],
    handler: () => undefined,
    options: {}, // `{ ...options }`: whatever the reader passes, here the defaults
    users: { get: () => ({ id: 'a user' }) }, // a `principal` snippet's user table: everyone has a user
  };
  const scope = new Proxy(bound, {
    has: (_target, name) => typeof name === 'string' && !(name in globalThis && !(name in bound)),
    get: (_target, name) => {
      if (typeof name !== 'string') return undefined;
      if (name in bound) return bound[name];
      if (/(^ca$|Ca$|Bundle$|Pem$|CA$)/.test(name)) return pem;
      throw new Error(`a snippet uses ${name}: bind it in test/docs-proxies.test.ts evaluateOptions`);
    },
  });
  // The documentation's own code, run as written (`with`: the snippet's free names resolve in `scope`).
  const options = new Function('scope', `with (scope) { return (${text}); }`)(scope) as Record<string, unknown>;
  // An adapter's own option (the Hono adapter's `connection`: where the peer's address comes from)
  // is not the core's: the trust it sets up is the rest.
  const { connection: _adapterOnly, ...coreOptions } = options;
  return coreOptions as ClientCertOptions;
}

/**
 * The headers the snippet's proxy would send for `cert`: the certificate in the format `source`
 * reads, the proxy's "verified" verdict, and its description headers (DN, serial, fingerprint) of
 * `described` — the same certificate unless a test says otherwise.
 */
function forgedHeaders(
  source: CompiledSource,
  auth: ClientCertAuth,
  cert: TestCertificate,
  described: TestCertificate = cert,
): Record<string, string> | null {
  if (source === 'tls') return null;
  if (source === 'xfcc' || source === 'auto') {
    const resolved = source === 'auto' ? auth.options.forwarded : source;
    if (resolved !== 'xfcc') return forgedHeaders(resolved, auth, cert, described);
    return { [auth.options.xfccHeader]: envoyXfcc(cert, { details: ['Cert', 'Chain'] }) };
  }
  const b64 = cert.der.toString('base64');
  const values: Partial<Record<string, string>> = {
    'url-pem': encodeURIComponent(cert.cert),
    'base64-der': b64,
    'aws-alb': encodeURIComponent(cert.cert),
    traefik: b64,
    rfc9440: `:${b64}:`,
  };
  const value = values[source.source];
  if (value === undefined) return null;
  const headers: Record<string, string> = { [source.header]: value };
  if (source.verifyHeader) headers[source.verifyHeader.name] = source.verifyHeader.success[0]!;
  const names = source.describedBy;
  if (names) {
    const parsed = parseCertificate(described.cert);
    const values: Record<string, string> = {
      subjectDn: parsed.subject.rfc4514,
      issuerDn: parsed.issuer.rfc4514,
      serial: parsed.serialNumber,
      sha256: parsed.fingerprints.sha256,
      sha1: parsed.fingerprints.sha1,
    };
    for (const [field, value] of Object.entries(values)) {
      const name = (names as unknown as Record<string, string | null>)[field];
      if (name) headers[name] = value;
    }
  }
  return headers;
}

async function decide(
  auth: ClientCertAuth,
  remoteAddress: string,
  headers: Record<string, string>,
): Promise<{ ok: boolean; admitted: boolean; code?: string }> {
  const socket = { remoteAddress, encrypted: false } as unknown as Socket;
  const result = await auth.authenticate({ socket, headers, rawHeaders: Object.entries(headers).flat() });
  return result.ok
    ? { ok: true, admitted: result.certificate !== null }
    : { ok: false, admitted: false, code: result.problem.code };
}

/** Peers on the private networks a forged header comes from, and the internet. */
const STRANGERS = ['fd00::2', '10.99.0.1', '172.20.0.1', '192.168.1.20', '100.64.0.9', '198.51.100.7', '2001:db8::7'];
/** Addresses of the proxies the snippets name (loopback, the examples' subnets and ranges). */
const PROXIES = ['127.0.0.1', '10.244.1.1', '10.0.1.5', '173.245.48.1', '192.0.2.10'];

describe('docs: every set-up the documentation shows', function () {
  this.timeout(60_000);
  const found = snippets();
  let ca: TestCA;
  let client: TestCertificate;
  let other: TestCertificate;
  let forged: TestCertificate;

  before(async () => {
    ca = await createCA({ subject: 'CN=Docs Client CA' });
    client = await ca.issue({ subject: 'CN=alice,O=Acme' });
    other = await ca.issue({ subject: 'CN=mallory,O=Acme' });
    forged = await createSelfSigned({ subject: 'CN=admin' });
  });

  it('finds the snippets (README files, SECURITY.md, docs/proxies.md)', () => {
    expect(found.length).to.be.greaterThan(20);
    expect(found.map((s) => s.file)).to.include.members([
      'README.md',
      'SECURITY.md',
      'docs/proxies.md',
      'packages/express/README.md',
    ]);
  });

  const seen = new Map<string, number>();
  for (const snippet of found) {
    const short = `${snippet.file}: ${snippet.text
      .replace(/\/\/[^\n]*/g, '')
      .replace(/\s+/g, ' ')
      .replace(/, }/g, ' }')
      .slice(0, 140)}`;
    const count = (seen.get(short) ?? 0) + 1;
    seen.set(short, count);
    const name = count > 1 ? `${short} (#${count})` : short;

    it(`${name} — starts without a warning and trusts no unnamed network`, () => {
      const warnings: string[] = [];
      const options = evaluateOptions(snippet.text, ca);
      const auth = createClientCertAuth({
        ...options,
        logger: { info: () => {}, warn: (m: string) => warnings.push(m) },
      });
      const allowed = options.mode === 'accept' ? /\(warning accept_mode;/ : /^$/;
      expect(
        warnings.filter((w) => !allowed.test(w)),
        auth.describe(),
      ).to.deep.equal([]);
      const acaDefault = auth.options.trustProxyIsDefault && auth.options.preset?.defaultTrustProxy;
      if (!acaDefault) {
        const trusted = STRANGERS.filter((address) => auth.options.trustProxy(address, 0));
        expect(
          trusted,
          `trustProxy (${auth.options.trustProxyDescription}) trusts peers it does not name`,
        ).to.deep.equal([]);
      }
    });

    it(`${name} — a forged certificate does not get in`, async () => {
      const options = evaluateOptions(snippet.text, ca);
      const auth = createClientCertAuth({ ...options, logger: false });
      const sources = auth.options.sources;
      const headers = sources.map((s) => forgedHeaders(s, auth, forged)).find((h) => h !== null);
      if (!headers || options.mode === 'ignore') return; // TLS only: the handshake proves the key (tested over real TLS elsewhere)
      for (const stranger of STRANGERS.filter((address) => !auth.options.trustProxy(address, 0))) {
        const result = await decide(auth, stranger, headers);
        expect(result.admitted, `from ${stranger}`).to.equal(false);
        expect(result.ok ? 'anonymous' : result.code, `from ${stranger}`).to.be.oneOf([
          'anonymous',
          'client_certificate_required',
        ]);
      }
      const proxy = PROXIES.find((address) => auth.options.trustProxy(address, 0));
      const trustsVerdict = !auth.options.anchors && !auth.options.pins && auth.options.proxyVerified;
      if (proxy && !trustsVerdict) {
        // From the named proxy, a self-made certificate is refused: the app's `ca` or `pins` decide.
        const result = await decide(auth, proxy, headers);
        expect(result.admitted, `from ${proxy}`).to.equal(false);
        expect(result.code, `from ${proxy}`).to.equal('client_certificate_untrusted');
        // …and a client of the CA gets in, as the snippet promises (where no pins or rules narrow it).
        if (auth.options.anchors && !auth.options.pins && !auth.options.rules) {
          const good = sources.map((s) => forgedHeaders(s, auth, client)).find((h) => h !== null)!;
          expect(await decide(auth, proxy, good), `from ${proxy}`).to.deep.equal({ ok: true, admitted: true });
        }
      }
      if (proxy && sources.some((s) => typeof s === 'object' && s.describedBy)) {
        // Finding 4: Mallory, holding her own valid certificate, pastes Alice's into the certificate
        // header; the proxy describes the certificate she really presented. Refused.
        const pasted = sources.map((s) => forgedHeaders(s, auth, client, other)).find((h) => h !== null)!;
        expect(await decide(auth, proxy, pasted), `from ${proxy}`).to.deep.equal({
          ok: false,
          admitted: false,
          code: 'client_certificate_untrusted',
        });
      }
    });
  }
});
