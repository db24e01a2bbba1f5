/**
 * The files `local up` writes for the other commands: `<dir>/pgvigil.yaml` (the config every
 * command accepts with --config; no secret in it), `<dir>/secrets.env` (the generated
 * passwords, named in the config as secretsFile), `<dir>/pgpass` (the superuser's password
 * for psql, PGPASSFILE) and, with a token, `<dir>/api-token`. Every file with a secret is
 * 0600, in `<dir>` (0700).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';

import { parseDotenv } from '../config/env.js';
import { envName } from '../config/schema.js';
import { UserError } from '../core/errors.js';
import type { PgTls } from '../core/tls.js';

export const CONFIG_FILE = 'pgvigil.yaml';
export const SECRETS_FILE = 'secrets.env';
export const TOKEN_FILE = 'api-token';
export const PGPASS_FILE = 'pgpass';

export interface LocalSecrets {
  superPassword: string;
  replPassword: string;
  /** AUTH password of the local Redis servers (requirepass) */
  redisPassword: string;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

/** Write `text` to `file` readable by its owner only (also when the file existed before). */
export function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The variables of secrets.env, one per secret (the config loader reads them as overrides). */
function secretsEnv(cluster: string): Record<keyof LocalSecrets, string> {
  const c = `PGVIGIL_CLUSTERS__${envName(cluster)}`;
  return {
    superPassword: `${c}__PASSWORD`,
    replPassword: `${c}__REPLICATION__PASSWORD`,
    redisPassword: 'PGVIGIL_COORDINATION__PASSWORD',
  };
}

/** Generate the cluster's passwords and write them as environment overrides (mode 0600). */
export function writeSecretsFile(dir: string, cluster: string): LocalSecrets {
  const secrets: LocalSecrets = {
    superPassword: secret(),
    replPassword: secret(),
    redisPassword: secret(),
  };
  const names = secretsEnv(cluster);
  const lines = (Object.keys(names) as (keyof LocalSecrets)[]).map(
    (k) => `${names[k]}=${secrets[k]}\n`,
  );
  writePrivate(join(dir, SECRETS_FILE), lines.join(''));
  return secrets;
}

/** The passwords `writeSecretsFile` wrote for `cluster` into `file`. */
export function readSecretsFile(file: string, cluster: string): LocalSecrets {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const { vars } = parseDotenv(text, file);
  const names = secretsEnv(cluster);
  const value = (k: keyof LocalSecrets): string => {
    const v = vars[names[k]];
    if (v === undefined) throw new UserError(`${file} has no ${names[k]}`);
    return v;
  };
  return {
    superPassword: value('superPassword'),
    replPassword: value('replPassword'),
    redisPassword: value('redisPassword'),
  };
}

/** Generate a bearer token for the mutating API routes; returns the file's path. */
export function writeTokenFile(dir: string): string {
  const tokenFile = join(dir, TOKEN_FILE);
  writePrivate(tokenFile, `${secret()}\n`);
  return tokenFile;
}

/**
 * `<dir>/pgpass` (libpq's password file, 0600): the superuser's password for every node, so
 * `PGPASSFILE=<dir>/pgpass psql "<url>"` connects without a password on any command line.
 */
export function writePgpassFile(
  dir: string,
  nodes: { host: string; port: number }[],
  user: string,
  password: string,
): string {
  const esc = (v: string): string => v.replace(/[\\:]/g, (c) => `\\${c}`);
  const file = join(dir, PGPASS_FILE);
  writePrivate(
    file,
    nodes.map((n) => `${esc(n.host)}:${n.port}:*:${esc(user)}:${esc(password)}\n`).join(''),
  );
  return file;
}

export interface LocalConfig {
  sentinels: number;
  redis: string[];
  /** the API port of the first sentinel (the others get theirs with --api-port) */
  apiPort: number;
  /** where the sentinels' API binds (default 127.0.0.1; `--netns`: 0.0.0.0 of each namespace) */
  apiHost?: string;
  /** whether writeTokenFile() wrote the token */
  withToken: boolean;
  profile: 'default' | 'fast';
  /** extra timing keys (tests) */
  timing: Record<string, number>;
  cluster: string;
  initialPrimary: string;
  replicationMode?: 'async' | 'sync' | undefined;
  /** pgBackRest repository and working directory (local/backup.ts) */
  backup?: { enabled: boolean; repository: string; workDir: string };
  /** `local up --tls`: clusters[].tls, replication.tls, coordination.tls (tls-certs.ts) */
  tls?: { cluster: PgTls; replication: PgTls; coordination: { ca: string } };
  nodes: { name: string; host: string; port: number; dataDir: string; agentUrl?: string }[];
}

/** Write `<dir>/pgvigil.yaml` (no secret in it); returns its path. */
export function writeConfigFile(dir: string, c: LocalConfig): string {
  const configFile = join(dir, CONFIG_FILE);
  const config = {
    sentinels: c.sentinels,
    secretsFile: SECRETS_FILE,
    coordination: { redis: c.redis, ...(c.tls ? { tls: c.tls.coordination } : {}) },
    timing: { profile: c.profile, ...c.timing },
    ...(c.backup ? { backup: c.backup } : {}),
    sentinel: {
      // fixed ids s1..sN (each started with --id): a vote from any other id does not count
      peers: Array.from({ length: c.sentinels }, (_, i) => `s${i + 1}`),
      api: {
        host: c.apiHost ?? '127.0.0.1',
        port: c.apiPort,
        ...(c.withToken ? { tokenFile: TOKEN_FILE } : {}),
      },
    },
    clusters: [
      {
        name: c.cluster,
        quorum: Math.floor(c.sentinels / 2) + 1,
        initialPrimary: c.initialPrimary,
        ...(c.tls ? { tls: c.tls.cluster } : {}),
        ...(c.replicationMode || c.tls
          ? {
              replication: {
                ...(c.replicationMode ? { mode: c.replicationMode } : {}),
                ...(c.tls ? { tls: c.tls.replication } : {}),
              },
            }
          : {}),
        nodes: c.nodes.map((n) => ({
          name: n.name,
          host: n.host,
          port: n.port,
          dataDir: n.dataDir,
          ...(n.agentUrl === undefined ? {} : { agent: { url: n.agentUrl } }),
        })),
      },
    ],
  };
  writeFileSync(
    configFile,
    `# written by pgvigil local up; secrets are in secrets.env (0600)\n${stringify(config)}`,
  );
  return configFile;
}
