/**
 * `pgvigil connstring`: a libpq multi-host URL built from the committed topology, so that
 * psql, psycopg, JDBC (pgjdbc takes the same host list) and Go's pgx follow the primary without
 * pgvigil code: libpq tries the hosts in order and keeps the first that matches
 * `target_session_attrs` (read-write: the primary; prefer-standby: a standby, else the primary).
 * No password in it: libpq takes it from PGPASSWORD or a pgpass file.
 */
import type { Topology } from './model.js';

export interface ConnstringOptions {
  user?: string;
  database: string;
  readOnly?: boolean;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function multiHostUrl(t: Topology, o: ConnstringOptions): string {
  // fenced nodes are left out: pgvigil stopped them on purpose
  const usable = t.nodes.filter((n) => n.state !== 'fenced' || n.name === t.primary);
  const primary = usable.filter((n) => n.name === t.primary);
  const others = usable.filter((n) => n.name !== t.primary);
  const ordered = o.readOnly ? [...others, ...primary] : [...primary, ...others];
  const hosts = ordered.map((n) => hostPort(n.host, n.port)).join(',');
  const user = o.user ? `${encodeURIComponent(o.user)}@` : '';
  const attrs = o.readOnly ? 'prefer-standby' : 'read-write';
  return `postgresql://${user}${hosts}/${encodeURIComponent(o.database)}?target_session_attrs=${attrs}&connect_timeout=2`;
}
