/**
 * Loads the config: file -> secretsFile -> environment -> overrides (each layer above the
 * previous one), then the schema (types, defaults), then secret files, then cross-field rules.
 * The result is deep-frozen. Any problem is one `ConfigError` line naming the key:
 *
 *   invalid config /etc/pgvigil.yaml: clusters[0].quorum: quorum 1 is not a majority of ...
 *
 * `postgresSecrets: false` loads a `CoordinationConfig` for the commands that talk only to
 * Redis: the PostgreSQL passwords are neither read nor required; everything else is the same.
 */
import fs from 'node:fs';
import path from 'node:path';

import YAML from 'yaml';
import type { z } from 'zod';

import { ConfigError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import { applyEnv, ENV_PREFIX, knownKeysAt, mergeOverrides, parseDotenv } from './env.js';
import { crossFieldIssues, postgresSecretIssues } from './rules.js';
import {
  type ConfigIssue,
  type DeepPartialRaw,
  envName,
  type ParsedConfig,
  RawConfigSchema,
} from './schema.js';
import type { ClusterConfig, ClusterSettings, Config, CoordinationConfig } from './types.js';

export { formatConfigForDisplay, redactConfig } from './display.js';
export type { DeepPartialRaw } from './schema.js';

export interface LoadConfigOptions {
  /** the YAML file; without one, only defaults, environment and overrides count */
  file?: string;
  /** defaults to process.env */
  env?: NodeJS.ProcessEnv;
  /** programmatic overrides (tests, `local up`), above the environment; lists replace */
  overrides?: DeepPartialRaw;
  /**
   * Default true: read every PostgreSQL password (`clusters[].password`/`passwordFile`,
   * `replication.password`/`passwordFile`, from the file, secretsFile or environment) and refuse
   * a cluster without one; `sentinel` and `agent` need them. `false`: neither read nor require
   * them (a passwordFile is not even opened), for the commands that only talk to Redis (`status`,
   * `events`, `pause`, `resume`, the intents), so an operator runs them without the database
   * credentials. The result is then a `CoordinationConfig`, whose clusters have no password
   * field, so it cannot reach a Postgres adapter. Every other key and rule, the API token and
   * the secretsFile included, is read and checked the same either way.
   */
  postgresSecrets?: boolean;
}

export interface LoadedConfig<C extends CoordinationConfig = Config> {
  config: C;
  /** non-fatal findings (loose secret file modes, secrets written in the file) */
  warnings: string[];
}

export const DEFAULT_CONFIG_PATHS: readonly string[] = [
  'pgvigil.yaml',
  '.pgvigil-local/pgvigil.yaml',
];

/** `explicit`, else `./pgvigil.yaml`, else `.pgvigil-local/pgvigil.yaml` (written by `local up`). */
export function resolveConfigPath(explicit?: string, cwd: string = process.cwd()): string {
  if (explicit) return explicit;
  for (const p of DEFAULT_CONFIG_PATHS) {
    const abs = path.resolve(cwd, p);
    if (fs.existsSync(abs)) return abs;
  }
  throw new ConfigError('no config file: pass --config F or run `pgvigil local up` first');
}

type FullOptions = LoadConfigOptions & { postgresSecrets?: true };
type CoordinationOptions = LoadConfigOptions & { postgresSecrets: false };

export function loadConfig(opts?: FullOptions): Config;
export function loadConfig(opts: CoordinationOptions): CoordinationConfig;
export function loadConfig(opts?: LoadConfigOptions): CoordinationConfig;
export function loadConfig(opts: LoadConfigOptions = {}): CoordinationConfig {
  return loadConfigWithWarnings(opts).config;
}

export function loadConfigWithWarnings(opts?: FullOptions): LoadedConfig;
export function loadConfigWithWarnings(opts: CoordinationOptions): LoadedConfig<CoordinationConfig>;
export function loadConfigWithWarnings(opts?: LoadConfigOptions): LoadedConfig<CoordinationConfig>;
export function loadConfigWithWarnings(
  opts: LoadConfigOptions = {},
): LoadedConfig<CoordinationConfig> {
  const file = opts.file === undefined ? undefined : path.resolve(opts.file);
  const label = file ?? '(no file)';
  const env = opts.env ?? process.env;
  const ctx: LoadContext = {
    baseDir: file ? path.dirname(file) : process.cwd(),
    warnings: [],
    setBy: new Map(),
    fail: (issues) => {
      // a message may quote a value (a Redis URL with its password): never the secret
      throw new ConfigError(redactSecrets(formatIssues(label, issues)));
    },
  };

  const raw = readLayers(file, env, opts.overrides, ctx); // 1.-4.
  const parsed = parseRaw(raw, ctx); // 5.
  if (opts.postgresSecrets === false) {
    const config = resolveConfig(parsed, ctx, null); // 6.
    checkRules(crossFieldIssues(config), ctx); // 7.
    return { config: deepFreeze(config), warnings: ctx.warnings };
  }
  const secretIssues: ConfigIssue[] = [];
  const config = resolveConfig(parsed, ctx, secretReader(ctx, secretIssues)); // 6.
  if (secretIssues.length) ctx.fail(secretIssues);
  checkRules([...crossFieldIssues(config), ...postgresSecretIssues(config)], ctx); // 7.
  return { config: deepFreeze(config), warnings: ctx.warnings };
}

/** What the load steps share. */
interface LoadContext {
  /** relative paths in the file are resolved against this */
  baseDir: string;
  /** non-fatal findings, in the order found */
  warnings: string[];
  /** config path -> the variable (or secretsFile line) that set it, for messages */
  setBy: Map<string, string>;
  /** throw the one-line ConfigError for these issues */
  fail: (issues: ConfigIssue[]) => never;
}

/** The raw value of the layers, each above the previous one: file, secretsFile, environment, overrides. */
function readLayers(
  file: string | undefined,
  env: NodeJS.ProcessEnv,
  overrides: DeepPartialRaw | undefined,
  ctx: LoadContext,
): Obj {
  // 1. the file
  const raw = file ? readYaml(file, ctx.fail) : {};
  warnDirectSecrets(raw, ctx.warnings);
  // 2. secretsFile, below the real environment (overrides first merged for their structure)
  mergeOverrides(raw, overrides);
  applySecretsFile(raw, env, ctx);
  // 3. the environment, 4. programmatic overrides. Overrides were merged before the
  // environment too, so a variable can address a cluster or node that only they define.
  const envIssues = applyEnv(raw, env, ctx.setBy);
  if (envIssues.length) ctx.fail(envIssues);
  mergeOverrides(raw, overrides);
  return raw;
}

/** The `secretsFile` (from the environment or the file): its variables applied onto `raw`. */
function applySecretsFile(raw: Obj, env: NodeJS.ProcessEnv, ctx: LoadContext): void {
  const secretsFile = env[`${ENV_PREFIX}SECRETS_FILE`] ?? pick(raw, 'secretsFile');
  if (secretsFile === undefined) return;
  if (typeof secretsFile !== 'string' || secretsFile.trim() === '')
    ctx.fail([{ path: 'secretsFile', message: 'must be a file path' }]);
  const p = path.resolve(ctx.baseDir, String(secretsFile));
  const text = readSecretFile(p, 'secretsFile', ctx.warnings);
  if (typeof text !== 'string') ctx.fail([text]);
  const { vars, issues } = parseDotenv(text, `secretsFile ${p}`);
  if (issues.length) ctx.fail(issues);
  const envIssues = applyEnv(raw, vars, ctx.setBy);
  if (envIssues.length)
    ctx.fail(envIssues.map((i) => ({ ...i, path: `${i.path} (secretsFile ${p})` })));
}

/** Stage 1 of the schema: types and defaults, or one line naming the first bad key. */
function parseRaw(raw: Obj, ctx: LoadContext): ParsedConfig {
  const parsed = RawConfigSchema.safeParse(raw);
  if (!parsed.success) ctx.fail(zodIssues(parsed.error.issues, raw, ctx.setBy));
  return parsed.data;
}

/**
 * The resolved config: secrets read from their files, node data dirs made absolute. With a
 * `pgSecret` reader the clusters carry their PostgreSQL passwords (its problems land in the
 * reader's issues); with `null` they are skipped and the result is only a `CoordinationConfig`.
 */
function resolveConfig(p: ParsedConfig, ctx: LoadContext, pgSecret: SecretReader): Config;
function resolveConfig(p: ParsedConfig, ctx: LoadContext, pgSecret: null): CoordinationConfig;
function resolveConfig(
  p: ParsedConfig,
  ctx: LoadContext,
  pgSecret: SecretReader | null,
): CoordinationConfig {
  const tokenIssues: ConfigIssue[] = [];
  const secret = secretReader(ctx, tokenIssues);
  const token = secret(p.sentinel.api.token, p.sentinel.api.tokenFile, 'sentinel.api.token');
  const { username, password, passwordFile } = p.coordination;
  const redisPassword = secret(password, passwordFile, 'coordination.password');
  if (tokenIssues.length) ctx.fail(tokenIssues);
  const clusters = p.clusters.map((c, i) => {
    const settings = clusterSettings(c, ctx.baseDir);
    return pgSecret ? withPasswords(settings, c, i, pgSecret) : settings;
  });
  return {
    baseDir: ctx.baseDir,
    sentinels: p.sentinels,
    sentinel: {
      ...(p.sentinel.id === undefined ? {} : { id: p.sentinel.id }),
      ...(p.sentinel.idFile === undefined
        ? {}
        : { idFile: path.resolve(ctx.baseDir, p.sentinel.idFile) }),
      peers: [...p.sentinel.peers],
      api: {
        host: p.sentinel.api.host,
        port: p.sentinel.api.port,
        ...(token === undefined ? {} : { token }),
      },
    },
    coordination: {
      prefix: p.coordination.prefix,
      redis: [...p.coordination.redis],
      ...(username === undefined ? {} : { username }),
      ...(redisPassword === undefined ? {} : { password: redisPassword }),
      ...(p.coordination.tls ? { tls: tlsPaths(p.coordination.tls, ctx.baseDir) } : {}),
    },
    timing: { ...p.timing },
    log: { level: p.log.level },
    agent: {
      keepOldDataDirs: p.agent.keepOldDataDirs,
      runAsUser: p.agent.runAsUser,
      ...(p.agent.pgBinDir === undefined ? {} : { pgBinDir: p.agent.pgBinDir }),
    },
    backup: backupConfig(p.backup, ctx.baseDir),
    clusters,
  };
}

function backupConfig(b: ParsedConfig['backup'], baseDir: string): CoordinationConfig['backup'] {
  const repository = path.resolve(baseDir, b.repository);
  return {
    enabled: b.enabled,
    repository,
    workDir: b.workDir
      ? path.resolve(baseDir, b.workDir)
      : path.join(path.dirname(repository), '.pgvigil-backup'),
    options: { ...b.options },
    retentionFull: b.retentionFull,
    fromStandby: b.fromStandby,
    localOnly: b.localOnly,
    archiveTimeoutS: b.archiveTimeoutS,
    schedule: { ...b.schedule },
  };
}

/** Stage 2 of the schema: the rules that span keys (rules.ts), each naming what set the key. */
function checkRules(issues: ConfigIssue[], ctx: LoadContext): void {
  if (issues.length) ctx.fail(issues.map((i) => withSource(i, ctx.setBy)));
}

/** `secret(value, fileKey, at)`: the value, or the trimmed content of its file; problems go to `issues`. */
type SecretReader = (
  value: string | undefined,
  fileKey: string | undefined,
  at: string,
) => string | undefined;

function secretReader(ctx: LoadContext, issues: ConfigIssue[]): SecretReader {
  return (value, fileKey, at) => {
    if (value !== undefined && fileKey !== undefined) {
      issues.push({ path: at, message: `give ${at} or ${at}File, not both` });
      return undefined;
    }
    if (fileKey === undefined) return value === '' ? undefined : value;
    const abs = path.resolve(ctx.baseDir, fileKey);
    const content = readSecretFile(abs, `${at}File`, ctx.warnings);
    if (typeof content !== 'string') {
      issues.push(content);
      return undefined;
    }
    const v = content.trim();
    if (v === '') issues.push({ path: `${at}File`, message: `${abs} is empty` });
    return v || undefined;
  };
}

type ParsedCluster = ParsedConfig['clusters'][number];

/** A cluster without its PostgreSQL passwords. */
function clusterSettings(c: ParsedCluster, baseDir: string): ClusterSettings {
  const first = c.nodes[0]?.name ?? '';
  const tls = c.tls && tlsPaths(c.tls, baseDir);
  const replTls = c.replication.tls ? tlsPaths(c.replication.tls, baseDir) : tls;
  return {
    name: c.name,
    quorum: c.quorum,
    maxLagOnFailoverBytes: c.maxLagOnFailoverBytes,
    ...(c.preferredPrimary === undefined ? {} : { preferredPrimary: c.preferredPrimary }),
    initialPrimary: c.initialPrimary ?? first,
    database: c.database,
    user: c.user,
    ...(tls ? { tls } : {}),
    replication: {
      mode: c.replication.mode,
      user: c.replication.user,
      maxSlotWalKeepSize: c.replication.maxSlotWalKeepSize,
      dropSlotAfterMs: c.replication.dropSlotAfterMs,
      ...(replTls ? { tls: replTls } : {}),
    },
    nodes: c.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      priority: n.priority,
      noFailover: n.noFailover,
      ...(n.agent === undefined ? {} : { agent: { url: n.agent.url } }),
      ...(n.dataDir === undefined ? {} : { dataDir: path.resolve(baseDir, n.dataDir) }),
    })),
  };
}

/** A tls section with its file paths made absolute (against the config file's directory). */
function tlsPaths<T extends { ca?: string; cert?: string; key?: string }>(
  t: T,
  baseDir: string,
): T {
  const abs = (f: string | undefined) => (f === undefined ? undefined : path.resolve(baseDir, f));
  const out = { ...t };
  for (const k of ['ca', 'cert', 'key'] as const) {
    const f = abs(t[k]);
    if (f === undefined) delete out[k];
    else out[k] = f;
  }
  return out;
}

/** `settings` with the cluster's passwords (the replication one defaults to the cluster's). */
function withPasswords(
  settings: ClusterSettings,
  c: ParsedCluster,
  i: number,
  secret: SecretReader,
): ClusterConfig {
  const password = secret(c.password, c.passwordFile, `clusters[${i}].password`) ?? '';
  const replPassword = secret(
    c.replication.password,
    c.replication.passwordFile,
    `clusters[${i}].replication.password`,
  );
  return {
    ...settings,
    password,
    replication: { ...settings.replication, password: replPassword ?? password },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function pick(o: unknown, key: string): unknown {
  return isObj(o) ? o[key] : undefined;
}

function readYaml(file: string, fail: (i: ConfigIssue[]) => never): Obj {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return fail([{ path: 'file', message: `cannot read: ${errCode(e)}` }]);
  }
  const doc = YAML.parseDocument(text);
  const err = doc.errors[0];
  if (err) {
    const at = err.linePos?.[0];
    const where = at ? `YAML line ${at.line}, column ${at.col}` : 'YAML';
    const what = (err.message.split('\n')[0] ?? err.code).replace(
      / at line \d+, column \d+:?$/,
      '',
    );
    return fail([{ path: where, message: what }]);
  }
  const data: unknown = doc.toJS();
  if (data === null || data === undefined) return {};
  if (!isObj(data)) return fail([{ path: 'top level', message: 'must be a mapping of keys' }]);
  return data;
}

/** Reads a secret-bearing file; warns when group or others may read it. */
function readSecretFile(abs: string, key: string, warnings: string[]): string | ConfigIssue {
  try {
    const st = fs.statSync(abs);
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
      warnings.push(
        `${key} ${abs} has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: restrict it with chmod 600`,
      );
    return fs.readFileSync(abs, 'utf8');
  } catch (e) {
    return { path: key, message: `cannot read ${abs}: ${errCode(e)}` };
  }
}

function errCode(e: unknown): string {
  return e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : String(e);
}

function warnDirectSecrets(raw: Obj, warnings: string[]): void {
  const api = pick(pick(raw, 'sentinel'), 'api');
  if (pick(api, 'token') !== undefined)
    warnings.push(
      'sentinel.api.token is written in the config file: prefer tokenFile or PGVIGIL_SENTINEL__API__TOKEN',
    );
  if (pick(pick(raw, 'coordination'), 'password') !== undefined)
    warnings.push(
      'coordination.password is written in the config file: prefer passwordFile or PGVIGIL_COORDINATION__PASSWORD',
    );
  const clusters = pick(raw, 'clusters');
  if (!Array.isArray(clusters)) return;
  clusters.forEach((c: unknown, i) => {
    const n = pick(c, 'name');
    const ref = `PGVIGIL_CLUSTERS__${typeof n === 'string' ? envName(n) : i}`;
    if (pick(c, 'password') !== undefined)
      warnings.push(
        `clusters[${i}].password is written in the config file: prefer passwordFile or ${ref}__PASSWORD`,
      );
    if (pick(pick(c, 'replication'), 'password') !== undefined)
      warnings.push(
        `clusters[${i}].replication.password is written in the config file: prefer passwordFile or ${ref}__REPLICATION__PASSWORD`,
      );
  });
}

function fmtPath(p: readonly PropertyKey[]): string {
  return p
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`))
    .join('');
}

function withSource(issue: ConfigIssue, setBy: ReadonlyMap<string, string>): ConfigIssue {
  const v = setBy.get(issue.path);
  return v ? { ...issue, message: `${issue.message} (set by ${v})` } : issue;
}

function zodIssues(
  issues: readonly z.core.$ZodIssue[],
  raw: unknown,
  setBy: ReadonlyMap<string, string>,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      const known = knownKeysAt(i.path);
      for (const k of i.keys)
        out.push({
          path: fmtPath([...i.path, k]),
          message: `unknown key${known ? ` (known: ${known.join(', ')})` : ''}`,
        });
      continue;
    }
    const absent =
      i.path.reduce<unknown>(
        (o, k) => (typeof o === 'object' && o !== null ? (o as Obj)[k as string] : undefined),
        raw,
      ) === undefined;
    const message = absent && i.code !== 'custom' ? 'is required' : i.message;
    out.push(withSource({ path: fmtPath(i.path) || 'top level', message }, setBy));
  }
  return out;
}

/** `invalid config <file>: <path>: <problem> (+N more)`; a message that names its path stands alone. */
export function formatIssues(label: string, issues: readonly ConfigIssue[]): string {
  const first = issues[0];
  if (!first) return `invalid config ${label}`;
  const body = first.message.startsWith(first.path)
    ? first.message
    : `${first.path}: ${first.message}`;
  const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
  return `invalid config ${label}: ${body}${more}`;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
