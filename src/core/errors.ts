/**
 * The few error classes the loops act on. Adapters translate library errors into these.
 * - CoordinationUnavailable: no Redis majority -> never fail over, keep monitoring.
 * - PostgresUnreachable: evidence for SDOWN; a control call could not reach the node.
 * - PostgresCommandFailed: the node answered with an error.
 * - LostLease: our epoch or lock is gone -> stop acting at once.
 * - ConfigError / UserError: bad input; print one line, exit non-zero.
 * Anything else is a bug: log it, keep the loop alive.
 */
export class PgvigilError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
export class CoordinationUnavailable extends PgvigilError {}
export class PostgresUnreachable extends PgvigilError {}
export class PostgresCommandFailed extends PgvigilError {}
export class LostLease extends PgvigilError {}
export class ConfigError extends PgvigilError {}
export class UserError extends PgvigilError {}
