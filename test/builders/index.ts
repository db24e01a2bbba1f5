export * from './cluster.js';
export * from './probe.js';
export * from './timing.js';
export * from './topology.js';
export * from './vote.js';
export * from './failover.js';
