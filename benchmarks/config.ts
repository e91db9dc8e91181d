/** What is measured: frameworks, their server variants, the configurations, and the targets. */
export type Framework = 'express' | 'koa' | 'fastify';
/**
 * One endpoint of a framework's server process (its own port). The `-cn` and `-h2` middleware
 * variants run with the default options and answer the caller's CN, as a route that uses the
 * identity does; the others answer "ok".
 */
export type Variant =
  | 'bare-http'
  | 'bare-https'
  | 'noop-https'
  | 'xfcc'
  | 'tls'
  | 'cca'
  | 'passport'
  | 'xfcc-cn'
  | 'tls-cn'
  | 'bare-h2'
  | 'tls-h2';
/**
 * How the load generator drives an endpoint:
 * - keep-alive: 10 keep-alive connections, the same request on each;
 * - new-connection: a new connection (full TLS handshake, no session resumption) per request;
 * - distinct-certs: keep-alive, the XFCC header of another certificate (same CN) on every request,
 *   more certificates than the old 1000-entry caches held;
 * - xfcc-fleet: keep-alive, the XFCC headers of `clients` distinct clients in one global
 *   rotation across the connections (a proxy's pool: the value changes on the same connection);
 * - tls-fleet: a new connection per request, presenting the certificates of `clients` distinct
 *   clients in rotation;
 * - h2 / h2-anonymous: HTTP/2 sessions over TLS, presenting the client certificate, or none.
 */
export type Load =
  | 'keep-alive'
  | 'new-connection'
  | 'distinct-certs'
  | 'xfcc-fleet'
  | 'tls-fleet'
  | 'h2'
  | 'h2-anonymous';
/** Groups of rows, chosen with `--suite`: the original table, the fleet rows, HTTP/2. */
export type Suite = 'core' | 'fleet' | 'h2';
export const SUITES: Suite[] = ['core', 'fleet', 'h2'];

export interface Config {
  framework: Framework;
  /** Unique within the framework; also the table's label after the framework's name. */
  name: string;
  variant: Variant;
  load: Load;
  /** For the fleet loads: how many distinct clients are in the rotation. */
  clients?: number;
  suite: Suite;
  /** The configuration of the same framework this one is divided by (itself for the bare ones). */
  baseline: string;
  /** Minimum ratio to the baseline the issue asks for; 'peer' = must be slower than clientcert tls. */
  target: number | 'peer' | null;
}

export const FRAMEWORKS: Framework[] = ['express', 'koa', 'fastify'];

export const VARIANTS: Record<Framework, Variant[]> = {
  express: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls', 'cca', 'passport', 'xfcc-cn', 'tls-cn'],
  // express does not run on node:http2 (see its adapter), so HTTP/2 is measured on koa and fastify.
  koa: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls', 'xfcc-cn', 'tls-cn', 'bare-h2', 'tls-h2'],
  fastify: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls', 'xfcc-cn', 'tls-cn', 'bare-h2', 'tls-h2'],
};

/** The variants that carry clientcert (and so have caches to warm). */
export function isMiddleware(variant: Variant): boolean {
  return (
    variant === 'xfcc' || variant === 'tls' || variant === 'xfcc-cn' || variant === 'tls-cn' || variant === 'tls-h2'
  );
}

export function isHttps(variant: Variant): boolean {
  return variant !== 'bare-http' && variant !== 'xfcc' && variant !== 'xfcc-cn';
}

export function isH2(variant: Variant): boolean {
  return variant === 'bare-h2' || variant === 'tls-h2';
}

/** Fleet sizes: one client, the old caches' size, and a fleet behind one proxy. */
export const FLEET_SIZES = [1, 1000, 20_000] as const;
const label = (clients: number): string => (clients === 1 ? '1 client' : `${clients / 1000}k clients`);

type Make = (name: string, variant: Variant, load: Load, baseline: string, target?: Config['target']) => Config;

function coreConfigs(framework: Framework, config: Make): Config[] {
  const xfccTarget = framework === 'express' ? 0.97 : 0.95; // koa: none given; fastify's applies
  const configs = [
    config('bare-http', 'bare-http', 'keep-alive', 'bare-http'),
    config('xfcc', 'xfcc', 'keep-alive', 'bare-http', xfccTarget),
    config('xfcc distinct certs', 'xfcc', 'distinct-certs', 'bare-http'),
    config('bare-https', 'bare-https', 'keep-alive', 'bare-https'),
    // The framework's own cost of one more middleware (hook): the floor for any adapter.
    config('noop middleware https', 'noop-https', 'keep-alive', 'bare-https'),
    config('tls', 'tls', 'keep-alive', 'bare-https', framework === 'express' ? 0.97 : 0.98),
    config('bare-https new conn', 'bare-https', 'new-connection', 'bare-https new conn'),
    config('tls new conn', 'tls', 'new-connection', 'bare-https new conn'),
  ];
  if (framework === 'express') {
    configs.push(
      config('cca', 'cca', 'keep-alive', 'bare-https', 'peer'),
      config('passport', 'passport', 'keep-alive', 'bare-https', 'peer'),
    );
  }
  return configs;
}

/** Each fleet row right after the bare row it is divided by, so that the two alternate. */
function fleetConfigs(config: Make): Config[] {
  const configs: Config[] = [];
  for (const clients of FLEET_SIZES) {
    const bare = `bare-http ${label(clients)}`;
    const target = clients >= 20_000 ? 0.9 : 0.95;
    configs.push(
      { ...config(bare, 'bare-http', 'xfcc-fleet', bare), clients },
      { ...config(`xfcc CN ${label(clients)}`, 'xfcc-cn', 'xfcc-fleet', bare, target), clients },
    );
  }
  for (const clients of [1, 20_000]) {
    const bare = `bare-https new conn ${label(clients)}`;
    const target = clients >= 20_000 ? 0.9 : 0.95;
    configs.push(
      { ...config(bare, 'bare-https', 'tls-fleet', bare), clients },
      { ...config(`tls CN new conn ${label(clients)}`, 'tls-cn', 'tls-fleet', bare, target), clients },
    );
  }
  return configs;
}

function h2Configs(config: Make): Config[] {
  return [
    config('bare h2', 'bare-h2', 'h2', 'bare h2'),
    config('tls CN h2', 'tls-h2', 'h2', 'bare h2'),
    config('bare h2 no cert', 'bare-h2', 'h2-anonymous', 'bare h2 no cert'),
    config('tls CN h2 no cert', 'tls-h2', 'h2-anonymous', 'bare h2 no cert'),
  ];
}

export function configsOf(framework: Framework, suites: readonly Suite[] = SUITES): Config[] {
  const make =
    (suite: Suite): Make =>
    (name, variant, load, baseline, target = null) => ({ framework, name, variant, load, suite, baseline, target });
  return [
    ...(suites.includes('core') ? coreConfigs(framework, make('core')) : []),
    ...(suites.includes('fleet') ? fleetConfigs(make('fleet')) : []),
    ...(suites.includes('h2') && VARIANTS[framework].includes('bare-h2') ? h2Configs(make('h2')) : []),
  ];
}
