/** A Logger (src/ports/logger.ts) that keeps every line, for tests that assert on a log line. */
import type { Logger } from '../../src/ports/logger.js';

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  obj: Record<string, unknown>;
}

export function recordingLogger(
  lines: LogLine[] = [],
  bindings: Record<string, unknown> = {},
): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (a: object | string, b?: string): void => {
      const obj = typeof a === 'string' ? {} : (a as Record<string, unknown>);
      lines.push({
        level,
        msg: typeof a === 'string' ? a : (b ?? ''),
        obj: { ...bindings, ...obj },
      });
    };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}
