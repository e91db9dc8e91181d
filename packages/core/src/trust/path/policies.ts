/**
 * Certificate policy processing, RFC 5280 §6.1.2 (a)(d)(e)(f), §6.1.3 (d)(e)(f), §6.1.4 (a)(b)
 * (h)(i)(j) and §6.1.5 (a)(b)(g), with the inputs every TLS stack uses: user-initial-policy-set
 * = {anyPolicy}, and initial-explicit-policy, initial-policy-mapping-inhibit and
 * initial-any-policy-inhibit all false.
 *
 * With those inputs a path fails policy processing only when a certificate maps anyPolicy
 * (§6.1.4 (a)), or when a policyConstraints requireExplicitPolicy has come into force and no
 * policy is valid for the whole path (the valid_policy_tree is NULL). So the tree itself is not
 * needed, only whether it is empty: each depth is kept as a map from valid_policy to
 * expected_policy_set, which is exactly what the next depth is computed from (qualifiers and
 * parent links only matter for reporting policies, which this validator does not do). The size of
 * each depth is bounded by the policies and mappings of one certificate, so there is no
 * exponential growth (compare CVE-2023-0464).
 *
 * The trust anchor is not part of the path (§6.1): its own policy extensions are not processed.
 */
import { Oid, type PolicyFacts } from '../../x509/extensions.js';

/** One certificate of the path, in the order §6.1 processes them: the anchor's child first. */
export interface PolicyStep {
  readonly policy: PolicyFacts;
  readonly selfIssued: boolean;
}

const NO_VALID_POLICY = 'no certificate policy is valid for the whole path, and one is required';

/** valid_policy → expected_policy_set for the nodes of one depth; null is the NULL tree. */
type Depth = Map<string, Set<string>> | null;

/** §6.1.3 (d)(1)(2): the nodes of depth i from those of depth i-1 and the certificate's policies. */
function nextDepth(previous: Map<string, Set<string>>, policies: readonly string[], anyPolicyApplies: boolean): Depth {
  const expected = new Set<string>();
  for (const set of previous.values()) for (const policy of set) expected.add(policy);
  const next = new Map<string, Set<string>>();
  for (const policy of policies) {
    if (policy === Oid.anyPolicy) continue;
    // (d)(1)(i) a node expects it, or (ii) a node of depth i-1 has valid_policy anyPolicy.
    if (expected.has(policy) || previous.has(Oid.anyPolicy)) next.set(policy, new Set([policy]));
  }
  if (anyPolicyApplies && policies.includes(Oid.anyPolicy)) {
    // (d)(2) every expected policy without a child yet gets one (anyPolicy included).
    for (const policy of expected) if (!next.has(policy)) next.set(policy, new Set([policy]));
  }
  return next.size > 0 ? next : null; // (d)(3): no node of depth i leaves nothing of the tree
}

/** §6.1.4 (b): apply policyMappings to the nodes of depth i. */
function applyMappings(
  depth: Map<string, Set<string>>,
  mappings: readonly (readonly [string, string])[],
  mappingAllowed: boolean,
): Depth {
  const bySource = new Map<string, Set<string>>();
  for (const [issuerPolicy, subjectPolicy] of mappings) {
    let targets = bySource.get(issuerPolicy);
    if (targets === undefined) bySource.set(issuerPolicy, (targets = new Set()));
    targets.add(subjectPolicy);
  }
  for (const [source, targets] of bySource) {
    if (!mappingAllowed)
      depth.delete(source); // (b)(2)
    else if (depth.has(source) || depth.has(Oid.anyPolicy)) depth.set(source, targets); // (b)(1)
  }
  return depth.size > 0 ? depth : null;
}

/**
 * Runs policy processing over `path` (anchor's child first, leaf last). Returns null when the
 * path is acceptable, else a fixed reason.
 */
export function processPolicies(path: readonly PolicyStep[]): string | null {
  const n = path.length;
  // §6.1.2 (d)(e)(f): without initial inhibits, each counter starts at n + 1.
  let explicitPolicy = n + 1;
  let inhibitAnyPolicy = n + 1;
  let policyMapping = n + 1;
  let tree: Depth = new Map([[Oid.anyPolicy, new Set([Oid.anyPolicy])]]);

  for (let i = 1; i <= n; i++) {
    const { policy, selfIssued } = path[i - 1]!;
    const last = i === n;
    // §6.1.3 (d)/(e)
    tree =
      tree !== null && policy.policies !== null
        ? nextDepth(tree, policy.policies, inhibitAnyPolicy > 0 || (!last && selfIssued))
        : null;
    // §6.1.3 (f)
    if (explicitPolicy <= 0 && tree === null) return NO_VALID_POLICY;
    if (last) break;
    // §6.1.4 (a)(b)
    if (policy.mappings !== null) {
      if (policy.mappings.some(([from, to]) => from === Oid.anyPolicy || to === Oid.anyPolicy)) {
        return 'a policy mapping maps anyPolicy';
      }
      if (tree !== null) tree = applyMappings(tree, policy.mappings, policyMapping > 0);
    }
    // §6.1.4 (h)(i)(j)
    if (!selfIssued) {
      if (explicitPolicy > 0) explicitPolicy--;
      if (policyMapping > 0) policyMapping--;
      if (inhibitAnyPolicy > 0) inhibitAnyPolicy--;
    }
    if (policy.requireExplicitPolicy !== null) explicitPolicy = Math.min(explicitPolicy, policy.requireExplicitPolicy);
    if (policy.inhibitPolicyMapping !== null) policyMapping = Math.min(policyMapping, policy.inhibitPolicyMapping);
    if (policy.inhibitAnyPolicy !== null) inhibitAnyPolicy = Math.min(inhibitAnyPolicy, policy.inhibitAnyPolicy);
  }
  // §6.1.5 (a)(b); (g) with user-initial-policy-set {anyPolicy} leaves the tree as it is.
  if (explicitPolicy > 0) explicitPolicy--;
  if (path[n - 1]?.policy.requireExplicitPolicy === 0) explicitPolicy = 0;
  return explicitPolicy > 0 || tree !== null ? null : NO_VALID_POLICY;
}
