/**
 * What a sentinel asks of a node's agent during a switchover (the agent's HTTP API):
 * - `POST /stop {epoch}`: stop postgres cleanly (pg_ctl stop -m fast); answers the shutdown
 *   checkpoint's LSN. The agent refuses (409) unless `epoch` is the committed epoch, the
 *   topology is `switching-over` and its node is that topology's primary.
 * - `POST /start {epoch}`: start it again as it was (a primary) once a switchover is rolled back;
 *   returns when it accepts connections.
 * Both carry `Authorization: Bearer <sentinel.api.token>` when a token is set.
 *
 * Errors: `AgentRefused` (the agent answered 4xx/5xx: it will not do it now) and
 * `AgentUnreachable` (no answer within the timeout, connection refused).
 */
import { PgvigilError } from '../../core/errors.js';

export class AgentRefused extends PgvigilError {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}
export class AgentUnreachable extends PgvigilError {}

export interface AgentTarget {
  /** node name, for messages */
  name: string;
  /** the agent's base URL (nodes[].agent.url) */
  url: string;
}

export interface StopResult {
  /** "Latest checkpoint location" of the stopped node, in bytes */
  checkpointLsn: number;
  checkpointLsnText: string;
}

export interface AgentControl {
  stop(node: AgentTarget, epoch: number, timeoutMs: number): Promise<StopResult>;
  start(node: AgentTarget, epoch: number, timeoutMs: number): Promise<void>;
}

export class AgentClient implements AgentControl {
  readonly #token: string | undefined;

  constructor(opts: { token?: string | undefined } = {}) {
    this.#token = opts.token;
  }

  async #post(
    node: AgentTarget,
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<Record<string, unknown>> {
    const url = `${node.url.replace(/\/+$/, '')}${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1, Math.round(timeoutMs))),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : (e.cause?.code ?? e.message);
      throw new AgentUnreachable(`agent of ${node.name} (POST ${url}): ${why}`, { cause: err });
    }
    const text = await res.text().catch(() => '');
    let json: Record<string, unknown> = {};
    try {
      json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      json = { message: text.slice(0, 200) };
    }
    if (!res.ok) {
      const msg = typeof json.message === 'string' ? json.message : `HTTP ${res.status}`;
      throw new AgentRefused(res.status, `agent of ${node.name} refused ${path}: ${msg}`);
    }
    return json;
  }

  async stop(node: AgentTarget, epoch: number, timeoutMs: number): Promise<StopResult> {
    const body = await this.#post(node, '/stop', { epoch }, timeoutMs);
    const lsn = Number(body.checkpointLsn);
    if (!Number.isFinite(lsn) || lsn <= 0)
      throw new AgentRefused(
        502,
        `agent of ${node.name} stopped it but sent no checkpointLsn (${JSON.stringify(body).slice(0, 200)})`,
      );
    return {
      checkpointLsn: lsn,
      checkpointLsnText:
        typeof body.checkpointLsnText === 'string' ? body.checkpointLsnText : String(lsn),
    };
  }

  async start(node: AgentTarget, epoch: number, timeoutMs: number): Promise<void> {
    await this.#post(node, '/start', { epoch }, timeoutMs);
  }
}
