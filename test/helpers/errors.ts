/**
 * Assertions about the library's typed errors, shared by the core unit tests: a thrown
 * `ClientCertError` is checked by its `code`, which is the library's contract (messages may change).
 */
import { expect } from 'chai';
import { isClientCertError } from '../../packages/core/src/errors.js';

/** Runs `fn` and expects it to throw a `ClientCertError` with this `code`. */
export function expectClientCertError(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isClientCertError(thrown), String(thrown)).to.equal(true);
  expect((thrown as { code: string }).code).to.equal(code);
}
