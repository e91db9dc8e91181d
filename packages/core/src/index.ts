export type {
  Identity,
  RuleContext,
  RulePredicate,
  RuleResult,
  RulesOption,
  SanRule,
  SpiffeRule,
} from './authorize/rules.js';
export { compileRules, evaluateRules } from './authorize/rules.js';
export type { ClientCertAuth } from './create.js';
export { createClientCertAuth } from './create.js';
export type { AuthResult, ClientCertUser } from './decide/decide.js';
export { admittedCertificate } from './decide/decide.js';
export type { ProblemDetails } from './decide/problem.js';
export { PROBLEM_CONTENT_TYPE, PROBLEM_HEADERS } from './decide/problem.js';
export { rejectUpgrade } from './decide/upgrade.js';
export type { ErrorCode, RejectionCode } from './errors.js';
export { ClientCertError, isClientCertError } from './errors.js';
export {
  createXfccForwarder,
  type XfccDetail,
  type XfccForwarder,
  type XfccForwarderOptions,
  type XfccForwardMode,
} from './forwarder/forwarder.js';
export type {
  Authorization,
  ClientCertIdentities,
  ClientCertificate,
  DistinguishedName,
  IdentityName,
  NameAttribute,
  SourceName,
  SubjectAltNames,
  Verification,
} from './model.js';
export type { ClientCertOptions, CustomSource, Logger, Mode, SourceOption } from './options/compile.js';
export { type FileReference, loadOptionsFile, resolveOptionFiles } from './options/load.js';
export type { DecisionEvent, DecisionHook } from './options/observe.js';
export { DECISION_CHANNEL } from './options/observe.js';
export type { ProxyName, ProxyPreset, ProxyVerification } from './options/presets.js';
export { PRESETS, PROXY_NAMES, resolvePreset } from './options/presets.js';
export {
  compilePrincipal,
  type PrincipalMap,
  type PrincipalOption,
  type PrincipalSettings,
  type PrincipalStep,
  unmappedUser,
} from './options/principal.js';
export type { WarningCode, WarningsOption } from './options/warnings.js';
export { WARNING_CODES, WARNINGS_DOCS } from './options/warnings.js';
export type {
  CompiledHeaderSource,
  CustomHeaderDecoder,
  DescriptionHeaders,
  ForwardedCertificate,
  ForwardedDescription,
  HeaderSourceName,
  HeaderSourceOptions,
  ProxyVerdict,
  TraefikCertInfo,
} from './sources/headers.js';
export {
  compileHeaderSource,
  HEADER_SOURCE_NAMES,
  parseTraefikInfo,
  readHeaderSource,
  readProxyVerdict,
  readTraefikInfo,
} from './sources/headers.js';
export { descriptionMismatch } from './sources/proxy-description.js';
export type { TrustProxyFn, TrustProxyInput } from './sources/proxy-trust.js';
export { DEFAULT_TRUST_PROXY } from './sources/proxy-trust.js';
export type { RequestLike } from './sources/read.js';
export type { XfccElement, XfccLimits } from './sources/xfcc.js';
export {
  DEFAULT_XFCC_LIMITS,
  formatXfcc,
  parseXfcc,
  selectXfccElement,
  xfccHashMatches,
  xfccLeaf,
} from './sources/xfcc.js';
export type {
  CompiledVerifyPolicy,
  VerifyChainInput,
  VerifyChainResult,
  VerifyFailureCode,
  VerifyPolicy,
} from './trust/path/verify.js';
export {
  checkCertificate,
  checkKeyPolicy,
  compileIntermediatePool,
  compileTrustAnchors,
  compileVerifyPolicy,
  MAX_SIGNATURE_CHECKS,
  trustAnchorProblems,
  verifyChain,
  verifyChainSync,
} from './trust/path/verify.js';
export type { PinInput, PinResult, PinSpec, PinsOption, PinValue } from './trust/pins.js';
export { compilePins } from './trust/pins.js';
export type {
  RevocationChecker,
  RevocationDecision,
  RevocationOptions,
  RevocationPolicy,
  RevocationResult,
} from './trust/revocation/index.js';
export { compileRevocation, decideRevocation } from './trust/revocation/index.js';
export * as validateOption from './validate.js';
export { derToPem, parseCertificate, parseCertificateChain, pemToDer } from './x509/certificate.js';
