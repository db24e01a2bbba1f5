/**
 * PgvigilClient against a real local cluster (2 nodes, 3 sentinels): it writes to the primary,
 * follows the topology when the primary is SIGKILLed, and writes on the promoted standby.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isConnectionError, PgvigilClient } from '../../src/client/index.js';
import type { Topology } from '../../src/core/model.js';
import { localDown, localKill, localUp } from '../../src/local/cluster.js';
import { localSecrets, type LocalState } from '../../src/local/state.js';

const dir = mkdtempSync(join(tmpdir(), 'pgvigil-client-'));
let state: LocalState | undefined;
let client: PgvigilClient | undefined;

beforeAll(async () => {
  state = await localUp({ dir, nodes: 2, sentinels: 3, apiPort: 0, progress: () => undefined });
});

afterAll(async () => {
  await client?.close();
  if (state) await localDown({ dir, quiet: true });
  rmSync(dir, { recursive: true, force: true });
});

describe('PgvigilClient', () => {
  it('writes to the primary, follows a failover and writes on the new primary', async () => {
    const secrets = localSecrets(state!);
    client = await PgvigilClient.connect({
      redis: state!.redis,
      redisAuth: { password: secrets.redisPassword },
      cluster: 'local',
      pg: { ...state!.client, password: secrets.superPassword },
      poolSize: 4,
    });
    expect(client.primary).toBe('pg1');
    await client.query('CREATE TABLE client_test (id int PRIMARY KEY, at timestamptz)');
    await client.query('INSERT INTO client_test VALUES ($1, now())', [1]);

    const seen: Topology[] = [];
    client.on('topology', (t) => seen.push(t));
    await localKill({ dir, name: 'pg1', signal: 'KILL' });

    // The caller retries (the client never does): next id after each failure.
    const deadline = Date.now() + 20_000;
    let id = 2;
    let ok = false;
    const errors: unknown[] = [];
    while (Date.now() < deadline) {
      try {
        await client.query('INSERT INTO client_test VALUES ($1, now())', [id++]);
        if (client.primary === 'pg2') {
          ok = true;
          break;
        }
      } catch (err) {
        errors.push(err);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(ok).toBe(true);
    expect(client.primary).toBe('pg2');
    expect(seen.some((t) => t.primary === 'pg2')).toBe(true);
    // every error the caller saw was connection-level (the crash), none hidden or unexpected
    expect(errors.length).toBeGreaterThan(0);
    for (const err of errors) expect(isConnectionError(err), String(err)).toBe(true);

    const r = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM client_test WHERE id = 1',
    );
    expect(r.rows[0]!.n).toBe('1'); // the write before the crash was replicated and kept
    const rec = await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
    expect(rec.rows[0]!.r).toBe(false);
  });
});
