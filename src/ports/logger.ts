/**
 * Logger port: structured logs (pino in src/adapters/logging). Every line of a cluster's work
 * carries `cluster`, `node` and `epoch` where they apply, passed in `obj` or bound by `child`.
 * Logging never throws and never blocks the loop.
 */
export interface LogFn {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

export interface Logger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** a logger whose every line carries `bindings` */
  child(bindings: Record<string, unknown>): Logger;
}
