/**
 * backup.localOnly in the runner: pgBackRest here knows only this machine's nodes, so a run
 * goes ahead only when the primary is one of them (the engine and catalog are in-memory fakes:
 * what is checked is which runs reach the engine and what the refusal says).
 */
import { describe, expect, it } from 'vitest';

import type { BackupType, EngineInfo } from '../../../../src/core/backup/types.js';
import type { BackupCatalog, BackupEngine } from '../../../../src/ports/backup.js';
import { BackupRunner } from '../../../../src/runtime/backup/runner.js';

const EMPTY: EngineInfo = {
  backups: [],
  archiveMin: null,
  archiveMax: null,
  statusCode: 0,
  statusMessage: '',
  backupLockHeld: false,
};

function setup(primary: string | null, localNodes: string[] | undefined) {
  const taken: BackupType[] = [];
  const claims: string[] = [];
  const records = new Map<string, Record<string, string>>();
  const engine: BackupEngine = {
    createStanza: async () => undefined,
    backup: async (type) => {
      taken.push(type);
    },
    info: async () => EMPTY,
    restore: async () => undefined,
    verify: async () => ({ ok: true, detail: 'ok' }),
    expire: async () => undefined,
    archiveCommand: () => 'true',
  };
  const key = (s: { type: string; day: string }) => `${s.type}:${s.day}`;
  const catalog: BackupCatalog = {
    list: async () => Object.fromEntries(records),
    get: async (s) => records.get(key(s)) ?? null,
    put: async (s, h) => {
      records.set(key(s), h);
    },
    annotate: async () => undefined,
    remove: async () => undefined,
    claim: async (_c, s) => {
      claims.push(key(s));
      return true;
    },
    release: async () => undefined,
    putWindow: async () => undefined,
    getWindow: async () => null,
    close: async () => undefined,
  };
  const runner = new BackupRunner({
    cluster: 'main',
    owner: 'test',
    engine,
    catalog,
    nodes: {
      roles: async () => ({
        primary,
        standbys: ['pg1', 'pg2'].filter((n) => n !== primary),
      }),
      archiver: async () => undefined,
      checkpoint: async () => undefined,
    },
    clock: { mono: () => 0, wall: () => Date.parse('2026-12-03T10:00:00Z') },
    utcOffsetMin: () => 0,
    fromStandby: false,
    publish: async () => undefined,
    ...(localNodes ? { localNodes } : {}),
  });
  return { runner, taken, claims, records };
}

describe('backup runner with backup.localOnly', () => {
  it('the primary is here: the backup is taken and recorded', async () => {
    const { runner, taken, records } = setup('pg1', ['pg1']);
    const r = await runner.run('full');
    expect(r.kind).toBe('done');
    expect(taken).toEqual(['full']);
    expect(records.get('full:2026-12-03')).toMatchObject({ status: 'ok', node: 'pg1' });
  });

  it('the primary is another machine: a scheduled slot is skipped before its claim', async () => {
    const { runner, taken, claims } = setup('pg1', ['pg2']);
    const r = await runner.run('incr', {
      scheduled: true,
      slot: { type: 'incr', day: '2026-12-03' },
    });
    expect(r).toMatchObject({ kind: 'skipped', reason: 'primary-elsewhere' });
    expect(taken).toEqual([]);
    expect(claims).toEqual([]);
  });

  it('the primary is another machine: a manual run is refused in one line naming it', async () => {
    const { runner, taken } = setup('pg1', ['pg2']);
    await expect(runner.run('full')).rejects.toThrow(
      /^backup\.localOnly: the primary of main is pg1, this machine has pg2: run the backup on pg1's machine/,
    );
    expect(taken).toEqual([]);
    expect(runner.running).toBeNull();
  });

  it('no primary answers: refused, nothing taken', async () => {
    const { runner, taken } = setup(null, ['pg1']);
    await expect(runner.run('full')).rejects.toThrow(/no node answers as the primary of main/);
    expect(taken).toEqual([]);
  });

  it("without localOnly every node is pgBackRest's: no check", async () => {
    const { runner, taken } = setup('pg1', undefined);
    expect(await runner.primaryElsewhere()).toBeUndefined();
    await runner.run('diff');
    expect(taken).toEqual(['diff']);
  });
});
