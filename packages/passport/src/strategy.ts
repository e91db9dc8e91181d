import type { IncomingMessage } from 'node:http';
import {
  type AuthResult,
  type ClientCertAuth,
  type ClientCertificate,
  type ClientCertOptions,
  createClientCertAuth,
  type ProblemDetails,
  unmappedUser,
  validateOption,
} from '@clientcert/core';
import { Strategy as PassportStrategy } from 'passport-strategy';
import { recordProblem } from './problems.js';

/** The verify callback's `done`, as every Passport strategy has it: an error, or the user (falsy: none). */
export type VerifyDone = (error: unknown, user?: unknown, info?: unknown) => void;

/**
 * Maps an admitted certificate to the app's user: call `done(null, user)`, or return the user (or
 * a promise of it). `false` or `null` means "no user": the request is refused with 403
 * `client_certificate_rejected`. An error (thrown, rejected or given to `done`) goes to `next(err)`.
 */
export type VerifyFunction = (certificate: ClientCertificate, done: VerifyDone) => unknown;

/**
 * The same with the request first (`passReqToCallback: true`). Annotate `req` as your framework's
 * request (`req: express.Request`): the parameter is checked bivariantly, as a method's is.
 */
export type VerifyFunctionWithRequest = {
  verify(req: IncomingMessage, certificate: ClientCertificate, done: VerifyDone): unknown;
}['verify'];

/** The core's options, plus Passport's `passReqToCallback`. */
export interface ClientCertStrategyOptions extends ClientCertOptions {
  /** Call `verify(req, certificate, done)` instead of `verify(certificate, done)` (default false). */
  passReqToCallback?: boolean;
}

/**
 * What Passport gives a strategy for one request (it copies the strategy with `Object.create` and
 * adds these), typed here so that this package's declarations need no `@types/passport-strategy`.
 */
interface StrategyActions {
  success(user: unknown, info?: unknown): void;
  fail(challenge?: unknown, status?: number): void;
  pass(): void;
  error(error: unknown): void;
}

const Base = PassportStrategy as unknown as new () => StrategyActions;

/**
 * Passport strategy `'client-cert'`: the core decides the certificate (from the TLS connection or a
 * trusted proxy's header, with the same options and codes as the other adapters), then `verify`
 * maps it to the user Passport puts on `req.user`.
 *
 * A refused certificate fails the strategy with its RFC 9457 problem as the challenge and its
 * status (403 unless `rejectStatus`), so that the next strategy of a chain is tried; to answer
 * with the problem body, use `failWithError: true` with `clientCertProblems()`, or a custom callback
 * (its `info` is the problem). With `mode: 'accept'` a request without a certificate passes through
 * unauthenticated (`pass()`), as does every request with `mode: 'ignore'`.
 */
export class ClientCertStrategy extends Base {
  /** The name `passport.authenticate('client-cert')` finds the strategy by. */
  readonly name = 'client-cert';
  // Plain properties, not #private: Passport runs each request on Object.create(strategy), and
  // private fields are not reachable through a prototype.
  private readonly auth: ClientCertAuth;
  private readonly verify: VerifyFunction | VerifyFunctionWithRequest;
  private readonly passReqToCallback: boolean;

  constructor(verify: VerifyFunction);
  constructor(options: ClientCertStrategyOptions & { passReqToCallback?: false }, verify: VerifyFunction);
  constructor(options: ClientCertStrategyOptions & { passReqToCallback: true }, verify: VerifyFunctionWithRequest);
  constructor(
    optionsOrVerify: ClientCertStrategyOptions | VerifyFunction,
    maybeVerify?: VerifyFunction | VerifyFunctionWithRequest,
  ) {
    super();
    const given = typeof optionsOrVerify === 'function' ? {} : optionsOrVerify;
    const verify = typeof optionsOrVerify === 'function' ? optionsOrVerify : maybeVerify;
    const { passReqToCallback = false, ...options } = validateOption.objectOption(
      given,
      'options',
    ) as ClientCertStrategyOptions;
    this.passReqToCallback = validateOption.booleanOption(passReqToCallback, 'passReqToCallback');
    const signature = this.passReqToCallback ? '(req, certificate, done)' : '(certificate, done)';
    this.verify = validateOption.functionOption(
      verify,
      'verify',
      `${signature} returning or calling done with the user`,
    );
    // The user is verify's to give: a principal beside it would be a second, silent mapping.
    if ('principal' in options || 'principalProperty' in options) {
      throw validateOption.invalidOption(
        'principal' in options ? 'principal' : 'principalProperty',
        'is not taken by the Passport strategy: map the certificate to the user in verify',
      );
    }
    this.auth = createClientCertAuth(options);
  }

  /** Called by Passport for each request; not for apps to call. */
  authenticate(req: IncomingMessage, _options?: unknown): void {
    const result = this.auth.authenticate(req);
    if (result instanceof Promise)
      result.then(
        (settled) => this.decided(req, settled),
        (error: unknown) => this.error(error),
      );
    else this.decided(req, result);
  }

  private decided(req: IncomingMessage, result: AuthResult): void {
    if (!result.ok) this.refuse(req, result.problem);
    else if (result.certificate === null) {
      // mode 'accept' without a certificate, or 'ignore': nothing to authenticate, the request goes
      // on, with `req.clientCert` null as the express adapter leaves it.
      setClientCert(req, null);
      recordProblem(req, null);
      this.pass();
    } else this.mapToUser(req, result.certificate);
  }

  private mapToUser(req: IncomingMessage, certificate: ClientCertificate): void {
    this.callVerify(req, certificate, (error, user, info) => {
      if (error) this.error(error);
      else if (!user) this.refuse(req, this.rejected());
      else {
        setClientCert(req, certificate);
        recordProblem(req, null);
        this.success(user, info);
      }
    });
  }

  private refuse(req: IncomingMessage, problem: ProblemDetails): void {
    recordProblem(req, problem);
    this.fail(problem, problem.status);
  }

  /** The refusal of a certificate the core admitted but `verify` maps to no user: the core's, as for `principal`. */
  private rejected(): ProblemDetails {
    return unmappedUser(this.auth.options).problem;
  }

  /**
   * Runs `verify` once, whichever way it answers: `done`, a returned user, or a promise. A verify
   * that declares `done` and returns nothing (or a promise of nothing) is waited for; one that
   * declares no `done` answers with what it returns (nothing: no user).
   */
  private callVerify(req: IncomingMessage, certificate: ClientCertificate, finish: VerifyDone): void {
    let settled = false;
    const once: VerifyDone = (error, user, info) => {
      if (settled) return;
      settled = true;
      finish(error, user, info);
    };
    const declaresDone = this.verify.length > (this.passReqToCallback ? 2 : 1);
    const answer = (value: unknown): void => {
      if (value !== undefined || !declaresDone) once(null, value ?? false);
    };
    let returned: unknown;
    try {
      returned = this.passReqToCallback
        ? (this.verify as VerifyFunctionWithRequest)(req, certificate, once)
        : (this.verify as VerifyFunction)(certificate, once);
    } catch (error) {
      // Thrown after done: it is the app's own code past authentication (express catches it there).
      if (settled) throw error;
      once(error || new Error('verify threw without an error'));
      return;
    }
    if (isThenable(returned))
      returned.then(answer, (error: unknown) => once(error || new Error('verify rejected without an error')));
    else answer(returned);
  }
}

function setClientCert(req: IncomingMessage, certificate: ClientCertificate | null): void {
  (req as { clientCert?: ClientCertificate | null }).clientCert = certificate;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
