export { PgAdapter, type PgAdapterOptions } from './adapter.js';
export { conninfo, SCHEMA_SQL } from './sql.js';
