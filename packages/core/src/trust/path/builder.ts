/**
 * Path building: a depth-first search from the leaf towards the trust anchors over the
 * certificates of one call, bounded in work (see `MAX_DEPTH`, `MAX_SIGNATURE_CHECKS`,
 * `MAX_PATH_STEPS`), with the checks of checks.ts applied as each certificate joins the path and
 * the failure of the path that got furthest kept for the report.
 */
import type { CertificateFacts } from '../../x509/extensions.js';
import type { CertificateRecord } from '../../x509/facts.js';
import { signatureVerifies } from '../../x509/signature.js';
import {
  type Checks,
  certificateProblem,
  keyProblem,
  Order,
  type Problem,
  problem,
  type VerifyFailureCode,
  validityProblem,
} from './checks.js';
import {
  BUDGET_EXHAUSTED,
  ComparisonBudget,
  checkNameConstraints,
  MAX_CONSTRAINT_COMPARISONS,
} from './name-constraints.js';
import { processPolicies } from './policies.js';

/** Most certificates above the leaf in one path (the anchor included). */
export const MAX_DEPTH = 8;
/** Most signature verifications in one call (Go allows 100); results are cached across calls. */
export const MAX_SIGNATURE_CHECKS = 100;
/** Most path extensions tried in one call. */
export const MAX_PATH_STEPS = 1000;

// ---------------------------------------------------------------------------------------------
// Signatures, remembered on the child's record across calls

/**
 * Whether `issuer`'s key verifies `child`'s signature (x509/signature.ts); remembered, since both
 * are immutable. Only for an issuer whose key the policy accepted (`keyProblem`): loading the key
 * (`record.publicKey`) is the first thing OpenSSL does with it.
 */
function verifySignature(child: CertificateRecord, issuer: CertificateRecord): boolean {
  const valid = signatureVerifies(child, issuer);
  child.rememberSignature(issuer, valid);
  return valid;
}

// ---------------------------------------------------------------------------------------------
// The search

/** A distinct certificate (by SHA-256) of this call: the leaf, an intermediate, or an anchor. */
export interface PathNode {
  /** The certificate's record (x509/facts.ts): its key, and the signatures it was checked against. */
  readonly record: CertificateRecord;
  readonly facts: CertificateFacts;
  readonly anchor: boolean;
  /** Subject and key: RFC 4158 §5.2 loop detection allows each pair once per path. */
  readonly identity: string;
}

/**
 * A failed path. `rank` says how far it got: paths that reached an anchor rank above those that
 * did not, then by the `Order` of the failed check. Among equal ranks the first found is kept:
 * candidates are tried nearest-to-an-anchor first, so that is the shortest path, not a detour
 * through a cross-signed cycle.
 */
interface Failure {
  readonly code: VerifyFailureCode;
  readonly message: string;
  readonly rank: number;
}

/** Added to the rank of failures on paths that reached an anchor. */
const COMPLETE = 1_000_000;

function failure(found: Problem, depth: number, rank: number): Failure {
  return { code: found.code, message: `certificate at depth ${depth} ${found.text}`, rank };
}

/** Node indexes by a name key. */
function indexBy(nodes: readonly PathNode[], key: (node: PathNode) => string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  nodes.forEach((node, i) => {
    const name = key(node);
    if (name === '') return; // an empty name never identifies an issuer (§4.1.2.4, §4.1.2.6)
    const list = index.get(name);
    if (list === undefined) index.set(name, [i]);
    else list.push(i);
  });
  return index;
}

/**
 * Fewest certificates from each node to an anchor by name matching alone (breadth-first from
 * the anchors). A lower bound on any real path, so pruning with it never loses a path; nodes
 * that cannot reach an anchor get Infinity and are never tried.
 */
function distancesToAnchors(nodes: readonly PathNode[]): number[] {
  const byIssuer = indexBy(nodes, (node) => node.facts.issuer.key);
  const distance = nodes.map((node) => (node.anchor ? 0 : Infinity));
  const queue = nodes.flatMap((node, i) => (node.anchor ? [i] : []));
  for (let head = 0; head < queue.length; head++) {
    const issuer = queue[head]!;
    for (const child of byIssuer.get(nodes[issuer]!.facts.subject.key) ?? []) {
      if (distance[child] !== Infinity) continue;
      distance[child] = distance[issuer]! + 1;
      queue.push(child);
    }
  }
  return distance;
}

/**
 * Depth-first search for a path from the leaf (node 0) to an anchor that passes every check.
 * Checks that depend on one certificate run when it joins the path; path length and name
 * constraints when the constraining CA joins (against the certificates below it); policies and
 * the leaf's own checks when an anchor completes the path.
 */
export class PathBuilder {
  /** The failure to report: the furthest-reaching one about a certificate proven to be under an anchor. */
  best: Failure | null = null;
  /** The furthest-reaching failure about a certificate not so proven: for `reason` only. */
  unproven: Failure | null = null;
  exhausted = false;
  /** Issuer candidates (by name) whose key did not verify the signature. */
  badSignatures = 0;
  private readonly path: number[] = [0];
  private readonly onPath: Uint8Array;
  private readonly identities = new Set<string>();
  private readonly bySubject: Map<string, number[]>;
  private readonly distance: number[];
  private readonly candidateLists = new Map<number, number[]>();
  private readonly problems = new Map<number, Problem | null>();
  private readonly keyProblems = new Map<number, Problem | null>();
  /** Nodes proven, by verified signatures, to be issued under an anchor. */
  private readonly proven = new Set<number>();
  private readonly constraintResults = new Map<number, string | null>();
  private readonly budget = new ComparisonBudget();
  private leafProblem: Problem | null | undefined;
  /** Set once a failure that no other path can avoid (the leaf's own) is found. */
  private settled = false;
  private signatureChecks = 0;
  private steps = 0;

  constructor(
    private readonly nodes: readonly PathNode[],
    private readonly checks: Checks,
  ) {
    this.onPath = new Uint8Array(nodes.length);
    this.onPath[0] = 1;
    this.bySubject = indexBy(nodes, (node) => node.facts.subject.key);
    this.distance = distancesToAnchors(nodes);
  }

  /** Whether any sequence of names leads from the leaf to an anchor. */
  get named(): boolean {
    return this.distance[0] !== Infinity;
  }

  /** A passing path as node indexes (leaf first), or null. */
  run(): number[] | null {
    return this.named ? this.extend() : null;
  }

  /** A failure about a certificate proven to be under an anchor (or an anchor whose key verified). */
  private record(found: Failure): void {
    if (this.best === null || found.rank > this.best.rank) this.best = found;
  }

  private recordUnproven(found: Failure): void {
    if (this.unproven === null || found.rank > this.unproven.rank) this.unproven = found;
  }

  private extend(): number[] | null {
    const depth = this.path.length; // depth of the certificate being added
    const child = this.path[depth - 1]!;
    for (const candidate of this.candidatesOf(child)) {
      const node = this.nodes[candidate]!;
      if (this.onPath[candidate] === 1 || this.identities.has(node.identity)) continue;
      if (depth + this.distance[candidate]! > MAX_DEPTH) continue;
      if (++this.steps > MAX_PATH_STEPS) {
        this.exhausted = true;
        return null;
      }
      const refusedKey = this.keyProblemOf(candidate);
      if (refusedKey !== null) {
        // Its key is never used, so nothing proves it issued the child: the failure is only a reason.
        this.recordUnproven(failure(refusedKey, depth, refusedKey.order));
        continue;
      }
      if (!this.issued(child, candidate)) {
        if (this.exhausted) return null;
        continue;
      }
      const rejected = this.admit(candidate, depth);
      if (rejected !== null) {
        // Told to the client only when the candidate is really under an anchor: otherwise the
        // search reached it because its issuer's name is configured, and saying so would tell.
        if (this.underAnchor(candidate, depth)) this.record(rejected);
        else this.recordUnproven(rejected);
        if (this.exhausted) return null;
        continue;
      }
      this.push(candidate);
      const found = node.anchor ? this.complete() : this.extend();
      if (found !== null) return found;
      this.pop(candidate);
      if (this.exhausted || this.settled) return null;
    }
    return null;
  }

  private push(index: number): void {
    this.path.push(index);
    this.onPath[index] = 1;
    this.identities.add(this.nodes[index]!.identity);
  }

  private pop(index: number): void {
    this.path.pop();
    this.onPath[index] = 0;
    this.identities.delete(this.nodes[index]!.identity);
  }

  /**
   * Issuer candidates of a node: certificates whose subject is its issuer and that can reach an
   * anchor, anchors first, then nearest to an anchor, matching key identifier, currently valid.
   */
  private candidatesOf(child: number): number[] {
    let list = this.candidateLists.get(child);
    if (list === undefined) {
      const facts = this.nodes[child]!.facts;
      const rank = (index: number): number[] => {
        const node = this.nodes[index]!;
        const keyIdMatch = facts.authorityKeyId !== null && facts.authorityKeyId === node.facts.subjectKeyId;
        return [
          this.distance[index]!,
          keyIdMatch ? 0 : 1,
          validityProblem(node.record, this.checks) === null ? 0 : 1,
          index,
        ];
      };
      const ranked = (this.bySubject.get(facts.issuer.key) ?? [])
        .filter((index) => index !== child && this.distance[index] !== Infinity)
        .map((index) => ({ index, rank: rank(index) }));
      ranked.sort((a, b) => compareRanks(a.rank, b.rank));
      list = ranked.map(({ index }) => index);
      this.candidateLists.set(child, list);
    }
    return list;
  }

  /**
   * Whether `issuer` signed `child`, verifying at most MAX_SIGNATURE_CHECKS signatures per call.
   * Only for an issuer whose key passed `keyProblemOf`.
   */
  private issued(child: number, issuer: number): boolean {
    const childRecord = this.nodes[child]!.record;
    const issuerRecord = this.nodes[issuer]!.record;
    let valid = childRecord.signatureBy(issuerRecord);
    if (valid === undefined) {
      if (++this.signatureChecks > MAX_SIGNATURE_CHECKS) {
        this.exhausted = true;
        return false;
      }
      valid = verifySignature(childRecord, issuerRecord);
    }
    if (!valid) this.badSignatures++;
    return valid;
  }

  /** Why the policy refuses a node's key (checked before the key is used for anything), or null. */
  private keyProblemOf(index: number): Problem | null {
    let found = this.keyProblems.get(index);
    if (found === undefined) {
      found = keyProblem(this.nodes[index]!.facts, this.checks.policy);
      this.keyProblems.set(index, found);
    }
    return found;
  }

  /**
   * Whether the node at `depth` is an anchor or is issued under one through verified signatures
   * (by keys the policy accepts): a search upwards that checks signatures only, within the
   * call's limits. Decides whether a failure about the node may be reported.
   */
  private underAnchor(index: number, depth: number, visited = new Set<number>()): boolean {
    if (this.nodes[index]!.anchor || this.proven.has(index)) return true;
    visited.add(index);
    for (const parent of this.candidatesOf(index)) {
      if (visited.has(parent) || depth + 1 + this.distance[parent]! > MAX_DEPTH) continue;
      if (++this.steps > MAX_PATH_STEPS) {
        this.exhausted = true;
        return false;
      }
      if (this.keyProblemOf(parent) !== null) continue;
      if (this.issued(index, parent) && this.underAnchor(parent, depth + 1, visited)) {
        this.proven.add(index);
        return true;
      }
      if (this.exhausted) return false;
    }
    return false;
  }

  /** The checks a CA must pass to join the path at `depth`, or null when it may. */
  private admit(candidate: number, depth: number): Failure | null {
    const node = this.nodes[candidate]!;
    const own = this.issuerProblem(candidate);
    if (own !== null) return failure(own, depth, own.order);
    const pathLength = this.pathLengthProblem(node.facts, depth);
    if (pathLength !== null) return failure(pathLength, depth, pathLength.order);
    return this.constraintFailure(candidate, depth);
  }

  private issuerProblem(index: number): Problem | null {
    let found = this.problems.get(index);
    if (found === undefined) {
      const node = this.nodes[index]!;
      found = certificateProblem(node.record, node.facts, node.anchor ? 'anchor' : 'intermediate', this.checks);
      this.problems.set(index, found);
    }
    return found;
  }

  /**
   * §6.1.4 (l)(m): a CA's pathLenConstraint bounds the non-self-issued intermediates below it
   * (the leaf is not counted, §4.2.1.9).
   */
  private pathLengthProblem(facts: CertificateFacts, depth: number): Problem | null {
    const limit = facts.basicConstraints?.ca === true ? facts.basicConstraints.pathLength : null;
    if (limit === null) return null;
    let count = 0;
    for (let j = 1; j < depth; j++) if (!this.nodes[this.path[j]!]!.facts.selfIssued) count++;
    return count <= limit
      ? null
      : problem(
          'path_length_exceeded',
          'has more intermediate CA certificates below it than its path length constraint allows',
          Order.pathLength,
        );
  }

  /**
   * §6.1.3 (b)(c): the name constraints of the CA joining at `depth` apply to every certificate
   * below it, except self-issued intermediates. Results are cached per pair of certificates.
   */
  private constraintFailure(candidate: number, depth: number): Failure | null {
    const constraints = this.nodes[candidate]!.facts.nameConstraints;
    if (constraints === null) return null;
    for (let j = 0; j < depth; j++) {
      const below = this.path[j]!;
      if (j > 0 && this.nodes[below]!.facts.selfIssued) continue;
      const key = candidate * this.nodes.length + below;
      let reason = this.constraintResults.get(key);
      if (reason === undefined) {
        reason = checkNameConstraints(constraints, this.nodes[below]!.facts, this.budget);
        this.constraintResults.set(key, reason);
      }
      if (reason === BUDGET_EXHAUSTED) {
        // Refused, not computed: no later path may spend more, and the search ends here.
        this.exhausted = true;
        const found = problem(
          'name_constraints',
          `has too many names for the name constraints of the certificate at depth ${depth}: ` +
            `too complex to check (more than ${MAX_CONSTRAINT_COMPARISONS} name comparisons)`,
          Order.nameConstraints,
        );
        return failure(found, j, found.order);
      }
      if (reason !== null) {
        const found = problem(
          'name_constraints',
          `violates the name constraints of the certificate at depth ${depth}: ${reason}`,
          Order.nameConstraints,
        );
        return failure(found, j, found.order);
      }
    }
    return null;
  }

  /** The path reaches an anchor: the leaf's own checks, then policy processing. */
  private complete(): number[] | null {
    const leaf = this.nodes[0]!;
    this.leafProblem ??= certificateProblem(leaf.record, leaf.facts, 'leaf', this.checks);
    if (this.leafProblem !== null) {
      // Path-independent: every other complete path would fail the same way.
      this.record(failure(this.leafProblem, 0, COMPLETE + this.leafProblem.order));
      this.settled = true;
      return null;
    }
    const below = this.path
      .slice(0, -1)
      .reverse()
      .map((index) => this.nodes[index]!.facts);
    const policy = processPolicies(below);
    if (policy !== null) {
      const message = `certification path fails policy processing: ${policy}`;
      this.record({ code: 'invalid_policy', message, rank: COMPLETE + Order.policy });
      return null;
    }
    return [...this.path];
  }
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}
