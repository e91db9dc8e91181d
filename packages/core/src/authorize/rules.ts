/**
 * Rules: which trusted client certificates are allowed in (step 4 of the pipeline, "Authorize").
 *
 * Semantics follow Azure API Management's `validate-client-certificate`: every configured
 * top-level check must pass (`subject`, `issuer`, `san.*`, `spiffe`, in that order), then — when
 * `identities` are configured — at least one identity must match, each identity being an all-of
 * set of claims; then the `predicate` runs. The first failure is reported with a stable label and
 * a fixed message that never contains certificate or request content.
 *
 * Each check lives in its own module: dn.ts (`subject`, `issuer`), san.ts and uri.ts (`san`),
 * spiffe.ts, identities.ts and predicate.ts. This one compiles the option and runs them in order.
 */
import type { ClientCertificate } from '../model.js';
import type { RuleContext } from '../trust/pins.js';
import { functionOption, knownKeys, objectOption } from '../validate.js';
import { compileDnRule, type DnRule, dnRuleMatches, onlyCommonName } from './dn.js';
import { type CompiledIdentity, compileIdentities, firstIdentity, type Identity } from './identities.js';
import { type RulePredicate, runPredicate } from './predicate.js';
import { FAILURES, type Failure, MATCHED_NOTHING, type RuleResult } from './result.js';
import { compileSan, type SanRule } from './san.js';
import { compileSpiffe, type SpiffeRule } from './spiffe.js';

export type { RuleContext } from '../trust/pins.js';
export type { DnAttributes, DnRule } from './dn.js';
export type { Identity } from './identities.js';
export type { PredicateVerdict, RulePredicate } from './predicate.js';
export type { RuleFailureLabel, RuleResult } from './result.js';
export type { SanRule } from './san.js';
export type { SpiffeRule } from './spiffe.js';

export interface RulesOption {
  readonly subject?: DnRule;
  readonly issuer?: DnRule;
  readonly san?: SanRule;
  readonly spiffe?: SpiffeRule;
  /** Any-of; omit to require none. */
  readonly identities?: readonly Identity[];
  readonly predicate?: RulePredicate;
}

/** A top-level check: null when it passes. */
type Check = (cert: ClientCertificate) => Failure | null;

/** Compiled `rules`; opaque apart from what an integrator needs to know. */
export interface CompiledRules {
  /** True when some claim (`issuerThumbprint`) reads `context.chain`, the verified path. */
  readonly usesChain: boolean;
  /** True when a predicate is configured: `evaluateRules` may then return a Promise. */
  readonly hasPredicate: boolean;
  /** @internal */
  readonly checks: readonly Check[];
  /** @internal */
  readonly identities: readonly CompiledIdentity[] | null;
  /** @internal */
  readonly predicate: RulePredicate | null;
  /** @internal For the cn_only_rules warning: a certificate can pass on its CN alone. */
  readonly onlyCommonName: boolean;
  /** @internal For the sha1_thumbprint warning: the options that give a SHA-1 thumbprint. */
  readonly sha1Thumbprints: readonly string[];
}

const RULE_KEYS = ['subject', 'issuer', 'san', 'spiffe', 'identities', 'predicate'] as const;

/**
 * Validates the `rules` option once and returns the compiled rules. Every problem throws
 * `invalid_option` naming the exact option, e.g. `rules.san.dns[1]` or `rules.identities[0].thumbprint`.
 */
export function compileRules(input: RulesOption, option = 'rules'): CompiledRules {
  const value = objectOption(input, option);
  knownKeys(value, RULE_KEYS, option);
  const checks: Check[] = [];
  let subjectOnlyCommonName: boolean | null = null; // null: no subject rule
  if (value.subject !== undefined) {
    const subject = compileDnRule(value.subject, `${option}.subject`);
    subjectOnlyCommonName = onlyCommonName(subject);
    checks.push((cert) => (dnRuleMatches(subject, cert.subject) ? null : FAILURES.subject));
  }
  if (value.issuer !== undefined) {
    const issuer = compileDnRule(value.issuer, `${option}.issuer`);
    checks.push((cert) => (dnRuleMatches(issuer, cert.issuer) ? null : FAILURES.issuer));
  }
  if (value.san !== undefined) {
    for (const { kind, matches } of compileSan(value.san, `${option}.san`)) {
      const failed = FAILURES[`san.${kind}`];
      checks.push((cert) => (matches(cert.san[kind]) ? null : failed));
    }
  }
  if (value.spiffe !== undefined) checks.push(compileSpiffe(value.spiffe, `${option}.spiffe`));
  const sha1Thumbprints: string[] = [];
  const identities =
    value.identities === undefined
      ? null
      : compileIdentities(value.identities, `${option}.identities`, sha1Thumbprints);
  const predicate =
    value.predicate === undefined
      ? null
      : functionOption<RulePredicate>(
          value.predicate,
          `${option}.predicate`,
          '(cert, context) => boolean | { ok, reason } or a Promise of one',
        );
  const identityList = value.identities as readonly Identity[] | undefined;
  return Object.freeze({
    usesChain: identityList?.some((identity) => identity.issuerThumbprint !== undefined) ?? false,
    hasPredicate: value.predicate !== undefined,
    checks,
    identities,
    predicate,
    onlyCommonName:
      value.predicate === undefined &&
      value.issuer === undefined &&
      value.san === undefined &&
      value.spiffe === undefined &&
      subjectOnlyCommonName !== false &&
      (identities === null ? subjectOnlyCommonName === true : identities.some((identity) => identity.onlyCommonName)),
    sha1Thumbprints,
  });
}

/**
 * Evaluates compiled rules against a verified certificate. `context.chain` is the verified path,
 * leaf first (needed by `issuerThumbprint`; `{ chain: [] }` otherwise). Returns synchronously
 * unless a predicate returns a Promise; never rejects. Throws only for a `context.chain` that
 * does not start with the leaf.
 */
export function evaluateRules(
  rules: CompiledRules,
  cert: ClientCertificate,
  context: RuleContext,
): RuleResult | Promise<RuleResult> {
  for (const check of rules.checks) {
    const failed = check(cert);
    if (failed !== null) return failed;
  }
  let matched = MATCHED_NOTHING;
  if (rules.identities !== null) {
    const identity = firstIdentity(rules.identities, cert, context);
    if (identity === null) return FAILURES.identities;
    matched = identity.result;
  }
  return rules.predicate === null ? matched : runPredicate(rules.predicate, cert, context, matched);
}
