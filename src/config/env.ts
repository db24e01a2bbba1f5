/**
 * Environment overrides: `PGVIGIL_` + the key path in UPPER_SNAKE, segments joined by `__`.
 *
 *   PGVIGIL_TIMING__DOWN_AFTER_MS=2000                 timing.downAfterMs
 *   PGVIGIL_COORDINATION__REDIS=redis://a:1,redis://b:2 a list, comma-separated
 *   PGVIGIL_CLUSTERS__MAIN__PASSWORD=...               clusters[name=main].password
 *   PGVIGIL_CLUSTERS__0__NODES__PG2__PRIORITY=5         by index or by name (`pg-2` -> PG_2)
 *
 * The key names are read from the schema itself, so a new key is overridable at once and a
 * misspelt variable is an error instead of a silently ignored setting. Values stay strings
 * here; the schema coerces them.
 */
import { z } from 'zod';

import { type ConfigIssue, envName, RawConfigSchema, SECRET_PAIRS, upperSnake } from './schema.js';

export const ENV_PREFIX = 'PGVIGIL_';
/**
 * `PGVIGIL_` variables that are not config keys (used by the CLI and the test harness).
 * Everything else under the prefix must name a config key.
 */
export const NON_CONFIG_ENV: ReadonlySet<string> = new Set(['PGVIGIL_CONFIG', 'PGVIGIL_DEBUG']);
const NON_CONFIG_ENV_PREFIXES = ['PGVIGIL_TEST_', 'PGVIGIL_LOCAL_'];

export function isConfigEnvName(name: string): boolean {
  return (
    name.startsWith(ENV_PREFIX) &&
    !NON_CONFIG_ENV.has(name) &&
    !NON_CONFIG_ENV_PREFIXES.some((p) => name.startsWith(p))
  );
}

// ---------------------------------------------------------------------------------------------
// Reading the schema's shape

type Shape =
  | { kind: 'object'; keys: Record<string, z.ZodType> }
  | { kind: 'array'; element: z.ZodType }
  | { kind: 'leaf' };

/** What a schema holds once defaults, optionals, pipes and transforms are looked through. */
export function shapeOf(schema: z.ZodType): Shape {
  if (schema instanceof z.ZodObject)
    return { kind: 'object', keys: schema.shape as Record<string, z.ZodType> };
  if (schema instanceof z.ZodArray) {
    const el = shapeOf(schema.element as z.ZodType);
    return el.kind === 'object'
      ? { kind: 'array', element: schema.element as z.ZodType }
      : { kind: 'leaf' };
  }
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodNullable
  )
    return shapeOf(schema.def.innerType as z.ZodType);
  if (schema instanceof z.ZodPipe) return shapeOf(schema.def.in as z.ZodType);
  if (schema instanceof z.ZodUnion) {
    // A union of a section and a string would be ambiguous; ours are leaf unions (number|string).
    const shapes = (schema.def.options as z.ZodType[]).map(shapeOf);
    return shapes.find((s) => s.kind !== 'leaf') ?? { kind: 'leaf' };
  }
  return { kind: 'leaf' };
}

/** Known keys of the section at `path` (numbers are array indexes), for error messages. */
export function knownKeysAt(path: readonly PropertyKey[]): string[] | undefined {
  let shape = shapeOf(RawConfigSchema);
  for (const seg of path) {
    if (shape.kind === 'object' && typeof seg === 'string' && shape.keys[seg])
      shape = shapeOf(shape.keys[seg]);
    else if (shape.kind === 'array' && typeof seg === 'number') shape = shapeOf(shape.element);
    else return undefined;
  }
  return shape.kind === 'object' ? Object.keys(shape.keys) : undefined;
}

// ---------------------------------------------------------------------------------------------
// dotenv-style secrets file

/** `KEY=value` lines; `#` comments, blank lines, `export `, and quoted values are accepted. */
export function parseDotenv(
  text: string,
  label: string,
): { vars: Record<string, string>; issues: ConfigIssue[] } {
  const vars: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(l);
    if (!m?.[1] || m[2] === undefined) {
      issues.push({ path: `${label} line ${i + 1}`, message: 'expected PGVIGIL_NAME=value' });
      return;
    }
    const key = m[1];
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'") && value.length >= 2 && value.endsWith(q))
      value = value.slice(1, -1);
    if (!isConfigEnvName(key) || key === `${ENV_PREFIX}SECRETS_FILE`) {
      issues.push({
        path: `${label} line ${i + 1}`,
        message: `${key} is not a PGVIGIL_ config key`,
      });
      return;
    }
    vars[key] = value;
  });
  return { vars, issues };
}

// ---------------------------------------------------------------------------------------------
// Applying variables to the raw (unvalidated) config object

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fmt(path: readonly (string | number)[]): string {
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Setting one source of a secret (value or file) drops the other, so the newer layer wins. */
export function setWithSecretSibling(target: Obj, key: string, value: unknown): void {
  target[key] = value;
  for (const [a, b] of SECRET_PAIRS) {
    if (key === a) delete target[b];
    if (key === b) delete target[a];
  }
}

/**
 * Applies every config variable of `vars` to `raw` (mutated). Returns problems, each naming
 * the variable, and records which config path each variable set (for later error messages).
 */
export function applyEnv(
  raw: Obj,
  vars: Readonly<Record<string, string | undefined>>,
  setBy: Map<string, string>,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(vars).filter(isConfigEnvName).sort()) {
    const value = vars[name];
    if (value === undefined) continue;
    const problem = applyOne(raw, name, value, setBy);
    if (problem) issues.push({ path: name, message: problem });
  }
  return issues;
}

function applyOne(
  raw: Obj,
  name: string,
  value: string,
  setBy: Map<string, string>,
): string | undefined {
  const segs = name.slice(ENV_PREFIX.length).split('__');
  let shape = shapeOf(RawConfigSchema);
  let target: unknown = raw;
  const path: (string | number)[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const last = i === segs.length - 1;
    const here = path.length ? fmt(path) : 'the top level';
    if (shape.kind === 'object') {
      const key = Object.keys(shape.keys).find((k) => upperSnake(k) === seg);
      const keySchema = key === undefined ? undefined : shape.keys[key];
      if (key === undefined || keySchema === undefined) {
        const known = Object.keys(shape.keys).map(upperSnake).join(', ');
        return `no key ${seg} in ${here} (known: ${known})`;
      }
      const child = shapeOf(keySchema);
      path.push(key);
      if (!isObj(target)) return `${fmt(path.slice(0, -1))} in the file is not a section`;
      if (last) {
        if (child.kind !== 'leaf')
          return child.kind === 'array'
            ? `${fmt(path)} is a list: set the keys of one item, e.g. ${name}__<NAME or INDEX>__<KEY>`
            : `${fmt(path)} is a section: set its keys, e.g. ${name}__<KEY>`;
        setWithSecretSibling(target, key, value);
        setBy.set(fmt(path), name);
        return undefined;
      }
      if (child.kind === 'object' && target[key] === undefined) target[key] = {};
      target = target[key];
      shape = child;
    } else if (shape.kind === 'array') {
      const items = Array.isArray(target) ? target : [];
      const byName = items.findIndex(
        (it) => isObj(it) && typeof it.name === 'string' && envName(it.name) === seg,
      );
      const byIndex = /^\d+$/.test(seg) && Number(seg) < items.length ? Number(seg) : -1;
      if (byName >= 0 && byIndex >= 0 && byName !== byIndex)
        return `${seg} is ambiguous in ${here}: both the item named so and item ${byIndex}`;
      const idx = byName >= 0 ? byName : byIndex;
      if (idx < 0) {
        const have = items.map((it, j) =>
          isObj(it) && typeof it.name === 'string' ? envName(it.name) : String(j),
        );
        return `no item ${seg} in ${here} (address an item by name or index: ${have.join(', ') || 'none defined'})`;
      }
      path.push(idx);
      if (last) return `${fmt(path)} is a section: set its keys, e.g. ${name}__<KEY>`;
      target = items[idx];
      shape = shapeOf(shape.element);
    } else {
      return `${fmt(path)} is a value, not a section`;
    }
  }
  return 'empty variable name';
}

/**
 * Deep merge for `overrides`: sections merge; a list of named sections (clusters, nodes) is
 * the override's list, each item merged onto the base item of the same name; other lists and
 * values replace.
 */
export function mergeOverrides(base: Obj, over: unknown): void {
  if (!isObj(over)) return;
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const cur = base[k];
    if (isObj(v) && isObj(cur)) mergeOverrides(cur, v);
    else if (Array.isArray(v) && Array.isArray(cur))
      setWithSecretSibling(base, k, mergeNamedList(cur, v));
    else
      setWithSecretSibling(base, k, typeof v === 'object' && v !== null ? structuredClone(v) : v);
  }
}

function mergeNamedList(cur: readonly unknown[], over: readonly unknown[]): unknown[] {
  return over.map((item) => {
    const same =
      isObj(item) && typeof item.name === 'string'
        ? cur.find((c) => isObj(c) && c.name === item.name)
        : undefined;
    if (!isObj(same))
      return typeof item === 'object' && item !== null ? structuredClone(item) : item;
    const merged = structuredClone(same);
    mergeOverrides(merged, item);
    return merged;
  });
}
