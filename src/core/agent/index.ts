/** The node agent's pure decisions. */
export * from './conninfo.js';
export * from './decide.js';
export * from './lsn.js';
export type * from './model.js';
