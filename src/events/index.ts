/** `pgvigil/events`: subscribe to a cluster's events from any language's point of view in Node. */
export { backoffMs, subscribe, type SubscribeOptions, type Subscription } from './subscribe.js';
export type { EventType, PgvigilEvent, StampedEvent } from '../core/events.js';
export type { NodeRole, Topology, TopologyNode, TopologyState } from '../core/model.js';
