/**
 * Backups in the local cluster (`local up`, on by default there; tests ask for them with
 * `backups: true`): a pgBackRest repository and working directory beside the data
 * (`<dataRoot>/backups`, `<dataRoot>/pgbackrest`, reachable by the postgres user), the stanza,
 * and each node's own archive_command (with its --pg1-path, notes G4). archive_mode itself is
 * set at initdb (it needs a restart) and reaches the standbys with the base backup.
 */
import { join } from 'node:path';

import { socketDirOf } from '../adapters/backup/config.js';
import { PgBackRest } from '../adapters/backup/pgbackrest.js';
import { SqlBackupNodes } from '../adapters/postgres/archiving.js';
import { defaultRunAs } from '../adapters/process/index.js';
import type { LocalNode } from './postgres.js';
import { SUPERUSER, SUPERUSER_DATABASE } from './postgres.js';

export interface LocalBackupPaths {
  enabled: true;
  repository: string;
  workDir: string;
}

/** The `backup:` section of the local config: on, with the paths above. */
export function localBackupPaths(dataRoot: string): LocalBackupPaths {
  return {
    enabled: true,
    repository: join(dataRoot, 'backups'),
    workDir: join(dataRoot, 'pgbackrest'),
  };
}

/** Stanza + archive_command on every node. */
export async function setUpLocalBackups(o: {
  cluster: string;
  dataRoot: string;
  nodes: LocalNode[];
  superPassword: string;
  progress: (m: string) => void;
}): Promise<void> {
  const { repository, workDir } = localBackupPaths(o.dataRoot);
  const paths = { repository, workDir };
  const engine = new PgBackRest({
    stanza: o.cluster,
    ...paths,
    retentionFull: 2,
    options: {},
    nodes: o.nodes.map((n) => ({
      name: n.name,
      host: n.host,
      port: n.port,
      dataDir: n.dataDir,
      socketDir: socketDirOf(n.dataDir),
    })),
    user: SUPERUSER,
    password: o.superPassword,
    archiveTimeoutS: 60,
    runAs: defaultRunAs(),
  }).prepare();
  o.progress(`pgBackRest stanza ${o.cluster}, repository ${paths.repository}`);
  await engine.createStanza();
  const sql = new SqlBackupNodes(o.nodes, {
    user: SUPERUSER,
    password: o.superPassword,
    database: SUPERUSER_DATABASE,
  });
  for (const n of o.nodes) await sql.setArchiveCommand(n.name, engine.archiveCommand(n.dataDir));
}
