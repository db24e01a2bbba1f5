/**
 * The PostgresPort contract against the real adapter (PgAdapter) on a real PostgreSQL primary
 * and one streaming standby (test/helpers/pg.ts: temp dirs, free ports, stopped by PID).
 * One pair for the whole file; the suite promotes the standby last.
 */
import { PgAdapter } from '../../src/adapters/postgres/index.js';
import { upstreamOf } from '../../src/core/agent/conninfo.js';
import type { NodeSpec } from '../../src/core/spec.js';
import { freePort } from '../../src/local/free-port.js';
import type { LocalNode } from '../../src/local/postgres.js';
import { specOf, sqlOn, startPgPair } from '../helpers/pg.js';
import { describePostgresContract } from './postgres.contract.js';

describePostgresContract('PgAdapter on a real primary + standby', async () => {
  const pair = await startPgPair({ standbys: 1 });
  const [pg1, pg2] = pair.nodes as [LocalNode, LocalNode];
  const adapter = new PgAdapter({
    user: 'postgres',
    password: pair.superPassword,
    database: 'postgres',
    connectTimeoutMs: 1000,
    queryTimeoutMs: 1000,
    replication: { user: pair.replUser, password: pair.replPassword },
    applicationName: 'pgvigil-contract',
  });
  const local = (n: NodeSpec): LocalNode => (n.name === pg1.name ? pg1 : pg2);
  const unreachable: NodeSpec = {
    name: 'gone',
    host: '127.0.0.1',
    port: await freePort(),
    priority: 0,
    noFailover: false,
  };
  return {
    pg: adapter,
    primary: specOf(pg1),
    standby: specOf(pg2),
    unreachable,
    heartbeats: async (n) =>
      (await sqlOn<{ sentinel: string }>(local(n), 'SELECT sentinel FROM pgvigil.heartbeat')).map(
        (r) => r.sentinel,
      ),
    slots: async (n) =>
      (
        await sqlOn<{ slot_name: string }>(
          local(n),
          "SELECT slot_name FROM pg_replication_slots WHERE slot_type = 'physical'",
        )
      ).map((r) => r.slot_name),
    upstream: async (n) => {
      const [row] = await sqlOn<{ conninfo: string; slot: string }>(
        local(n),
        "SELECT current_setting('primary_conninfo') AS conninfo, current_setting('primary_slot_name') AS slot",
      );
      const up = upstreamOf(row?.conninfo ?? null);
      return up && { ...up, slot: row?.slot || null };
    },
    cleanup: async () => {
      await adapter.close();
      await pair.stop();
    },
  };
});
