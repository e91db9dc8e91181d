/** Every published package, by its folder under packages/: the docs and packaging tests cover each one. */
export const PACKAGES = [
  'core',
  'express',
  'koa',
  'fastify',
  'agent',
  'cli',
  'fetch',
  'hono',
  'aws-lambda',
  'passport',
  'nestjs',
] as const;
