/**
 * `GET /backups` (the records and the recovery window) and `POST /backups {"type":
 * "full|incr|diff"}` (token-guarded like every POST; 200 once started, 409 while a backup of
 * the cluster runs) on the sentinel's admin API.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { ApiError, type QueryParam, readBody, readQuery } from './common.js';

export interface BackupApi {
  list(cluster: string): Promise<unknown>;
  /** start a backup; `busy` when one runs */
  start(
    cluster: string,
    type: 'full' | 'incr' | 'diff',
  ): Promise<{ started: true } | { busy: string }>;
}

const BODY = z.strictObject({ type: z.enum(['full', 'incr', 'diff']) });

export function backupRoutes(
  app: FastifyInstance,
  api: BackupApi | undefined,
  cluster: { param: QueryParam<string>; named(n: string | undefined): string },
): void {
  const need = (): BackupApi => {
    if (!api)
      throw new ApiError(
        501,
        'backups are not configured here: give every node a dataDir (backup:)',
      );
    return api;
  };
  app.get('/backups', async (req) => {
    const q = readQuery(req, { cluster: cluster.param });
    return need().list(cluster.named(q.cluster));
  });
  app.post('/backups', async (req, reply) => {
    const q = readQuery(req, { cluster: cluster.param });
    const body = readBody(req, BODY, '{"type": "full|incr|diff"}');
    const c = cluster.named(q.cluster);
    const r = await need().start(c, body.type);
    if ('busy' in r) throw new ApiError(409, r.busy);
    return reply.code(200).send({
      status: 'success',
      message: `${body.type} backup of ${c} started: GET /backups shows it when done`,
    });
  });
}
