/**
 * DER values that CRLs and OCSP responses carry and certificates do not need read this way:
 * small INTEGER/ENUMERATED values (versions, statuses, reason codes), serial numbers as comparison
 * keys, cRLNumbers as numbers, and BIT STRINGs without unused bits. Every failure is the same
 * `certificate_malformed` error x509/der.ts raises.
 */
import { malformed, type Tlv } from '../../x509/der.js';

/** A small non-negative INTEGER or ENUMERATED value. */
export function readSmall(buf: Buffer, tlv: Tlv): number {
  const length = tlv.end - tlv.valueStart;
  if (length < 1 || length > 4 || (buf[tlv.valueStart]! & 0x80) !== 0) throw malformed('unexpected integer value');
  let value = 0;
  for (let i = tlv.valueStart; i < tlv.end; i++) value = value * 256 + buf[i]!;
  return value;
}

/**
 * An INTEGER as a comparison key: positive values without leading zero octets, so that a
 * non-minimal encoding (seen in the wild) still matches; negative ones (also seen) kept as is.
 */
export function integerKey(buf: Buffer, tlv: Tlv): string {
  let start = tlv.valueStart;
  const end = tlv.end;
  if (end <= start) throw malformed('empty INTEGER');
  if ((buf[start]! & 0x80) !== 0) return `-${buf.toString('hex', start, end)}`;
  while (start < end - 1 && buf[start] === 0) start++;
  return buf.toString('hex', start, end);
}

/** A non-negative INTEGER of up to 32 octets as a bigint; every negative one is -1. */
export function integerBig(buf: Buffer, tlv: Tlv): bigint {
  if (tlv.end - tlv.valueStart > 32) throw malformed('INTEGER too large');
  const key = integerKey(buf, tlv);
  return key.startsWith('-') ? -1n : BigInt(`0x${key}`);
}

/** The bits of a BIT STRING with no unused bits (signatures, keys). */
export function readBits(buf: Buffer, tlv: Tlv): Buffer {
  if (tlv.end <= tlv.valueStart || buf[tlv.valueStart] !== 0) throw malformed('BIT STRING with unused bits');
  return buf.subarray(tlv.valueStart + 1, tlv.end);
}
