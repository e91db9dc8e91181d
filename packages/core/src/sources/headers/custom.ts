/** A custom decoder: the application's own format, its output held to the same DER framing and limits. */
import { checkDer, type Decoded } from './decode.js';
import { forwardedHeaderError, isForwardedHeaderError } from './errors.js';
import type { CompiledHeaderSource, CustomHeaderDecoder } from './types.js';

export function decodeCustom(source: CompiledHeaderSource, value: string): Decoded | undefined {
  const { header, limits } = source;
  let result: ReturnType<CustomHeaderDecoder>;
  try {
    result = source.decode!(value);
  } catch (error) {
    // The decoder's own message may quote the header: keep it as the cause, out of the message.
    throw isForwardedHeaderError(error) ? error : forwardedHeaderError(header, 'the custom decoder failed', error);
  }
  if (result === undefined || result === null) return undefined;
  const list = Array.isArray(result) ? result : [result];
  if (list.length === 0) return undefined;
  if (list.length > limits.maxChainLength + 1) {
    throw forwardedHeaderError(
      header,
      `more than maxChainLength (${limits.maxChainLength}) certificates besides the leaf`,
    );
  }
  const ders = list.map((item, index) => {
    if (!(item instanceof Uint8Array))
      throw forwardedHeaderError(header, `the custom decoder returned a non-Buffer for certificate ${index + 1}`);
    const der = Buffer.isBuffer(item) ? item : Buffer.from(item.buffer, item.byteOffset, item.byteLength);
    return checkDer(header, der, index);
  });
  const [leaf, ...chain] = ders;
  return { leaf: leaf!, chain };
}
