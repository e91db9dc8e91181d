/**
 * Assertions about the library's typed errors, shared by the core unit tests: a thrown
 * `ClientCertError` is checked by its `code`, which is the library's contract (messages may change).
 */
import { expect } from 'chai';
import { ClientCertError, isClientCertError } from '../../packages/core/src/errors.js';

/** Runs `fn` and expects it to throw a `ClientCertError` with this `code`; returns the error. */
export function expectClientCertError(fn: () => unknown, code: string): ClientCertError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(isClientCertError(thrown), String(thrown)).to.equal(true);
  expect((thrown as { code: string }).code).to.equal(code);
  return thrown as ClientCertError;
}

/** The message of the `invalid_option` error `fn` throws. */
export function optionError(fn: () => unknown): string {
  return expectClientCertError(fn, 'invalid_option').message;
}

/** Runs `fn`, expects it to throw an instance of the core's `ClientCertError` class, and returns it. */
export function thrown(fn: () => unknown): ClientCertError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ClientCertError);
    return error as ClientCertError;
  }
  expect.fail('expected a ClientCertError');
}
