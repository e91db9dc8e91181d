import type { ClientCertificate } from '@clientcert/core';
import { ClientCertStrategy } from './strategy.js';

export type {
  ClientCertIdentities,
  ClientCertificate,
  ClientCertOptions,
  ProblemDetails,
  RejectionCode,
} from '@clientcert/core';
export { ClientCertError, isClientCertError } from '@clientcert/core';
export { clientCertProblem, clientCertProblems, type ProblemErrorHandler, sendProblem } from './problems.js';
export {
  ClientCertStrategy,
  type ClientCertStrategyOptions,
  type VerifyDone,
  type VerifyFunction,
  type VerifyFunctionWithRequest,
} from './strategy.js';

declare global {
  // As @clientcert/express declares it: the strategy sets `req.clientCert` on the requests it admits.
  namespace Express {
    interface Request {
      /** The authenticated client certificate, or null when none was required and none came. */
      clientCert?: ClientCertificate | null;
    }
  }
}

/** passport-client-cert's export name, for `const { Strategy } = require(...)` code moving over. */
export { ClientCertStrategy as Strategy };
export default ClientCertStrategy;
