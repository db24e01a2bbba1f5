/** Process control of the local postgres (pg_ctl, pg_rewind, pg_basebackup, pg_controldata). */
export {
  findPgBinaries,
  lastLines,
  type PgBinaries,
  pgBin,
  runPg,
  type RunResult,
  usePgBinDir,
} from './binaries.js';
export {
  cleanlyShutDown,
  type ControlData,
  parseControldata,
  readControlData,
} from './controldata.js';
export { restoreConfigFiles, type SavedConfig, saveConfigFiles } from './config-files.js';
export { LocalPostgres, type LocalPostgresOptions, type ProcessState } from './local-postgres.js';
export { isLive, nodeProcesses, procState, signalPids } from './procfs.js';
export { moveAside, pgBasebackup, pgRewind, type Source } from './rewind.js';
export { defaultRunAs, lookupUser, type RunAs } from './run-as.js';
