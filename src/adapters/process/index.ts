/** Process control of the local postgres (pg_ctl, pg_rewind, pg_basebackup, pg_controldata). */
export {
  cleanlyShutDown,
  type ControlData,
  parseControldata,
  readControlData,
} from './controldata.js';
export { restoreConfigFiles, type SavedConfig, saveConfigFiles } from './config-files.js';
export { LocalPostgres, type LocalPostgresOptions, type ProcessState } from './local-postgres.js';
export { moveAside, pgBasebackup, pgRewind, type Source } from './rewind.js';
export { AgentNodeProcess, type NodeCredentials } from './node-process.js';
