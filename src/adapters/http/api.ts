/**
 * The sentinel's admin API (DESIGN.md, Admin API). It records intent and reads state; the loop
 * acts. Errors are `{"status":"error","message"}` with 4xx/5xx; mutating routes need the bearer
 * token when one is configured.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';

import { CoordinationUnavailable, UserError } from '../../core/errors.js';
import type { IntentOp } from '../../ports/records.js';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export interface SentinelApiDeps {
  host: string;
  port: number;
  token?: string;
  registry: Registry;
  clusters: string[];
  /** 200 when the loop made progress recently */
  health(): { ok: boolean; [k: string]: unknown };
  topology(cluster: string): Promise<unknown>;
  status(cluster: string): Promise<unknown>;
  events(cluster: string, since: string, count: number): Promise<unknown>;
  /**
   * Mutating intents (validated body in, HTTP status and body out); absent ones answer 501.
   * `requestedBy` names the caller for events and the 409 message of a concurrent call.
   */
  intents?: Partial<Record<IntentOp, IntentHandler>>;
}

export type { IntentOp } from '../../ports/records.js';
export interface IntentRequest {
  to?: string;
}
export type IntentHandler = (
  cluster: string,
  body: IntentRequest,
  meta: { requestedBy: string },
) => Promise<{ code: number; body: Record<string, unknown> }>;

const nodeName = z.string().min(1, 'must be a node name').max(63);
const BODIES: Record<IntentOp, { schema: z.ZodType<IntentRequest>; shape: string }> = {
  switchover: { schema: z.strictObject({ to: nodeName }), shape: '{"to": "<node>"}' },
  failover: {
    schema: z.strictObject({ to: nodeName.optional() }),
    shape: 'no body, or {"to": "<node>"}',
  },
  failback: { schema: z.strictObject({}), shape: 'no body' },
};

/** One line naming the bad field and the expected body. */
function bodyError(op: IntentOp, err: z.ZodError, raw: object): string {
  const issue = err.issues[0];
  const where = `POST /${op}`;
  const expected = `expected ${BODIES[op].shape}`;
  if (!issue) return `${where}: invalid body: ${expected}`;
  if (issue.code === 'unrecognized_keys')
    return `${where}: unknown field ${issue.keys.join(', ')}: ${expected}`;
  const field = issue.path.join('.') || 'body';
  if (issue.path.length === 1 && !(String(issue.path[0]) in raw))
    return `${where}: ${field} is missing: ${expected}`;
  return `${where}: ${field}: ${issue.message}: ${expected}`;
}

const COMMANDS: [string, string, string][] = [
  ['Failover', 'POST', '/failover'],
  ['Failback', 'POST', '/failback'],
  ['Switchover', 'POST', '/switchover -H \'Content-Type: application/json\' -d \'{"to":"pg2"}\''],
  ['Topologia', 'GET', '/topology'],
  ['Eventos', 'GET', '/events?since=0'],
  ['Salud', 'GET', '/health'],
  ['Metricas', 'GET', '/metrics'],
];

function errorBody(message: string) {
  return { status: 'error', message };
}

type ClusterOf = (req: FastifyRequest) => string;

export function buildSentinelApi(deps: SentinelApiDeps): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const clusterOf: ClusterOf = (req) => {
    const q = (req.query as Record<string, string | undefined>).cluster;
    const name = q ?? deps.clusters[0]!;
    if (!deps.clusters.includes(name))
      throw new ApiError(
        404,
        `unknown cluster ${name}: known clusters are ${deps.clusters.join(', ')}`,
      );
    return name;
  };
  requireToken(app, deps.token);
  answerErrors(app);
  readRoutes(app, deps, clusterOf);
  intentRoutes(app, deps, clusterOf);
  return app;
}

/** Mutating requests need `Authorization: Bearer <token>` when a token is set (401). */
function requireToken(app: FastifyInstance, token: string | undefined): void {
  app.addHook('onRequest', async (req, reply) => {
    if (req.method === 'GET' || req.method === 'HEAD' || !token) return;
    if (req.headers.authorization !== `Bearer ${token}`) {
      await reply
        .code(401)
        .send(errorBody('missing or wrong bearer token: send Authorization: Bearer <api.token>'));
    }
  });
}

/** Every error as `{"status":"error","message"}`, with the status its class calls for. */
function answerErrors(app: FastifyInstance): void {
  app.setErrorHandler(async (err: Error & { statusCode?: number }, _req, reply: FastifyReply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(errorBody(err.message));
    if (err instanceof CoordinationUnavailable) return reply.code(503).send(errorBody(err.message));
    if (err instanceof UserError) return reply.code(409).send(errorBody(err.message));
    const code =
      err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const fastifyCode = (err as { code?: string }).code ?? '';
    if (code === 400 && (fastifyCode.startsWith('FST_ERR_CTP') || err instanceof SyntaxError))
      return reply
        .code(400)
        .send(errorBody(`malformed JSON body (${err.message}): send a JSON object or no body`));
    return reply.code(code).send(errorBody(err.message));
  });
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send(errorBody(`no route ${req.method} ${req.url}: GET / lists the commands`)),
  );
}

/** GET /, /health, /topology, /status, /events, /metrics. */
function readRoutes(app: FastifyInstance, deps: SentinelApiDeps, clusterOf: ClusterOf): void {
  app.get('/', async (req) => {
    const base = `http://${req.headers.host ?? `${deps.host}:${deps.port}`}`;
    const commands = Object.fromEntries(
      COMMANDS.map(([name, method, path]) => [
        name,
        method === 'GET' ? `curl ${base}${path}` : `curl -X POST ${base}${path}`,
      ]),
    );
    return { Comandos: commands };
  });
  app.get('/health', async (_req, reply) => {
    const h = deps.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  app.get('/topology', async (req) => deps.topology(clusterOf(req)));
  app.get('/status', async (req) => deps.status(clusterOf(req)));
  app.get('/events', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const count = Math.min(Number(q.count ?? 100) || 100, 1000);
    return deps.events(clusterOf(req), q.since ?? '0', count);
  });
  app.get('/metrics', async (_req, reply) => {
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });
}

/** POST /failover, /failback, /switchover: validate the body, hand it to the intent handler. */
function intentRoutes(app: FastifyInstance, deps: SentinelApiDeps, clusterOf: ClusterOf): void {
  for (const intent of ['failover', 'failback', 'switchover'] as const) {
    app.post(`/${intent}`, async (req, reply) => {
      const handler = deps.intents?.[intent];
      if (!handler)
        throw new ApiError(
          501,
          `${intent} through the API is not available in this version: automatic failover runs on its own`,
        );
      const raw: unknown = req.body ?? {};
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new ApiError(400, `POST /${intent}: the body must be a JSON object`);
      const parsed = BODIES[intent].schema.safeParse(raw);
      if (!parsed.success) throw new ApiError(400, bodyError(intent, parsed.error, raw));
      const cluster = clusterOf(req);
      const r = await handler(cluster, parsed.data, { requestedBy: `api ${req.ip}` });
      return reply.code(r.code).send(r.body);
    });
  }
}

/** Refuse a non-loopback bind without a token (also checked by the config schema). */
export function assertSafeBind(host: string, token: string | undefined): void {
  const loopback = host === 'localhost' || host === '::1' || host.startsWith('127.');
  if (!loopback && !token)
    throw new UserError(`refusing to bind the API on ${host} without sentinel.api.token`);
}

/** Bind `app`; a busy port is one clear line (`hint` says how to pick another). */
export async function listenOn(
  app: FastifyInstance,
  o: { what: string; host: string; port: number; hint: string },
): Promise<void> {
  try {
    await app.listen({ host: o.host, port: o.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new UserError(`${o.what} port ${o.host}:${o.port} is busy: ${o.hint}`);
    throw err;
  }
}
