/**
 * `POST /fence {"node": "<node>"}` and `POST /unfence {"node": "<node>"}` on the sentinel's
 * admin API (token-guarded like every POST): the operator's fence, the same function as
 * `pgvigil fence|unfence` (runtime/operator-fence.ts). `?cluster=` defaults to the cluster
 * that has the node; a node the cluster does not have is a 400 naming it.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

import { ApiError, type QueryParam, readBody, readQuery } from './common.js';

export interface FenceApi {
  /** the node names of a cluster, from config */
  nodes(cluster: string): string[];
  run(
    cluster: string,
    node: string,
    fenced: boolean,
    meta: { requestedBy: string },
  ): Promise<{ message: string; epoch: number; paused: boolean }>;
}

const BODY = z.strictObject({ node: z.string().min(1, 'must be a node name').max(63) });
const SHAPE = '{"node": "<node>"}';

export function fenceRoutes(
  app: FastifyInstance,
  api: FenceApi | undefined,
  clusters: { known: string[]; param: QueryParam<string>; named(n: string | undefined): string },
): void {
  for (const [path, fenced] of [
    ['/fence', true],
    ['/unfence', false],
  ] as const) {
    app.post(path, async (req, reply) => {
      if (!api)
        throw new ApiError(501, `${path.slice(1)} through the API is not available here`);
      const q = readQuery(req, { cluster: clusters.param });
      const body = readBody(req, BODY, SHAPE);
      const c =
        q.cluster !== undefined
          ? clusters.named(q.cluster)
          : clusters.named(clusters.known.find((k) => api.nodes(k).includes(body.node)));
      const nodes = api.nodes(c);
      if (!nodes.includes(body.node))
        throw new ApiError(
          400,
          `POST ${path}: unknown node ${body.node} in cluster ${c}: use one of ${nodes.join(', ')}`,
        );
      const r = await api.run(c, body.node, fenced, { requestedBy: `api ${req.ip}` });
      return reply.code(200).send({ status: 'success', node: body.node, fenced, ...r });
    });
  }
}
