/**
 * A request decided, then its user mapped (`principal`): what `authenticate` is when a principal
 * is configured, so that every caller of the core (adapters, WebSockets, Lambda, wrappers) gets a
 * user or a refusal and none can forget the mapping. Without a principal the plain run is bound
 * instead, and the cached path stays as it was.
 */
import type { AuthResult } from '../decide/decide.js';
import type { PrincipalStep } from '../options/principal.js';
import type { RequestLike } from '../sources/read.js';
import type { Pipeline } from './cache.js';
import { authenticate } from './run.js';

/** `context`: what the mapping is given, the framework's own request; the request itself by default. */
export function authenticateMapped(
  pipeline: Pipeline,
  step: PrincipalStep,
  request: RequestLike,
  context: unknown = request,
): AuthResult | Promise<AuthResult> {
  const result = authenticate(pipeline, request);
  return result instanceof Promise
    ? result.then((settled) => step.resolve(settled, context))
    : step.resolve(result, context);
}
