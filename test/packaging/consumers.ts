/**
 * The throwaway consumer projects of test/packaging-consumers.test.ts, written as text: an app that
 * uses all three adapters the way the READMEs show, in each module system. Each one starts an
 * express, a koa and a fastify app on 127.0.0.1 (port 0), asks `GET /whoami` once with an
 * Envoy-style XFCC header carrying a test-kit certificate and once without, and prints one JSON
 * line: `{ express: [200, subject, 403, code], koa: [...], fastify: [...], versions: {...} }`.
 *
 * The consumers of the install root that has every package (`integrations`) also use
 * @clientcert/fetch, hono, aws-lambda, passport and nestjs, each as its README shows, and add
 * `fetch`, `hono`, `aws-lambda`, `passport` and `nestjs` to that line in the same form: their source
 * text is in test/packaging/integrations.ts.
 *
 * The TypeScript flavours also prove at compile time that `clientCert` is typed on each
 * framework's request with nothing but the import, that wrong options are type errors, and that
 * identity names can be narrowed by augmenting `ClientCertIdentities`; with the integrations, that
 * Nest's decorators compile (`experimentalDecorators`, `emitDecoratorMetadata`) and the five
 * packages' types hold.
 */

import {
  INTEGRATION_DEFAULT_IMPORTS,
  INTEGRATION_NAMED_IMPORTS,
  INTEGRATION_SIDE_EFFECT_IMPORTS,
  INTEGRATION_TYPE_IMPORTS,
  INTEGRATION_VERSIONS,
  integrationDeclarations,
  integrationRuns,
  integrationTypeChecks,
} from './integrations.js';

export type ModuleSystem = 'commonjs' | 'module';

/**
 * The environment of a child npm (or pnpm) in a throwaway project: without the variables of the
 * pnpm/npm script running the tests, which would make it act for the workspace.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (/^npm_(lifecycle_|package_|execpath|node_execpath|command|config_user_agent)/i.test(key)) delete env[key];
  }
  return env;
}

export interface Consumer {
  /** Directory name under the install root. */
  name: string;
  type: ModuleSystem;
  /** TypeScript `module` / `moduleResolution`, or undefined for plain JavaScript. */
  ts?: { module: string; moduleResolution: string };
  /** The module a TypeScript consumer augments with its identity names. */
  augment?: string;
  /** Also load @clientcert/agent and @clientcert/cli (installed in the latest root only). */
  tools?: boolean;
  /** Also use fetch, hono, aws-lambda, passport and nestjs (installed in the latest root only). */
  integrations?: boolean;
}

export interface ConsumerFile {
  path: string;
  text: string;
}

/** The framework majors of one install root and the matching @types packages. */
export interface InstallRoot {
  name: string;
  frameworks: Record<string, string>;
  consumers: Consumer[];
  tools: boolean;
}

export const IDENTITY_NAMES = ['admin', 'reader'] as const;

function imports(c: Consumer): string {
  const sideEffects = c.integrations ? INTEGRATION_SIDE_EFFECT_IMPORTS : [];
  const names: Array<[string, string]> = [
    ['http', 'node:http'],
    ['fs', 'node:fs'],
    ['path', 'node:path'],
    ['express', 'express'],
    ['Koa', 'koa'],
    ['Fastify', 'fastify'],
    ['testkit', '@clientcert/core/testkit'],
    ...(c.integrations ? INTEGRATION_DEFAULT_IMPORTS : []),
  ];
  const named: Array<[string, string]> = [
    ['clientCert: expressClientCert', '@clientcert/express'],
    ['clientCert: koaClientCert', '@clientcert/koa'],
    ['clientCert: fastifyClientCert', '@clientcert/fastify'],
  ];
  if (c.tools)
    named.push(['createDispatcher, loadClientCredential', '@clientcert/agent'], ['buildHeaders', '@clientcert/cli']);
  if (c.integrations) named.push(...INTEGRATION_NAMED_IMPORTS);
  if (!c.ts && c.type === 'commonjs') {
    return [
      ...sideEffects.map((m) => `require('${m}');`),
      ...names.map(([n, m]) => `const ${n} = require('${m}');`),
      ...named.map(([n, m]) => `const { ${n} } = require('${m}');`),
    ].join('\n');
  }
  const star = new Set(['http', 'fs', 'path', 'testkit']);
  const lines = [
    ...sideEffects.map((m) => `import '${m}';`),
    ...names.map(([n, m]) => (star.has(n) ? `import * as ${n} from '${m}';` : `import ${n} from '${m}';`)),
    ...named.map(([n, m]) => `import { ${n.replace(/: /g, ' as ')} } from '${m}';`),
  ];
  if (c.ts) {
    lines.push(
      `import type { AddressInfo } from 'node:net';`,
      `import type { ClientCertificate, ClientCertOptions } from '@clientcert/express';`,
      ...(c.integrations ? INTEGRATION_TYPE_IMPORTS : []),
    );
  }
  return lines.join('\n');
}

/** Compile-time checks of the TypeScript consumers (never executed beyond declaring functions). */
function typeChecks(c: Consumer): string {
  return `
declare module '${c.augment ?? '@clientcert/core'}' {
  interface ClientCertIdentities { ${IDENTITY_NAMES.map((n) => `${n}: true;`).join(' ')} }
}

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function typed<T extends true>(): void {}

export function typeChecks(): void {
  express().get('/', (req, res) => {
    typed<Equals<typeof req.clientCert, ClientCertificate | null | undefined>>();
    res.send(req.clientCert?.subject.rfc4514);
  });
  new Koa().use((ctx) => {
    typed<Equals<typeof ctx.clientCert, ClientCertificate | null | undefined>>();
    typed<Equals<typeof ctx.state.clientCert, ClientCertificate | null | undefined>>();
  });
  Fastify().get('/', { config: { clientCert: { mode: 'accept' } } }, async (request) => {
    typed<Equals<typeof request.clientCert, ClientCertificate | null>>();
    return request.clientCert?.fingerprints.sha256;
  });
  typed<Equals<NonNullable<ClientCertificate['authorization']>['identity'], ${IDENTITY_NAMES.map((n) => `'${n}'`).join(' | ')} | null>>();
  const options: ClientCertOptions = { mode: 'accept', rules: { identities: [{ name: 'admin', commonName: 'alice' }] } };
  expressClientCert(options);
  // @ts-expect-error mode is require | accept | ignore
  expressClientCert({ mode: 'sometimes' });
  // @ts-expect-error unknown options are type errors
  koaClientCert({ colour: 'blue' });
  // @ts-expect-error source names are checked
  void Fastify().register(fastifyClientCert, { source: 'carrier-pigeon' });
  // @ts-expect-error identity names are the augmented ones
  expressClientCert({ rules: { identities: [{ name: 'root', commonName: 'alice' }] } });
}
`;
}

function body(c: Consumer): string {
  const t = (text: string): string => (c.ts ? text : '');
  const tools = c.tools
    ? `
  results.tools = [typeof createDispatcher, typeof loadClientCredential, typeof buildHeaders];`
    : '';
  const frameworks = ['express', 'koa', 'fastify', ...(c.integrations ? INTEGRATION_VERSIONS : [])];
  return `${c.integrations ? integrationDeclarations(c) : ''}
async function listen(server${t(': http.Server')})${t(': Promise<string>')} {
  await new Promise${t('<void>')}((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return 'http://127.0.0.1:' + (server.address()${t(' as AddressInfo')}).port;
}

function version(name${t(': string')})${t(': string')} {
  return JSON.parse(fs.readFileSync(path.join(process.cwd(), '..', 'node_modules', name, 'package.json'), 'utf8')).version;
}

const frameworks = ${JSON.stringify(frameworks)};

async function main()${t(': Promise<void>')} {
  const ca = await testkit.createCA();
  const alice = await ca.issue({ subject: 'CN=alice,O=Acme' });
  const xfcc = testkit.envoyXfcc(alice);
  const options = { ca: ca.cert, trustProxy: '127.0.0.1', logger: false${t(' as const')} };
  const answers = async (good${t(': Response')}, bad${t(': Response')}) =>
    [good.status, (await good.json()${t(' as { subject: string }')}).subject, bad.status, (await bad.json()${t(' as { code: string }')}).code];
  const probe = async (url${t(': string')}) =>
    answers(await fetch(url + '/whoami', { headers: { 'x-forwarded-client-cert': xfcc } }), await fetch(url + '/whoami'));
  const results${t(': Record<string, unknown>')} = {};

  {
    const app = express();
    app.use(expressClientCert(options));
    app.get('/whoami', (req, res) => {
      res.json({ subject: req.clientCert ? req.clientCert.subject.rfc4514 : null });
    });
    const server = http.createServer(app);
    results.express = await probe(await listen(server));
    server.closeAllConnections();
    server.close();
  }
  {
    const app = new Koa();
    app.use(koaClientCert(options));
    app.use((ctx) => {
      ctx.body = { subject: ctx.clientCert ? ctx.clientCert.subject.rfc4514 : null };
    });
    const server = http.createServer(app.callback());
    results.koa = await probe(await listen(server));
    server.closeAllConnections();
    server.close();
  }
  {
    const app = Fastify({ forceCloseConnections: true });
    await app.register(fastifyClientCert, options);
    app.get('/whoami', async (request) => ({ subject: request.clientCert ? request.clientCert.subject.rfc4514 : null }));
    results.fastify = await probe(await app.listen({ port: 0, host: '127.0.0.1' }));
    await app.close();
  }${c.integrations ? integrationRuns(c) : ''}
  results.versions = Object.fromEntries(frameworks.map((name) => [name, version(name)]));${tools}
  console.log(JSON.stringify(results));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;
}

/** The files of one consumer, relative to its directory. */
export function consumerFiles(c: Consumer): ConsumerFile[] {
  const files: ConsumerFile[] = [
    {
      path: 'package.json',
      text: JSON.stringify({ name: `consumer-${c.name}`, private: true, type: c.type }, null, 2),
    },
  ];
  const checks = c.ts ? `${typeChecks(c)}${c.integrations ? integrationTypeChecks() : ''}` : '';
  const source = `${imports(c)}\n${checks}${body(c)}`;
  if (!c.ts) {
    files.push({ path: 'index.js', text: source });
    return files;
  }
  files.push({ path: 'src/index.ts', text: source });
  files.push({
    path: 'tsconfig.json',
    text: JSON.stringify(
      {
        // What a new project gets: strict, no skipLibCheck (our declarations must compile too).
        compilerOptions: {
          target: 'ES2022',
          module: c.ts.module,
          moduleResolution: c.ts.moduleResolution,
          strict: true,
          esModuleInterop: true,
          skipLibCheck: false,
          rootDir: 'src',
          outDir: 'out',
          types: ['node'],
          // Nest's decorators are TypeScript's legacy ones, and a Nest app's tsconfig has both.
          ...(c.integrations ? { experimentalDecorators: true, emitDecoratorMetadata: true } : {}),
        },
        include: ['src'],
      },
      null,
      2,
    ),
  });
  return files;
}

/** The entry point to run after the build. */
export function entryOf(c: Consumer): string {
  return c.ts ? 'out/index.js' : 'index.js';
}
