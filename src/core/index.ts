/** The pure decision core: the runtime imports from here. */
export * from './candidates.js';
export { compareText } from './compare.js';
export * from './decide.js';
export * from './errors.js';
export type * from './events.js';
export * from './failover/machine.js';
export * from './failover/states.js';
export * from './failover/topology.js';
export { formatBytes, formatMs, isoFromWall } from './format.js';
export * from './health.js';
export type * from './model.js';
export * from './quorum.js';
export * from './rules.js';
export * from './tilt.js';
