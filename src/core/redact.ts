/**
 * Secrets out of text meant for people (logs, error messages, status): the password of every
 * URL (`redis://user:pw@host` -> `redis://user:***@host`), of a libpq conninfo
 * (`password=pw` -> `password=***`) and of a SQL `PASSWORD '...'` literal. Pure string work, so
 * the adapters, the config loader and the local cluster share one implementation.
 *
 * It is a safety net for text that may carry a secret by accident (a URL in an error message,
 * a statement in a label); code that knows it holds a secret keeps it out of such text first.
 */
export const REDACTED = '***';

/** scheme://user:password@ (the user is kept: it is not a secret) */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^:@\s/]*):[^@\s/]*@/gi;
/** libpq conninfo `password=value` or `password='quoted \' value'` */
const CONNINFO_PASSWORD = /\b(password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s']+)/gi;
/** CREATE/ALTER ROLE ... PASSWORD 'literal' (doubled quotes inside) */
const SQL_PASSWORD = /\b(password\s+)'(?:[^']|'')*'/gi;

export function redactSecrets(text: string): string {
  return text
    .replace(URL_PASSWORD, `$1:${REDACTED}@`)
    .replace(CONNINFO_PASSWORD, `$1${REDACTED}`)
    .replace(SQL_PASSWORD, `$1'${REDACTED}'`);
}
