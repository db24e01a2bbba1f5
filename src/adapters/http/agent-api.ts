/**
 * The node agent's API (DESIGN.md, Agent): HAProxy-style health checks and the two calls a
 * sentinel leader makes during a switchover.
 *
 *   GET  /primary            200 when this node is the writable primary of the topology, else 503
 *   GET  /replica[?lag=B]    200 when it streams as a standby (replay lag <= B bytes), else 503
 *   GET  /health             200 when the agent loop completed recently, else 503
 *   GET  /status             what the agent sees and decided (JSON)
 *   POST /stop  {epoch}      clean stop for a switchover; answers the final checkpoint LSN
 *                            (StopResultSchema in src/ports/records.ts, shared with the client)
 *   POST /start {epoch}      restart after an aborted switchover; answers once it accepts connections
 *
 * Errors: `{"status":"error","message"}`; 400 bad body, 401 token, 409 refused by the topology
 * or busy, 503 no coordination majority, 500 the action failed. POST needs
 * `Authorization: Bearer <sentinel.api.token>` when a token is configured.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';

import { CoordinationUnavailable, UserError } from '../../core/errors.js';
import type { StopResult } from '../../ports/agent-control.js';
import { StopResultSchema } from '../../ports/records.js';

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
  stop(epoch: number): Promise<StopResult>;
  start(epoch: number): Promise<Record<string, unknown>>;
}

const EpochBody = z.strictObject({ epoch: z.number().int().min(1) });
const ReplicaQuery = z.object({ lag: z.coerce.number().int().min(0).optional() });

class BadRequest extends Error {}

function errorBody(message: string) {
  return { status: 'error', message };
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new BadRequest(`${what}: ${at}${issue?.message ?? 'invalid'}`);
}

export function buildAgentApi(deps: AgentApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024 });

  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !deps.token) return;
    if (req.headers.authorization !== `Bearer ${deps.token}`)
      await reply
        .code(401)
        .send(errorBody('missing or wrong bearer token: send Authorization: Bearer <api.token>'));
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number }, _req, reply: FastifyReply) => {
    if (err instanceof BadRequest) return reply.code(400).send(errorBody(err.message));
    if (err instanceof UserError) return reply.code(409).send(errorBody(err.message));
    if (err instanceof CoordinationUnavailable) return reply.code(503).send(errorBody(err.message));
    const code =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    return reply.code(code).send(errorBody(err.message));
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply
      .code(404)
      .send(
        errorBody(
          `no route ${req.method} ${req.url}: GET /primary, /replica, /health, /status; POST /stop, /start`,
        ),
      ),
  );

  const check = (reply: FastifyReply, c: AgentCheck) => reply.code(c.ok ? 200 : 503).send(c);
  app.get('/health', async (_req, reply) => check(reply, deps.health()));
  app.get('/primary', async (_req, reply) => check(reply, deps.primary()));
  app.get('/replica', async (req, reply) => {
    const q = parse(ReplicaQuery, req.query, 'GET /replica query');
    return check(reply, deps.replica(q.lag));
  });
  app.get('/status', async () => deps.status());
  app.post('/stop', async (req) => {
    const { epoch } = parse(EpochBody, req.body, 'POST /stop body');
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
    const { epoch } = parse(EpochBody, req.body, 'POST /start body');
    return { status: 'success', ...(await deps.start(epoch)) };
  });
  return app;
}
