/**
 * TLS settings as the config resolves them (absolute file paths, no file read yet): what the
 * adapters turn into node-postgres `ssl` options, libpq parameters and ioredis `tls` options
 * (adapters/postgres/tls.ts, adapters/redis/tls.ts). Paths only: no secret is held here.
 */

/** libpq's sslmode values pgvigil accepts (`disable` = no TLS, the default). */
export type PgSslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

export interface PgTls {
  sslmode: PgSslMode;
  /** CA bundle the server certificate must chain to (verify-ca, verify-full) */
  ca?: string;
  /** client certificate and its key (a server with clientcert=verify-ca/verify-full) */
  cert?: string;
  key?: string;
}

export interface RedisTls {
  /** CA bundle the Redis server certificate must chain to (absent: the system's CAs) */
  ca?: string;
  /** client certificate and key (redis `tls-auth-clients yes`) */
  cert?: string;
  key?: string;
}
