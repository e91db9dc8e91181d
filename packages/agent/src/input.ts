import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { credentialError } from './errors.js';

/** A value that is either a path to a file or the content itself. */
export interface ReadInput {
  /** The bytes. */
  data: Buffer;
  /** How to name it in messages: `file "/abs/path"` or `the cert option (PEM)`. */
  label: string;
  /** The absolute path when it came from a file. */
  path: string | undefined;
}

/**
 * Read an option that is a path or content. For PEM options a string containing `-----BEGIN` is
 * content, any other string is a path; a Buffer is always content. For `pfx` a string is a path.
 */
export function readInput(option: string, value: unknown, kind: 'pem' | 'pfx'): ReadInput {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return {
      data: Buffer.from(value),
      label: `the ${option} option (${kind === 'pfx' ? 'PKCS#12 bytes' : 'Buffer'})`,
      path: undefined,
    };
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw credentialError(
      'credential_unreadable',
      `option "${option}" must be a file path or ${kind === 'pfx' ? 'a Buffer' : 'PEM text or a Buffer'}`,
    );
  }
  if (kind === 'pem' && value.includes('-----BEGIN')) {
    return { data: Buffer.from(value, 'utf8'), label: `the ${option} option (PEM)`, path: undefined };
  }
  const path = resolve(value);
  try {
    return { data: readFileSync(path), label: `file "${path}"`, path };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why =
      code === 'ENOENT'
        ? 'does not exist'
        : code === 'EACCES'
          ? 'is not readable (permission denied)'
          : code === 'EISDIR'
            ? 'is a directory'
            : `cannot be read (${code})`;
    throw credentialError('credential_unreadable', `${option} file "${path}" ${why}`, error);
  }
}
