/**
 * The application role of the local cluster (state.json `client.app`): `app`, owner of the
 * database `app`, not a superuser, so that examples and applications do not run as `postgres`.
 * Its password is generated into `<dir>/app-password` (0600) and added to the pgpass file, so
 * `PGPASSFILE=<dir>/pgpass psql "$(pgvigil connstring --user app --database app)"` works;
 * state.json names the file, never the password.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import pg from 'pg';

import { writePrivate } from './config-file.js';

export const APP_USER = 'app';
export const APP_DATABASE = 'app';
export const APP_PASSWORD_FILE = 'app-password';

export interface AppRole {
  user: string;
  database: string;
  /** 0600 file holding the password */
  passwordFile: string;
}

/** Create the role and database on the primary (replicated to the standbys). */
export async function createAppRole(o: {
  dir: string;
  primary: { host: string; port: number };
  nodes: { host: string; port: number }[];
  superuser: string;
  superPassword: string;
  pgpassFile: string;
  /** the superuser's TLS (local up --tls) */
  ssl?: pg.ClientConfig['ssl'];
}): Promise<AppRole> {
  const password = randomBytes(18).toString('base64url');
  const passwordFile = join(o.dir, APP_PASSWORD_FILE);
  writePrivate(passwordFile, `${password}\n`);
  const c = new pg.Client({
    ...o.primary,
    user: o.superuser,
    password: o.superPassword,
    database: 'postgres',
    connectionTimeoutMillis: 5000,
    ...(o.ssl ? { ssl: o.ssl } : {}),
  });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const lit = pg.escapeLiteral(password);
    await c.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD ${lit}`);
    await c.query(`CREATE DATABASE ${APP_DATABASE} OWNER ${APP_USER}`);
  } finally {
    await c.end().catch(() => undefined);
  }
  appendFileSync(
    o.pgpassFile,
    o.nodes.map((n) => `${n.host}:${n.port}:*:${APP_USER}:${password}\n`).join(''),
  );
  return { user: APP_USER, database: APP_DATABASE, passwordFile };
}

/** The application role's password (from its 0600 file). Never print it. */
export function readAppPassword(role: Pick<AppRole, 'passwordFile'>): string {
  return readFileSync(role.passwordFile, 'utf8').trim();
}
