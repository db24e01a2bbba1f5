/**
 * One translation of `clusters[].tls` (core/tls.ts) for every way pgvigil reaches PostgreSQL:
 * - `pgSslOptions()`: node-postgres `ssl` (probes, control sessions, the agent's observer, the
 *   client). verify-full checks the certificate against the host we dial (an IP address
 *   against the certificate's IP SANs, a name against its DNS SANs), verify-ca only the chain,
 *   require encrypts without checking (with a ca: the chain, as libpq does).
 * - `libpqTlsParams()`: sslmode/sslrootcert/sslcert/sslkey for a conninfo (primary_conninfo,
 *   pg_rewind --source-server) and `libpqTlsEnv()` the same as PGSSL* variables
 *   (pg_basebackup, psql).
 * Files are read when a connection is built, so a renewed certificate is picked up.
 */
import { readFileSync } from 'node:fs';
import { checkServerIdentity, type ConnectionOptions, type PeerCertificate } from 'node:tls';

import { UserError } from '../../core/errors.js';
import type { PgTls } from '../../core/tls.js';

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(`TLS ${what} ${file} cannot be read (${code}): fix the path or its mode`);
  }
}

/** node-postgres `ssl` for a connection to `host`; false without TLS. */
export function pgSslOptions(tls: PgTls | undefined, host: string): false | ConnectionOptions {
  if (!tls || tls.sslmode === 'disable') return false;
  const o: ConnectionOptions = {};
  if (tls.cert) o.cert = readPem(tls.cert, 'client certificate');
  if (tls.key) o.key = readPem(tls.key, 'client key');
  // libpq: require with a root certificate verifies the chain, as verify-ca does
  if (tls.sslmode === 'require' && !tls.ca) return { ...o, rejectUnauthorized: false };
  if (tls.ca) o.ca = readPem(tls.ca, 'CA');
  o.rejectUnauthorized = true;
  o.checkServerIdentity =
    tls.sslmode === 'verify-full'
      ? (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert)
      : () => undefined;
  return o;
}

/** libpq connection parameters (conninfo keys); none without TLS (libpq's own default). */
export function libpqTlsParams(tls: PgTls | undefined): Record<string, string> {
  if (!tls) return {};
  if (tls.sslmode === 'disable') return { sslmode: 'disable' };
  return {
    sslmode: tls.sslmode,
    ...(tls.ca ? { sslrootcert: tls.ca } : {}),
    ...(tls.cert ? { sslcert: tls.cert } : {}),
    ...(tls.key ? { sslkey: tls.key } : {}),
  };
}

const ENV_OF: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
};

/** The same parameters as libpq environment variables. */
export function libpqTlsEnv(tls: PgTls | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(libpqTlsParams(tls)).map(([k, v]) => [ENV_OF[k]!, v]));
}

/** `?sslmode=...&sslrootcert=...` for a postgres:// URL (psql, printed URLs); '' without TLS. */
export function libpqTlsQuery(tls: PgTls | undefined): string {
  if (!tls || tls.sslmode === 'disable') return '';
  return `?${new URLSearchParams(libpqTlsParams(tls)).toString()}`;
}
