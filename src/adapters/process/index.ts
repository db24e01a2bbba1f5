/**
 * Process control of a local postgres (pg_ctl, pg_rewind, pg_basebackup, pg_controldata):
 * the agent's LocalPostgres, and the pieces the embedded cluster of `local up` (src/local/)
 * builds on. Nothing here imports src/local/.
 */
export {
  findPgBinaries,
  lastLines,
  type PgBinaries,
  pgBin,
  runPg,
  type RunResult,
  usePgBinDir,
} from './binaries.js';
export { restoreConfigFiles, type SavedConfig, saveConfigFiles } from './config-files.js';
export {
  cleanlyShutDown,
  type ControlData,
  parseControldata,
  readControlData,
} from './controldata.js';
export { LocalPostgres, type LocalPostgresOptions, type ProcessState } from './local-postgres.js';
export { portAnswers, startNode, type StartTarget, stopNode, type StopTarget } from './pg-ctl.js';
export { readPostmasterPid, removeStaleLocks } from './postmaster.js';
export { isLive, nodeProcesses, procState, signalPids } from './procfs.js';
export { AgentNodeProcess, type NodeCredentials } from './node-process.js';
export { nsExec } from './netns-exec.js';
export { moveAside, pgBasebackup, pgRewind, type Source } from './rewind.js';
export { defaultRunAs, lookupUser, own, type RunAs } from './run-as.js';
export { confLine, writeNodeSettings } from './settings.js';
