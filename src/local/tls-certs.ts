/**
 * `pgvigil local up --tls`: a throwaway CA and the certificates the local cluster uses, made
 * with openssl (P-256 keys, 30 days):
 * - `server.crt` for every PostgreSQL node and Redis server (SAN IP:127.0.0.1, DNS:localhost),
 * - one client certificate per PostgreSQL user (CN = the user: `clientcert=verify-full`
 *   compares it with the user name), used by the sentinels, agents, pg_rewind, pg_basebackup
 *   and primary_conninfo.
 * The directory is 0700 and every file 0600. When root, postgres runs as `postgres` and must
 * read the server key and the client keys (libpq and the server refuse a key another user can
 * read): the files are then owned by `postgres` and the directory lives under the data root
 * (the state dir is root's 0700), the CA key is removed once everything is signed.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { own, type RunAs } from '../adapters/process/index.js';
import { UserError } from '../core/errors.js';
import type { PgTls } from '../core/tls.js';

const run = promisify(execFile);
const DAYS = '30';
const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface LocalTls {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  /** per PostgreSQL user: its client certificate and key */
  clients: Record<string, { cert: string; key: string }>;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new UserError('openssl not found: apt-get install -y openssl');
    const why = (e.stderr ?? e.message).trim().split('\n').slice(-2).join(' ');
    throw new UserError(`openssl ${args[0]} failed: ${why}`);
  }
}

/** A self-signed CA `<name>.crt` / `<name>.key` in `dir` (also used by tests for a wrong CA). */
export async function makeCa(dir: string, name = 'ca'): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await openssl(
    ['req', '-x509', ...KEY, '-keyout', key, '-out', cert, '-days', DAYS].concat([
      '-subj',
      `/CN=pgvigil local ${name}`,
    ]),
  );
  return { cert, key };
}

/** A certificate `<name>.crt` / `<name>.key` for `cn`, signed by `ca`, with `san` when given. */
async function signed(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  cn: string,
  san?: string,
): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await openssl(['req', ...KEY, '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  writeFileSync(ext, san ? `subjectAltName=${san}\n` : 'basicConstraints=CA:FALSE\n');
  await openssl(
    ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial'].concat([
      '-days',
      DAYS,
      '-out',
      cert,
      '-extfile',
      ext,
    ]),
  );
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  return { cert, key };
}

/** Create `dir` (0700) with the CA, the server certificate and one client certificate per user. */
export async function makeLocalTls(
  dir: string,
  users: string[],
  runAs: RunAs | undefined,
): Promise<LocalTls> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const ca = await makeCa(dir);
  const server = await signed(dir, ca, 'server', 'localhost', 'IP:127.0.0.1,DNS:localhost');
  const clients: LocalTls['clients'] = {};
  for (const u of users) clients[u] = await signed(dir, ca, `client-${u}`, u);
  rmSync(ca.key, { force: true });
  rmSync(join(dir, 'ca.srl'), { force: true });
  for (const f of readdirSync(dir)) {
    chmodSync(join(dir, f), 0o600);
    own(join(dir, f), runAs);
  }
  own(dir, runAs);
  return { dir, ca: ca.cert, serverCert: server.cert, serverKey: server.key, clients };
}

/** verify-full with `user`'s client certificate: what the config and every connection use. */
export function clientTls(tls: LocalTls, user: string): PgTls {
  const c = tls.clients[user];
  if (!c) throw new UserError(`no client certificate for ${user} in ${tls.dir}`);
  return { sslmode: 'verify-full', ca: tls.ca, cert: c.cert, key: c.key };
}

/** The PostgreSQL users of the local cluster, each with a client certificate. */
export const USERS = ['postgres', 'replicator'];

/** The config's TLS keys: verify-full everywhere, each connection with its user's certificate. */
export function configTls(tls: LocalTls): {
  cluster: PgTls;
  replication: PgTls;
  coordination: { ca: string };
} {
  return {
    cluster: clientTls(tls, 'postgres'),
    replication: clientTls(tls, 'replicator'),
    coordination: { ca: tls.ca },
  };
}

/** postgresql.conf settings of a TLS node (standbys copy them with pg_basebackup). */
export function serverSslSettings(tls: LocalTls): Record<string, string> {
  return {
    ssl: 'on',
    ssl_cert_file: tls.serverCert,
    ssl_key_file: tls.serverKey,
    ssl_ca_file: tls.ca,
  };
}

/** pg_hba.conf of a TLS node: TCP only over TLS with a client certificate; the socket for the harness. */
export const TLS_HBA = `local all all scram-sha-256
hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full
hostssl replication all 127.0.0.1/32 scram-sha-256 clientcert=verify-full
`;
