/** Assertions about `verifyChain` results, shared by the verification and path-validation tests. */
import { expect } from 'chai';
import type { TestCertificate } from '../../packages/core/src/testkit/index.js';
import type { VerifyChainResult } from '../../packages/core/src/trust/path/verify.js';

/** Expects success and, when `path` is given, exactly that chain (leaf first, anchor last). */
export function expectOk(result: VerifyChainResult, path?: TestCertificate[]): void {
  if (!result.ok) expect.fail(`expected success, got ${result.code}: ${result.message}`);
  if (path) expect(result.chain.map((c) => c.fingerprint256)).to.deep.equal(path.map((c) => c.x509.fingerprint256));
}

/** Expects failure with `code` and, when given, a message equal to the string or matching the RegExp. */
export function expectFailure(result: VerifyChainResult, code: string, message?: string | RegExp): void {
  if (result.ok) expect.fail(`expected ${code}, got success`);
  expect(result.code, result.message).to.equal(code);
  if (typeof message === 'string') expect(result.message).to.equal(message);
  else if (message) expect(result.message).to.match(message);
}
