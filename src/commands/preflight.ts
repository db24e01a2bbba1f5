/**
 * Start-up preflight of `sentinel` and `agent`: before anything is bound, written or started,
 * check what a wrong config would otherwise turn into endless reconnect warnings:
 * - every TLS file (CA, client certificate, key) is readable and parses,
 * - every Redis server that answers accepts our TLS (its certificate chains to
 *   coordination.tls.ca) and our AUTH,
 * - every PostgreSQL node that answers accepts our TLS and client certificate and password.
 * A server that does not answer (refused, timed out) is not a config error: a minority of
 * Redis servers or a node may be down at start-up, and the runtime reports that. The first
 * problem found is thrown as one ConfigError line naming the key and what to do.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Redis } from 'ioredis';

import { Session } from '../adapters/postgres/session.js';
import { clientOptions, type RedisAuth } from '../adapters/redis/link.js';
import type { ClusterConfig, CoordinationConfig } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import type { NodeSpec } from '../core/spec.js';
import type { PgTls, RedisTls } from '../core/tls.js';

const TLS_TRUST = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
]);
const TLS_NAME = new Set(['ERR_TLS_CERT_ALTNAME_INVALID']);
const TLS_EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** Each TLS file parses as what it should be; `at` is the config key of the section. */
export function checkTlsFiles(tls: PgTls | RedisTls | undefined, at: string): void {
  if (!tls) return;
  const check = (key: 'ca' | 'cert' | 'key', parse: (pem: Buffer) => unknown): void => {
    const file = tls[key];
    if (file === undefined) return;
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(
        `${at}.${key}: ${file} cannot be read (${code}): fix the path or its mode`,
      );
    }
    try {
      parse(pem);
    } catch {
      throw new ConfigError(
        `${at}.${key}: ${file} is not a PEM ${key === 'key' ? 'private key' : 'certificate'}: give the right file`,
      );
    }
  };
  check('ca', (pem) => new X509Certificate(pem));
  check('cert', (pem) => new X509Certificate(pem));
  check('key', (pem) => createPrivateKey(pem));
}

function codeOf(err: unknown): string {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'string' ? c : '';
}

/** A TLS verification failure as one line, or null when `err` is something else. */
function tlsProblem(
  err: unknown,
  who: string,
  caKey: string,
  ca: string | undefined,
): string | null {
  const code = codeOf(err);
  const from = ca ? `the CA in ${ca}` : 'the system CAs';
  if (TLS_TRUST.has(code))
    return `${caKey}: the certificate of ${who} is not signed by ${from} (${code}): set ${caKey} to the CA that signed the server's certificate`;
  if (TLS_NAME.has(code))
    return `${caKey}: the certificate of ${who} does not name the host pgvigil connects to (${code}): use a server certificate whose SAN lists that host, or the host the certificate names`;
  if (TLS_EXPIRED.has(code))
    return `${caKey}: the certificate of ${who} is not valid now (${code}): renew the server's certificate`;
  return null;
}

/** One server of coordination.redis: connect, AUTH, PING. */
async function checkRedis(
  url: string,
  auth: RedisAuth,
  label: string,
  timeoutMs: number,
): Promise<void> {
  const client = new Redis(url, {
    ...clientOptions(url, timeoutMs, auth),
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
  });
  let firstError: unknown = null;
  client.on('error', (err: unknown) => {
    firstError ??= err;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    const e = firstError ?? err;
    const msg = e instanceof Error ? e.message : String(e);
    const tls = tlsProblem(e, label, 'coordination.tls.ca', auth.tls?.ca);
    if (tls) throw new ConfigError(tls);
    if (/WRONGPASS|NOAUTH|invalid password|invalid username-password/i.test(msg))
      throw new ConfigError(
        `coordination.password: ${label} refused AUTH${auth.username ? ` as ${auth.username}` : ''} (${msg.split('\n')[0]!.slice(0, 80)}): set coordination.password (passwordFile, PGVIGIL_COORDINATION__PASSWORD) to the server's password`,
      );
    // not answering is not a config error: the runtime waits for a majority
  } finally {
    client.disconnect();
  }
}

/** Redis servers: TLS files, then each server that answers. */
export async function preflightRedis(
  config: Pick<CoordinationConfig, 'coordination' | 'timing'>,
  auth: RedisAuth,
  redact: (url: string) => string,
): Promise<void> {
  checkTlsFiles(config.coordination.tls, 'coordination.tls');
  const timeoutMs = Math.max(2000, config.timing.redisTimeoutMs);
  await Promise.all(
    config.coordination.redis.map((url) => checkRedis(url, auth, redact(url), timeoutMs)),
  );
}

/** One node: a session as the cluster's user, with its TLS. */
async function checkNode(
  c: ClusterConfig,
  i: number,
  node: NodeSpec,
  timeoutMs: number,
): Promise<void> {
  const who = `${node.name} (${node.host}:${node.port})`;
  const at = `clusters[${i}]`;
  try {
    const s = await Session.open({
      host: node.host,
      port: node.port,
      user: c.user,
      password: c.password,
      database: c.database,
      applicationName: 'pgvigil-preflight',
      connectTimeoutMs: timeoutMs,
      queryTimeoutMs: timeoutMs,
      tls: c.tls,
    });
    await s.close();
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const tls = tlsProblem(err, who, `${at}.tls.ca`, c.tls?.ca);
    if (tls) throw new ConfigError(tls);
    if (/requires a valid client certificate/i.test(msg))
      throw new ConfigError(
        `${at}.tls.cert: ${who} requires a client certificate and none was sent: set ${at}.tls.cert and ${at}.tls.key (a certificate with CN=${c.user} signed by the server's ssl_ca_file)`,
      );
    if (
      /certificate authentication failed|certificate .*(unknown|revoked)|tlsv1 alert unknown ca/i.test(
        msg,
      )
    )
      throw new ConfigError(
        `${at}.tls.cert: ${who} refused the client certificate (${msg.slice(0, 80)}): use a certificate with CN=${c.user} signed by the server's ssl_ca_file`,
      );
    if (/does not support SSL/i.test(msg))
      throw new ConfigError(
        `${at}.tls.sslmode: ${who} does not accept TLS: turn ssl on there, or set ${at}.tls.sslmode to disable`,
      );
    if (/no pg_hba\.conf entry.*no encryption/i.test(msg))
      throw new ConfigError(
        `${at}.tls: ${who} accepts only TLS connections (${msg.slice(0, 80)}): set ${at}.tls.sslmode and its files`,
      );
    if (codeOf(err) === '28P01')
      throw new ConfigError(
        `${at}.password: ${who} refused the password of ${c.user}: set ${at}.password (passwordFile or the environment) to that role's password`,
      );
    // not answering is not a config error: the node may be down
  }
}

/** PostgreSQL: TLS files of the cluster (and replication), then every node that answers. */
export async function preflightPostgres(
  clusters: { cluster: ClusterConfig; index: number; nodes?: NodeSpec[] }[],
  connectTimeoutMs: number,
): Promise<void> {
  for (const { cluster, index } of clusters) {
    checkTlsFiles(cluster.tls, `clusters[${index}].tls`);
    checkTlsFiles(cluster.replication.tls, `clusters[${index}].replication.tls`);
  }
  const timeoutMs = Math.max(2000, connectTimeoutMs);
  const checks = clusters.flatMap(({ cluster, index, nodes }) =>
    (nodes ?? cluster.nodes).map((n) => checkNode(cluster, index, n, timeoutMs)),
  );
  const results = await Promise.allSettled(checks);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}
