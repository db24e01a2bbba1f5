/**
 * The sentinel's admin API (DESIGN.md, Admin API). It records intent and reads state; the loop
 * acts. The edge it shares with the agent's API (errors, status codes, bodies, token) is
 * common.ts; here: the routes, their query parameters and bodies.
 *
 *   GET  /                          the curl commands (Fase2 manual)
 *   GET  /health                    200 when the loop made progress recently, else 503
 *   GET  /topology, /status         [?cluster=NAME]
 *   GET  /events                    [?cluster=NAME][&since=0|ID][&count=1..1000]
 *   GET  /metrics                   prom-client text
 *   POST /failover, /failback       [?cluster=NAME], no body (an empty one of any Content-Type)
 *                                   or, for failover, {"to": "<node>"}
 *   POST /switchover                [?cluster=NAME] {"to": "<node>"}
 *
 * A bad query parameter is a 400 naming it; an unknown cluster a 404.
 */
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';

import type { IntentOp } from '../../ports/records.js';
import { type BackupApi, backupRoutes } from './backup-routes.js';
import { ApiError, httpApp, integerParam, type QueryParam, readBody, readQuery } from './common.js';

export { ApiError, assertSafeBind, listenOn } from './common.js';

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
  /** GET/POST /backups (backup-routes.ts); absent: 501 */
  backups?: BackupApi;
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

/** A stream id of the event history, as the coordination store's readHistory takes it. */
const EVENT_ID = /^\d{1,20}(-\d{1,20})?$/;
const SINCE: QueryParam<string> = {
  accepts: '0 (every event) or an event id such as 1700000000000-0',
  read: (v) => (v === '0' || EVENT_ID.test(v) ? v : undefined),
};
const MAX_EVENTS = 1000;
const COUNT = integerParam(`a whole number from 1 to ${MAX_EVENTS}`, 1, MAX_EVENTS);

const COMMANDS: [string, string, string][] = [
  ['Failover', 'POST', '/failover'],
  ['Failback', 'POST', '/failback'],
  ['Switchover', 'POST', '/switchover -H \'Content-Type: application/json\' -d \'{"to":"pg2"}\''],
  ['Topologia', 'GET', '/topology'],
  ['Eventos', 'GET', '/events?since=0'],
  ['Backups', 'GET', '/backups'],
  ['Salud', 'GET', '/health'],
  ['Metricas', 'GET', '/metrics'],
];

/** `?cluster=`, and the cluster a request is about (the first one when not given). */
interface Clusters {
  param: QueryParam<string>;
  named(name: string | undefined): string;
}

function clustersOf(known: string[]): Clusters {
  return {
    param: {
      accepts: `a cluster name (${known.join(', ')})`,
      read: (v) => (v.length > 0 && v.length <= 63 ? v : undefined),
    },
    named: (name) => {
      const n = name ?? known[0]!;
      if (!known.includes(n))
        throw new ApiError(404, `unknown cluster ${n}: known clusters are ${known.join(', ')}`);
      return n;
    },
  };
}

export function buildSentinelApi(deps: SentinelApiDeps): FastifyInstance {
  const app = httpApp({
    bodyLimit: 64 * 1024,
    token: deps.token,
    routesHint: 'GET / lists the commands',
  });
  const clusters = clustersOf(deps.clusters);
  readRoutes(app, deps, clusters);
  intentRoutes(app, deps, clusters);
  backupRoutes(app, deps.backups, clusters);
  return app;
}

/** GET /, /health, /topology, /status, /events, /metrics. */
function readRoutes(app: FastifyInstance, deps: SentinelApiDeps, clusters: Clusters): void {
  app.get('/', async (req) => {
    readQuery(req, {});
    const base = `http://${req.headers.host ?? `${deps.host}:${deps.port}`}`;
    const commands = Object.fromEntries(
      COMMANDS.map(([name, method, path]) => [
        name,
        method === 'GET' ? `curl ${base}${path}` : `curl -X POST ${base}${path}`,
      ]),
    );
    return { Comandos: commands };
  });
  app.get('/health', async (req, reply) => {
    readQuery(req, {});
    const h = deps.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  app.get('/topology', async (req) => {
    const q = readQuery(req, { cluster: clusters.param });
    return deps.topology(clusters.named(q.cluster));
  });
  app.get('/status', async (req) => {
    const q = readQuery(req, { cluster: clusters.param });
    return deps.status(clusters.named(q.cluster));
  });
  app.get('/events', async (req) => {
    const q = readQuery(req, { cluster: clusters.param, since: SINCE, count: COUNT });
    return deps.events(clusters.named(q.cluster), q.since ?? '0', q.count ?? 100);
  });
  app.get('/metrics', async (req, reply) => {
    readQuery(req, {});
    const body = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(body);
  });
}

/** POST /failover, /failback, /switchover: validate the request, hand it to the intent handler. */
function intentRoutes(app: FastifyInstance, deps: SentinelApiDeps, clusters: Clusters): void {
  for (const intent of ['failover', 'failback', 'switchover'] as const) {
    app.post(`/${intent}`, async (req, reply) => {
      const handler = deps.intents?.[intent];
      if (!handler)
        throw new ApiError(
          501,
          `${intent} through the API is not available in this version: automatic failover runs on its own`,
        );
      const q = readQuery(req, { cluster: clusters.param });
      const body = readBody(req, BODIES[intent].schema, BODIES[intent].shape);
      const cluster = clusters.named(q.cluster);
      const r = await handler(cluster, body, { requestedBy: `api ${req.ip}` });
      return reply.code(r.code).send(r.body);
    });
  }
}
