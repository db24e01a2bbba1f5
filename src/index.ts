/** `pgvigil`: the client pool and the event subscription (also `pgvigil/client`, `pgvigil/events`). */
export * from './client/index.js';
export { backoffMs, subscribe, type SubscribeOptions, type Subscription } from './events/index.js';
export type { EventType, PgvigilEvent, TopologyState } from './events/index.js';
