/**
 * A request decided, then its user mapped (`principal`): what `authenticate` is when a principal
 * is configured, so that every caller of the core (adapters, WebSockets, Lambda, wrappers) gets a
 * user or a refusal and none can forget the mapping. Without a principal the plain run is bound
 * instead, and the cached path stays as it was.
 */
import { type AuthResult, NEVER } from '../decide/decide.js';
import type { PrincipalStep } from '../options/principal.js';
import type { RequestLike } from '../sources/read.js';
import type { Pipeline } from './cache.js';
import { authenticateThen } from './run.js';

/**
 * `context`: what the mapping is given, the framework's own request; the request itself by
 * default. Mapped before the decision is reported: observers see a user-less certificate refused.
 */
export function authenticateMapped(
  pipeline: Pipeline,
  step: PrincipalStep,
  request: RequestLike,
  context: unknown = request,
): AuthResult | Promise<AuthResult> {
  return authenticateThen(pipeline, request, (result) => mapped(pipeline, step, request, result, context));
}

function mapped(
  pipeline: Pipeline,
  step: PrincipalStep,
  request: RequestLike,
  result: AuthResult,
  context: unknown,
): AuthResult | Promise<AuthResult> {
  const answer = step.resolve(result, context);
  return answer instanceof Promise
    ? answer.then((settled) => logged(pipeline, request, result, settled))
    : logged(pipeline, request, result, answer);
}

/** A certificate admitted but mapped to no user: its rejection line, like any other refusal's. */
function logged(pipeline: Pipeline, request: RequestLike, decided: AuthResult, answer: AuthResult): AuthResult {
  if (decided.ok && decided.certificate !== null && !answer.ok) {
    const certificate = decided.certificate;
    const refusal = {
      certificate: null,
      error: answer.error,
      fingerprint: certificate.fingerprints.sha256,
      subject: certificate.subject.rfc4514,
      issuer: certificate.issuer.rfc4514,
      ...NEVER,
    };
    pipeline.rejections.refused(refusal, certificate.source ?? 'principal', request, request.socket ?? undefined);
  }
  return answer;
}
