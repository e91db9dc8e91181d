/** What is measured: frameworks, their server variants, the configurations, and the targets. */
export type Framework = 'express' | 'koa' | 'fastify';
/** One endpoint of a framework's server process (its own port). */
export type Variant = 'bare-http' | 'bare-https' | 'noop-https' | 'xfcc' | 'tls' | 'cca' | 'passport';
/**
 * How the load generator drives an endpoint: 10 keep-alive connections; a new connection (full
 * TLS handshake, no session resumption) for every request; or keep-alive with a different client
 * certificate in the XFCC header on every request, more certificates than the caches hold.
 */
export type Load = 'keep-alive' | 'new-connection' | 'distinct-certs';

export interface Config {
  framework: Framework;
  /** Unique within the framework; also the table's label after the framework's name. */
  name: string;
  variant: Variant;
  load: Load;
  /** The configuration of the same framework this one is divided by (itself for the bare ones). */
  baseline: string;
  /** Minimum ratio to the baseline the issue asks for; 'peer' = must be slower than clientcert tls. */
  target: number | 'peer' | null;
}

export const FRAMEWORKS: Framework[] = ['express', 'koa', 'fastify'];

export const VARIANTS: Record<Framework, Variant[]> = {
  express: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls', 'cca', 'passport'],
  koa: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls'],
  fastify: ['bare-http', 'xfcc', 'bare-https', 'noop-https', 'tls'],
};

export function isHttps(variant: Variant): boolean {
  return variant !== 'bare-http' && variant !== 'xfcc';
}

export function configsOf(framework: Framework): Config[] {
  const xfccTarget = framework === 'express' ? 0.97 : 0.95; // koa: none given; fastify's applies
  const config = (
    name: string,
    variant: Variant,
    load: Load,
    baseline: string,
    target: Config['target'] = null,
  ): Config => ({ framework, name, variant, load, baseline, target });
  const configs = [
    config('bare-http', 'bare-http', 'keep-alive', 'bare-http'),
    config('xfcc', 'xfcc', 'keep-alive', 'bare-http', xfccTarget),
    config('xfcc distinct certs', 'xfcc', 'distinct-certs', 'bare-http'),
    config('bare-https', 'bare-https', 'keep-alive', 'bare-https'),
    // The framework's own cost of one more middleware (hook): the floor for any adapter.
    config('noop middleware https', 'noop-https', 'keep-alive', 'bare-https'),
    config('tls', 'tls', 'keep-alive', 'bare-https', 0.98),
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
