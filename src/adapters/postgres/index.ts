export { PgAdapter, type PgAdapterOptions } from './adapter.js';
export { conninfo, SCHEMA_SQL } from './sql.js';
export { LocalObserver } from './local-observer.js';
export type { SessionParams } from './session.js';
export { libpqTlsEnv, libpqTlsParams, libpqTlsQuery, pgSslOptions } from './tls.js';
