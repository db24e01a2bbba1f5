/**
 * Parsers of the CLI's option values, for commander's `Option.argParser`. Each one throws
 * commander's `InvalidArgumentError` with the accepted values, so a bad option is refused while
 * argv is parsed, before any command body runs (reads a config, connects, writes a file), as one
 * line naming the option:
 *
 *   pgvigil: option '--api-port <port>' argument 'abc' is invalid. Expected an integer in 1..65535.
 */
import { InvalidArgumentError, Option } from 'commander';

import { NAME_PATTERN } from '../config/schema.js';
import { DEFAULT_LOCAL_DIR } from '../local/state.js';

/** The highest TCP port. */
export const PORT_MAX = 65_535;
/**
 * Upper bounds of `local up --nodes/--sentinels`: every one is a process on this machine, and a
 * typo (`--nodes 30` for 3) should be refused rather than start thirty PostgreSQL servers.
 */
export const LOCAL_MAX_NODES = 9;
export const LOCAL_MAX_SENTINELS = 9;

/** A parser of whole decimal integers in `min..max` (no `1e3`, `0x10`, `2.5` or blanks). */
export function intIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`Expected an integer in ${min}..${max}.`);
    return n;
  };
}

/** A parser of one of the integers `values` (shown as commander's choices in --help too). */
export function intChoice(values: readonly number[]): (value: string) => number {
  return (value) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || !values.includes(n))
      throw new InvalidArgumentError(`Allowed choices are ${values.join(', ')}.`);
    return n;
  };
}

/** A cluster or node name as the config spells it (`NAME_PATTERN`). */
export function configName(value: string): string {
  if (!NAME_PATTERN.test(value))
    throw new InvalidArgumentError(
      `Expected a name matching ${String(NAME_PATTERN)} (lower case, digits, _ and -).`,
    );
  return value;
}

/** Any text but an empty one (ids, directories, reasons). */
export function nonEmpty(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('Expected a non-empty value.');
  return value;
}

/** What `events --since` accepts: `0` (everything) or a Redis stream id such as 1700000000000-0. */
export function streamId(value: string): string {
  if (!/^(0|\d+(-\d+)?)$/.test(value))
    throw new InvalidArgumentError('Expected 0 or a stream id such as 1700000000000-0.');
  return value;
}

/** `flags` with an integer range; the range is also appended to the help text. */
export function intOption(flags: string, description: string, min: number, max: number): Option {
  return new Option(flags, `${description} (${min}..${max})`).argParser(intIn(min, max));
}

/** `flags` taking one of the integers `values` (listed as choices in --help). */
export function intChoiceOption(
  flags: string,
  description: string,
  values: readonly number[],
): Option {
  return new Option(flags, description).choices(values.map(String)).argParser(intChoice(values));
}

/** `flags` taking a config name (cluster, node). */
export function nameOption(flags: string, description: string): Option {
  return new Option(flags, description).argParser(configName);
}

/** `--dir <dir>` of the local cluster commands. */
export function dirOption(description: string): Option {
  return new Option('--dir <dir>', description).default(DEFAULT_LOCAL_DIR).argParser(nonEmpty);
}
