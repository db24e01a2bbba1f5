/**
 * The node agent's API (DESIGN.md, Agent): HAProxy-style health checks and the two calls a
 * sentinel leader makes during a switchover.
 *
 *   GET  /primary            200 when this node is the writable primary of the topology, else 503
 *   GET  /replica[?lag=B]    200 when it streams as a standby (replay lag <= B bytes), else 503
 *   GET  /health             200 when the agent loop completed recently, else 503
 *   GET  /status             what the agent sees and decided (JSON)
 *   GET  /metrics            its node's pgvigil_* series (Prometheus text)
 *   POST /stop  {epoch}      clean stop for a switchover; answers the final checkpoint LSN
 *                            (StopResultSchema in src/ports/records.ts, shared with the client)
 *   POST /start {epoch}      restart after an aborted switchover; answers once it accepts connections
 *   POST /backups {type}     start a backup here (backup.localOnly: what a sentinel relays); 200
 *                            started, 409 one runs, 503 this node is not the primary
 *
 * The edge is common.ts, shared with the sentinel's API: errors are `{"status":"error","message"}`
 * (400 bad body or query, 401 token, 404/405 route, 409 refused by the topology or busy, 413
 * body over 16 KiB, 503 no coordination majority, 500 the action failed). POST needs
 * `Authorization: Bearer <sentinel.api.token>` when a token is configured.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';

import type { StopResult } from '../../ports/agent-control.js';
import { StopResultSchema } from '../../ports/records.js';
import { ApiError, httpApp, integerParam, readBody, readQuery } from './common.js';

/** A check's answer: `ok` picks 200/503, the whole object is the body. */
export interface AgentCheck {
  ok: boolean;
}

export interface AgentApiDeps {
  token?: string | undefined;
  health(): AgentCheck;
  primary(): AgentCheck;
  replica(maxLagBytes: number | undefined): AgentCheck;
  status(): unknown;
  /** the Prometheus exposition of this agent's registry */
  metrics?: { contentType: string; metrics(): Promise<string> };
  stop(epoch: number): Promise<StopResult>;
  start(epoch: number): Promise<Record<string, unknown>>;
  /** start a backup on this machine (absent: backups are not enabled here) */
  backup?: (
    type: 'full' | 'incr' | 'diff',
  ) => Promise<{ started: true } | { busy: string } | { elsewhere: string }>;
}

const BackupBody = z.strictObject({ type: z.enum(['full', 'incr', 'diff']) });

const EpochBody = z.strictObject({
  epoch: z.number().int().min(1, 'must be an epoch (a whole number from 1)'),
});
const EPOCH_SHAPE = '{"epoch": <epoch of the switchover>}';
const LAG = integerParam(
  'a whole number of bytes of replay lag, such as 1048576',
  0,
  Number.MAX_SAFE_INTEGER,
);

export function buildAgentApi(deps: AgentApiDeps): FastifyInstance {
  const app = httpApp({
    bodyLimit: 16 * 1024,
    token: deps.token,
    routesHint: 'GET /primary, /replica, /health, /status, /metrics; POST /stop, /start, /backups',
  });

  const check = (reply: FastifyReply, c: AgentCheck) => reply.code(c.ok ? 200 : 503).send(c);
  app.get('/health', async (req, reply) => {
    readQuery(req, {});
    return check(reply, deps.health());
  });
  app.get('/primary', async (req, reply) => {
    readQuery(req, {});
    return check(reply, deps.primary());
  });
  app.get('/replica', async (req, reply) => {
    const q = readQuery(req, { lag: LAG });
    return check(reply, deps.replica(q.lag));
  });
  app.get('/status', async (req) => {
    readQuery(req, {});
    return deps.status();
  });
  const registry = deps.metrics;
  if (registry)
    app.get('/metrics', async (req, reply) => {
      readQuery(req, {});
      const body = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(body);
    });
  app.post('/stop', async (req) => {
    readQuery(req, {});
    const { epoch } = readBody(req, EpochBody, EPOCH_SHAPE);
    const stopped = await deps.stop(epoch);
    // the sentinel cannot hand over without the LSN: say so here rather than send a reply it drops
    const reply = StopResultSchema.safeParse(stopped);
    if (!reply.success)
      throw new Error(
        `postgres stopped, but without a checkpoint LSN to hand over (${JSON.stringify(stopped)})`,
      );
    return { status: 'success', ...reply.data };
  });
  app.post('/start', async (req) => {
    readQuery(req, {});
    const { epoch } = readBody(req, EpochBody, EPOCH_SHAPE);
    return { status: 'success', ...(await deps.start(epoch)) };
  });
  app.post('/backups', async (req) => {
    readQuery(req, {});
    const { type } = readBody(req, BackupBody, '{"type": "full|incr|diff"}');
    if (!deps.backup) throw new ApiError(501, 'backups are not enabled here: set backup.enabled');
    const r = await deps.backup(type);
    if ('busy' in r) throw new ApiError(409, r.busy);
    if ('elsewhere' in r) throw new ApiError(503, r.elsewhere);
    return { status: 'success', message: `${type} backup started on this node's machine` };
  });
  return app;
}
