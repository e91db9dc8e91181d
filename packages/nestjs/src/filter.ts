import { PROBLEM_HEADERS } from '@clientcert/core';
import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import { ClientCertException } from './guard.js';

/** The reply methods used here, of express's response and of fastify's reply. */
interface ExpressResponse {
  status(code: number): ExpressResponse;
  set(headers: Record<string, string>): ExpressResponse;
  send(body: Buffer): unknown;
}
interface FastifyReply {
  code(code: number): FastifyReply;
  headers(headers: Record<string, string>): FastifyReply;
  send(body: Buffer): unknown;
}

/**
 * Sends a `ClientCertException` as the express adapter sends a refusal: the problem's status,
 * `content-type: application/problem+json`, `cache-control: no-store`, the problem as the body.
 * `ClientCertModule` registers it app-wide (`APP_FILTER`); it catches nothing else.
 */
@Catch(ClientCertException)
export class ClientCertExceptionFilter implements ExceptionFilter<ClientCertException> {
  catch(exception: ClientCertException, host: ArgumentsHost): void {
    const { problem } = exception;
    // A Buffer, not an object or a string: either would get a JSON content-type or a charset appended.
    const body = Buffer.from(JSON.stringify(problem));
    const response = host.switchToHttp().getResponse<ExpressResponse | FastifyReply>();
    if ('code' in response && typeof response.code === 'function')
      (response as FastifyReply)
        .code(problem.status)
        .headers({ ...PROBLEM_HEADERS })
        .send(body);
    else
      (response as ExpressResponse)
        .status(problem.status)
        .set({ ...PROBLEM_HEADERS })
        .send(body);
  }
}
