/**
 * node-postgres and socket errors, translated at the edge: into a ProbeFailure for probes,
 * into PostgresUnreachable / PostgresCommandFailed for control calls.
 */
import { DatabaseError } from 'pg';

import { PgvigilError, PostgresCommandFailed, PostgresUnreachable } from '../../core/errors.js';
import type { ProbeFailure } from '../../core/model.js';

/** Network-level codes and server codes that mean "this server is going/gone/not yet up". */
const REFUSED_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTCONN',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08003',
]);
const AUTH_CODES = new Set(['28P01', '28000']);

export function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The server answered this statement with an error and the session lives on (not a FATAL
 * shutdown or connection code): the caller may send another statement on it.
 */
export function isStatementError(err: unknown): boolean {
  return isServerAnswer(err) && !isRefused(err) && !err.code?.startsWith('08');
}

/** A server answer (ErrorResponse with a SQLSTATE), as opposed to a network failure. */
function isServerAnswer(err: unknown): err is DatabaseError {
  return err instanceof DatabaseError;
}

function isTimeout(err: unknown): boolean {
  return /timeout|timed out/i.test(errMessage(err)) || errCode(err) === 'ETIMEDOUT';
}

function isRefused(err: unknown): boolean {
  const code = errCode(err);
  return (
    (code !== undefined && REFUSED_CODES.has(code)) ||
    /^Connection terminated/.test(errMessage(err)) ||
    /not queryable/.test(errMessage(err))
  );
}

/** A probe's failure kind (a failed heartbeat is classified by the probe itself). */
export function probeFailure(err: unknown): ProbeFailure {
  const code = errCode(err);
  if (isRefused(err)) return 'refused';
  if (code !== undefined && AUTH_CODES.has(code)) return 'auth';
  if (isTimeout(err) || code === '57014') return 'timeout';
  return 'error';
}

/**
 * A control call's failure. An answer with a SQLSTATE is PostgresCommandFailed (except the
 * shutdown/connection codes); no answer (refused, reset, timed out) is PostgresUnreachable.
 * `what` names node and step: "promote pg2 (127.0.0.1:5433): SELECT pg_promote".
 */
export function controlError(what: string, err: unknown): Error {
  if (err instanceof PgvigilError) return err;
  const answered = isServerAnswer(err);
  const detail = `${what}: ${errMessage(err)}${answered ? ` [${err.code}]` : ''}`;
  if (answered && !isRefused(err)) return new PostgresCommandFailed(detail, { cause: err });
  return new PostgresUnreachable(detail, { cause: err });
}
