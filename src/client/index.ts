/** `pgvigil/client`: a pg-compatible pool that follows the primary, and the older client. */
export { isConnectionError, PgvigilClient, type PgvigilClientOptions } from './client.js';
export {
  createPool,
  isReadOnlyRefusal,
  NotWritableError,
  PgvigilPool,
  type PoolOptions,
} from './pool.js';
export type { HostPort } from './probe.js';
export type { PrimaryQuery, ReadPool } from './read-pool.js';
export type { StampedEvent } from '../core/events.js';
export type { Topology, TopologyNode } from '../core/model.js';
