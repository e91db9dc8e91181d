/**
 * The RFC 9457 body of a refusal. Passport answers a failed strategy itself (the status and its
 * reason phrase as text/plain), so the strategy keeps the problem per request, and these helpers
 * answer with it: an error handler for `failWithError: true`, or `sendProblem` in a custom callback.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PROBLEM_HEADERS, type ProblemDetails } from '@clientcert/core';

// Keyed by the request object: gone with it, and one request never sees another's problem.
const problems = new WeakMap<object, ProblemDetails>();

/** Remember the problem the strategy refused this request with (`null`: it admitted the request). */
export function recordProblem(req: object, problem: ProblemDetails | null): void {
  if (problem) problems.set(req, problem);
  else problems.delete(req);
}

/**
 * The problem the `'client-cert'` strategy refused this request with, or `null` when it did not
 * refuse it (it admitted it, passed, or did not run).
 */
export function clientCertProblem(req: IncomingMessage): ProblemDetails | null {
  return problems.get(req) ?? null;
}

/** Answer with a problem: its status, `application/problem+json`, `cache-control: no-store`, the JSON body. */
export function sendProblem(res: ServerResponse, problem: ProblemDetails): void {
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(PROBLEM_HEADERS)) res.setHeader(name, value);
  res.end(JSON.stringify(problem));
}

/** Express error middleware; `next` as express gives it. */
export type ProblemErrorHandler = (
  error: unknown,
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Express error middleware for `passport.authenticate('client-cert', { failWithError: true })`:
 * answers Passport's authentication error with the RFC 9457 problem of the refused certificate
 * (`app.use(clientCertProblems())` after the routes). Any other error, or an authentication error
 * whose status is not the problem's (another strategy of a chain decided it), goes on to `next`.
 */
export function clientCertProblems(): ProblemErrorHandler {
  return function clientCertProblemHandler(error, req, res, next) {
    const problem = problems.get(req);
    if (problem && !res.headersSent && isAuthenticationError(error, problem.status)) {
      sendProblem(res, problem);
      return;
    }
    next(error);
  };
}

/** Passport's `AuthenticationError` (by name: the class is not exported), with this status. */
function isAuthenticationError(error: unknown, status: number): boolean {
  return (
    error instanceof Error && error.name === 'AuthenticationError' && (error as { status?: unknown }).status === status
  );
}
