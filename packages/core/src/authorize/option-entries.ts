import { stringList } from '../validate.js';

/** One entry of a string-or-list option, with the path that names it in an error. */
export interface OptionEntry {
  readonly value: string;
  readonly option: string;
}

/**
 * A non-empty string or list of them (validate.ts's `stringList`), each entry with its own option
 * path (`rules.san.dns[1]`), so that an entry refused later by its kind's syntax check is named exactly.
 */
export function optionEntries(value: unknown, option: string): OptionEntry[] {
  const list = stringList(value, option);
  if (typeof value === 'string') return [{ value: list[0]!, option }];
  return list.map((entry, index) => ({ value: entry, option: `${option}[${index}]` }));
}
