/**
 * pino JSON logs (the Logger port of src/ports/logger.ts). Every line carries `cluster`, `node`
 * and `epoch` where they apply (call sites pass them, or a child logger carries them); the
 * process-wide base carries the sentinel/agent id.
 */
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  /** sentinel or agent id */
  process: string;
  role: 'sentinel' | 'agent' | 'cli' | 'local';
  /** write to this fd/destination instead of stdout (tests) */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base = { pid: process.pid, [opts.role]: opts.process };
  const options = { level: opts.level, base, timestamp: pino.stdTimeFunctions.isoTime };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
