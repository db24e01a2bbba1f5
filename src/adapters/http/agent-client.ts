/**
 * The agent control port (src/ports/agent-control.ts) over the agents' HTTP API:
 * `POST /stop {epoch}` and `POST /start {epoch}` (and `POST /backups {type}`, which a sentinel
 * relays under backup.localOnly), with `Authorization: Bearer
 * <sentinel.api.token>` when a token is set. A fetch failure is `AgentUnreachable`, a 4xx/5xx
 * answer `AgentRefused`.
 */
import { AgentRefused, AgentUnreachable } from '../../core/errors.js';
import type { AgentControl, AgentTarget, StopResult } from '../../ports/agent-control.js';
import { StopResultSchema } from '../../ports/records.js';

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
    const reply = StopResultSchema.safeParse(body);
    // checkpointLsn is the only field that can fail: the others are lenient (StopResultSchema)
    if (!reply.success)
      throw new AgentRefused(
        502,
        `agent of ${node.name} stopped it but sent no checkpointLsn (${JSON.stringify(body).slice(0, 200)})`,
      );
    return reply.data;
  }

  async start(node: AgentTarget, epoch: number, timeoutMs: number): Promise<void> {
    await this.#post(node, '/start', { epoch }, timeoutMs);
  }

  /** `POST /backups {type}`: the agent starts a backup on its machine (backup.localOnly). */
  async backup(
    node: AgentTarget,
    type: 'full' | 'incr' | 'diff',
    timeoutMs: number,
  ): Promise<void> {
    await this.#post(node, '/backups', { type }, timeoutMs);
  }
}
