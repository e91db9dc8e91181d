/**
 * `principal`: the app's user for an admitted certificate, as Spring's X.509 filter or ASP.NET's
 * claims give one. It runs after the decision (never for a refused certificate, never without
 * one) and before the answer; a user it cannot name is refused like any other certificate. The
 * adapters call `resolve` with their framework's own request (or context) and only place the user.
 */
import { type Answering, type AuthResult, type ClientCertUser, fail, reject } from '../decide/decide.js';
import type { ClientCertificate } from '../model.js';
import { booleanOption, functionOption, invalidOption, knownKeys, objectOption } from '../validate.js';

export type { ClientCertUser };

/**
 * The user for an admitted certificate, or null/undefined: not a user of this app (403). Written
 * as a method so that an adapter's narrower context (express's `Request`) is accepted where the
 * core's options take any context.
 */
export type PrincipalMap<Context = unknown> = {
  map(
    certificate: ClientCertificate,
    context: Context,
  ): ClientCertUser | null | undefined | PromiseLike<ClientCertUser | null | undefined>;
}['map'];

/**
 * A mapping called for every admitted request, or `{ map, cache: true }`: kept with the cached
 * decision (per certificate), so that a certificate seen again is not mapped again.
 */
export type PrincipalOption<Context = unknown> =
  | PrincipalMap<Context>
  | { readonly map: PrincipalMap<Context>; readonly cache?: boolean };

/** `principal` compiled: where the adapters put the user, and the step that finds it. */
export interface PrincipalStep {
  /** The property the adapters set (`req.user`, `ctx.state.user`, `request.user`, `c.get('user')`). */
  readonly property: string;
  /** Whether a user is kept with the certificate's cached decision. */
  readonly cached: boolean;
  /**
   * An admitted result with its `principal`, a refusal when the mapping names nobody, or the
   * result as it was (refused, or no certificate). A throw or rejection of the mapping is not
   * caught: it is the app's error, for the framework's error path (500), not a client's 403.
   */
  resolve(result: AuthResult, context: unknown): AuthResult | Promise<AuthResult>;
}

/** The options this step reads; its refusal is answered as `answering` (the compiled options) says. */
export interface PrincipalSettings {
  readonly principal?: PrincipalOption | undefined;
  readonly principalProperty?: string | undefined;
}

const SIGNATURE = '(certificate, context) => user | null, or { map, cache }';
const GROUP_KEYS: ReadonlySet<string> = new Set(['map', 'cache']);
/** Fixed: the answer never echoes what the mapping did or did not find. */
const UNMAPPED = 'The client certificate is not mapped to a user of this application.';

/**
 * The refusal of a certificate that was admitted but is no user of this app: one text for every
 * mapping (`principal` here, a Passport strategy's `verify`).
 */
export function unmappedUser(answering: Answering): AuthResult & { readonly ok: false } {
  return fail(answering, reject('client_certificate_rejected', UNMAPPED, 'principal')) as AuthResult & {
    readonly ok: false;
  };
}

/** Validate `principal` and `principalProperty` once, at start-up; null when no principal is configured. */
export function compilePrincipal(options: PrincipalSettings, answering: Answering): PrincipalStep | null {
  const property = compileProperty(options.principalProperty, options.principal !== undefined);
  if (options.principal === undefined) return null;
  const given = options.principal;
  let map: PrincipalMap;
  let cached = false;
  if (typeof given === 'function') map = given;
  else {
    const group = objectOption(given, 'principal', SIGNATURE) as Exclude<PrincipalOption, PrincipalMap>;
    knownKeys(group, GROUP_KEYS, 'principal');
    map = functionOption<PrincipalMap>(group.map, 'principal.map', '(certificate, context) => user | null');
    cached = group.cache === undefined ? false : booleanOption(group.cache, 'principal.cache');
  }
  // Keyed by the decision's certificate object: a user lives exactly as long as the cached decision.
  const users = cached ? new WeakMap<ClientCertificate, ClientCertUser>() : null;
  const answer = (certificate: ClientCertificate, user: ClientCertUser | null | undefined): AuthResult => {
    if (user === null || user === undefined) return unmappedUser(answering);
    users?.set(certificate, user);
    return { ok: true, certificate, principal: user };
  };
  return {
    property,
    cached,
    resolve(result, context) {
      if (!result.ok || result.certificate === null) return result;
      const certificate = result.certificate;
      const known = users?.get(certificate);
      if (known !== undefined) return { ok: true, certificate, principal: known };
      const user = map(certificate, context);
      return isThenable(user)
        ? Promise.resolve(user).then((found) => answer(certificate, found))
        : answer(certificate, user);
    },
  };
}

function compileProperty(value: unknown, used: boolean): string {
  if (value === undefined) return 'user';
  if (!used) throw invalidOption('principalProperty', 'needs `principal`: it names where the mapped user is put');
  if (typeof value !== 'string' || value === '' || value === '__proto__' || value === 'clientCert')
    throw invalidOption('principalProperty', "must be a property name other than 'clientCert' (default 'user')");
  return value;
}

function isThenable(value: unknown): value is PromiseLike<ClientCertUser | null | undefined> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}
