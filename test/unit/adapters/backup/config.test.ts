/** The pgbackrest.conf pgvigil writes: which nodes get a pgN-host (a transport to their host). */
import { describe, expect, it } from 'vitest';

import { type BackupNode, renderConfig } from '../../../../src/adapters/backup/config.js';

const layout = (nodes: BackupNode[]) => ({
  stanza: 'main',
  workDir: '/w',
  repository: '/repo',
  retentionFull: 2,
  options: {},
  nodes,
  user: 'postgres',
  archiveTimeoutS: 60,
});
const node = (name: string, host: string, extra: Partial<BackupNode> = {}): BackupNode => ({
  name,
  host,
  port: 5432,
  dataDir: `/data/${name}`,
  socketDir: '/var/run/postgresql',
  ...extra,
});

describe('renderConfig', () => {
  it('a node on another host gets pgN-host; a loopback one does not', () => {
    const text = renderConfig(layout([node('pg1', '127.0.0.1'), node('pg2', 'db2.example')]));
    expect(text).toContain('pg1-path=/data/pg1\n');
    expect(text).not.toMatch(/^pg1-host=/m);
    expect(text).toMatch(/^pg2-host=db2\.example$/m);
  });
  it('a node marked local (backup.localOnly) gets no pgN-host whatever its host', () => {
    const text = renderConfig(layout([node('pg2', 'postgres_slave', { local: true })]));
    expect(text).toContain('pg1-path=/data/pg2\n');
    expect(text).not.toMatch(/-host=/);
  });
});
