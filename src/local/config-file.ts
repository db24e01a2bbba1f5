/**
 * The files `local up` writes for the other commands: `<dir>/pgvigil.yaml` (the config every
 * command accepts with --config), `<dir>/secrets.env` (the generated passwords, 0600, named in
 * the config as secretsFile) and, with a token, `<dir>/api-token` (0600).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { stringify } from 'yaml';

export const CONFIG_FILE = 'pgvigil.yaml';
export const SECRETS_FILE = 'secrets.env';
export const TOKEN_FILE = 'api-token';

export interface LocalSecrets {
  superPassword: string;
  replPassword: string;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

/** Generate the cluster's passwords and write them as environment overrides (mode 0600). */
export function writeSecretsFile(dir: string, cluster: string): LocalSecrets {
  const superPassword = secret();
  const replPassword = secret();
  const secretsFile = join(dir, SECRETS_FILE);
  const envKey = cluster.toUpperCase().replace(/-/g, '_');
  writeFileSync(
    secretsFile,
    `PGVIGIL_CLUSTERS__${envKey}__PASSWORD=${superPassword}\nPGVIGIL_CLUSTERS__${envKey}__REPLICATION__PASSWORD=${replPassword}\n`,
    { mode: 0o600 },
  );
  chmodSync(secretsFile, 0o600);
  return { superPassword, replPassword };
}

/** Generate a bearer token for the mutating API routes; returns the file's path. */
export function writeTokenFile(dir: string): string {
  const tokenFile = join(dir, TOKEN_FILE);
  writeFileSync(tokenFile, `${secret()}\n`, { mode: 0o600 });
  return tokenFile;
}

export interface LocalConfig {
  sentinels: number;
  redis: string[];
  /** the API port of the first sentinel (the others get theirs with --api-port) */
  apiPort: number;
  /** whether writeTokenFile() wrote the token */
  withToken: boolean;
  profile: 'default' | 'fast';
  /** extra timing keys (tests) */
  timing: Record<string, number>;
  cluster: string;
  initialPrimary: string;
  replicationMode?: 'async' | 'sync' | undefined;
  nodes: { name: string; host: string; port: number; dataDir: string; agentUrl?: string }[];
}

/** Write `<dir>/pgvigil.yaml` (no secret in it); returns its path. */
export function writeConfigFile(dir: string, c: LocalConfig): string {
  const configFile = join(dir, CONFIG_FILE);
  const config = {
    sentinels: c.sentinels,
    secretsFile: SECRETS_FILE,
    coordination: { redis: c.redis },
    timing: { profile: c.profile, ...c.timing },
    sentinel: {
      api: {
        host: '127.0.0.1',
        port: c.apiPort,
        ...(c.withToken ? { tokenFile: TOKEN_FILE } : {}),
      },
    },
    clusters: [
      {
        name: c.cluster,
        quorum: Math.floor(c.sentinels / 2) + 1,
        initialPrimary: c.initialPrimary,
        ...(c.replicationMode ? { replication: { mode: c.replicationMode } } : {}),
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
