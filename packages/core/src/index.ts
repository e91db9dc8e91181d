export { createClientCertAuth } from './authenticate.js';
export type { AuthResult, ClientCertAuth, RequestLike } from './authenticate.js';
export { derToPem, parseCertificate, parseCertificateChain, pemToDer } from './certificate.js';
export { ClientCertError, isClientCertError } from './errors.js';
export type { ErrorCode, RejectionCode } from './errors.js';
export type {
  Authorization, ClientCertIdentities, IdentityName, ClientCertificate, DistinguishedName, NameAttribute, SourceName, SubjectAltNames, Verification,
} from './model.js';
export type { ClientCertOptions, CustomSource, Logger, Mode, SourceOption } from './options.js';
export { PROBLEM_CONTENT_TYPE, PROBLEM_HEADERS } from './problem.js';
export { WARNING_CODES, WARNINGS_DOCS } from './warnings.js';
export type { WarningCode, WarningsOption } from './warnings.js';
export { DECISION_CHANNEL } from './diagnostics.js';
export type { DecisionEvent, DecisionHook } from './diagnostics.js';
export type { ProblemDetails } from './problem.js';
export { DEFAULT_TRUST_PROXY } from './trust.js';
export type { TrustProxyFn, TrustProxyInput } from './trust.js';
export {
  checkCertificate, checkKeyPolicy, compileIntermediatePool, compileTrustAnchors, compileVerifyPolicy, MAX_SIGNATURE_CHECKS, trustAnchorProblems,
  verifyChain, verifyChainSync,
} from './verify.js';
export { compilePins } from './pins.js';
export type { PinInput, PinResult, PinSpec, PinsOption, PinValue } from './pins.js';
export { compileRules, evaluateRules } from './rules.js';
export type { Identity, RuleContext, RulePredicate, RuleResult, RulesOption, SanRule, SpiffeRule } from './rules.js';
export { compileRevocation, decideRevocation } from './revocation.js';
export type { RevocationChecker, RevocationDecision, RevocationOptions, RevocationPolicy, RevocationResult } from './revocation.js';
export type { CompiledVerifyPolicy, VerifyChainInput, VerifyChainResult, VerifyFailureCode, VerifyPolicy } from './verify.js';
export { DEFAULT_XFCC_LIMITS, formatXfcc, parseXfcc, selectXfccElement, xfccHashMatches, xfccLeaf } from './xfcc.js';
export type { XfccElement, XfccLimits } from './xfcc.js';
export { createXfccForwarder, type XfccDetail, type XfccForwarder, type XfccForwarderOptions, type XfccForwardMode } from './forwarder.js';
export {
  compileHeaderSource, HEADER_SOURCE_NAMES, parseTraefikInfo, readHeaderSource, readProxyVerdict, readTraefikInfo,
} from './header-sources.js';
export type {
  CompiledHeaderSource, CustomHeaderDecoder, DescriptionHeaders, ForwardedCertificate, ForwardedDescription, HeaderSourceName,
  HeaderSourceOptions, ProxyVerdict, TraefikCertInfo,
} from './header-sources.js';
export { descriptionMismatch } from './proxy-description.js';
export { PRESETS, PROXY_NAMES, resolvePreset } from './presets.js';
export type { ProxyName, ProxyPreset, ProxyVerification } from './presets.js';
