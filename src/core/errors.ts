/**
 * The few error classes the loops act on. Adapters translate library errors into these.
 * - CoordinationUnavailable: no Redis majority -> never fail over, keep monitoring.
 * - PostgresUnreachable: evidence for SDOWN; a control call could not reach the node.
 * - PostgresCommandFailed: the node answered with an error.
 * - ConfigError / UserError: bad input; print one line, exit non-zero.
 * - AgentRefused / AgentUnreachable: a node agent would not or could not act (switchover).
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
export class ConfigError extends PgvigilError {}
export class UserError extends PgvigilError {}
/** A node agent answered 4xx/5xx: it will not do what was asked now. */
export class AgentRefused extends PgvigilError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}
/** A node agent gave no answer (timeout, connection refused). */
export class AgentUnreachable extends PgvigilError {}
