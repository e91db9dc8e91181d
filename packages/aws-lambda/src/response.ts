/**
 * A rejection as the result a Lambda proxy integration returns: API Gateway (REST, HTTP API) and
 * ALB targets take the same `{ statusCode, headers, body }`; an ALB with multi-value headers on
 * takes `multiValueHeaders` instead, and shows `statusDescription`.
 */
import { STATUS_CODES } from 'node:http';
import { PROBLEM_HEADERS, type ProblemDetails } from '@clientcert/core';

/**
 * Assignable to `APIGatewayProxyResult`, `APIGatewayProxyStructuredResultV2` and `ALBResult` of
 * `@types/aws-lambda`.
 */
export interface LambdaProblemResponse {
  statusCode: number;
  /** ALB only: e.g. `403 Forbidden`. */
  statusDescription?: string;
  headers?: Record<string, string>;
  /** For an ALB whose target group has multi-value headers on (its events carry `multiValueHeaders`). */
  multiValueHeaders?: Record<string, string[]>;
  /** The RFC 9457 problem, as JSON. */
  body: string;
  isBase64Encoded: false;
}

function isAlbEvent(event: unknown): event is { multiValueHeaders?: unknown } {
  const context = (event as { requestContext?: { elb?: unknown } } | null)?.requestContext;
  return typeof context?.elb === 'object' && context.elb !== null;
}

/**
 * The problem as a proxy result: `statusCode` from the problem (403 unless `rejectStatus`),
 * `content-type: application/problem+json`, `cache-control: no-store`. Pass the event to answer an
 * ALB in the form its target group expects.
 */
export function problemResponse(problem: ProblemDetails, event?: unknown): LambdaProblemResponse {
  const body = JSON.stringify(problem);
  if (!isAlbEvent(event))
    return { statusCode: problem.status, headers: { ...PROBLEM_HEADERS }, body, isBase64Encoded: false };
  const statusDescription = `${problem.status} ${STATUS_CODES[problem.status] ?? 'Client Error'}`;
  if (event.multiValueHeaders == null) {
    return {
      statusCode: problem.status,
      statusDescription,
      headers: { ...PROBLEM_HEADERS },
      body,
      isBase64Encoded: false,
    };
  }
  const multiValueHeaders = Object.fromEntries(Object.entries(PROBLEM_HEADERS).map(([name, value]) => [name, [value]]));
  return { statusCode: problem.status, statusDescription, multiValueHeaders, body, isBase64Encoded: false };
}
