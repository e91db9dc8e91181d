/** What is measured: frameworks, their variants, and how long. Shared by run.ts and server.ts. */
export type Framework = 'express' | 'koa' | 'fastify';
export type Variant = 'bare-http' | 'bare-https' | 'xfcc' | 'tls' | 'cca' | 'passport';

export const FRAMEWORKS: Framework[] = ['express', 'koa', 'fastify'];

export const VARIANTS: Record<Framework, Variant[]> = {
  express: ['bare-http', 'xfcc', 'bare-https', 'tls', 'cca', 'passport'],
  koa: ['bare-http', 'xfcc', 'bare-https', 'tls'],
  fastify: ['bare-http', 'xfcc', 'bare-https', 'tls'],
};

/** The bare configuration each variant is divided by. */
export function baselineOf(variant: Variant): Variant {
  return variant === 'xfcc' || variant === 'bare-http' ? 'bare-http' : 'bare-https';
}

export function isHttps(variant: Variant): boolean {
  return baselineOf(variant) === 'bare-https';
}
