/**
 * The agent's `POST /stop` reply across the wire: the agent API (agent-api.ts) checks what it
 * sends and the sentinel's AgentClient decodes it, both with StopResultSchema
 * (src/ports/records.ts). Real sockets on loopback.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';

import { buildAgentApi } from '../../../../src/adapters/http/agent-api.js';
import { AgentClient } from '../../../../src/adapters/http/agent-client.js';
import { AgentRefused } from '../../../../src/core/errors.js';
import type { StopResult } from '../../../../src/ports/agent-control.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function agentApi(stop: (epoch: number) => Promise<StopResult>): Promise<string> {
  const app: FastifyInstance = buildAgentApi({
    health: () => ({ ok: true }),
    primary: () => ({ ok: true }),
    replica: () => ({ ok: true }),
    status: () => ({}),
    stop,
    start: async () => ({}),
  });
  closers.push(() => app.close());
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** An agent that answers /stop with `body` as it is (an older or broken one). */
async function rawAgent(body: unknown): Promise<string> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const client = new AgentClient();

describe('POST /stop', () => {
  it('hands the checkpoint from the agent to the sentinel', async () => {
    const stopped = { checkpointLsn: 50_331_688, checkpointLsnText: '0/3000028', timeline: 1 };
    const url = await agentApi(async () => stopped);
    expect(await client.stop({ name: 'pg1', url }, 2, 2000)).toEqual(stopped);
  });

  it('refuses with 502 a reply that carries no checkpointLsn', async () => {
    for (const body of [{ status: 'success' }, { status: 'success', checkpointLsn: 0 }]) {
      const url = await rawAgent(body);
      const stop = client.stop({ name: 'pg1', url }, 2, 2000);
      await expect(stop).rejects.toBeInstanceOf(AgentRefused);
      await expect(stop).rejects.toMatchObject({
        statusCode: 502,
        message: `agent of pg1 stopped it but sent no checkpointLsn (${JSON.stringify(body)})`,
      });
    }
  });

  it('takes an older agent reply without the text or the timeline', async () => {
    const url = await rawAgent({ status: 'success', checkpointLsn: 4096 });
    expect(await client.stop({ name: 'pg1', url }, 2, 2000)).toEqual({
      checkpointLsn: 4096,
      checkpointLsnText: '4096',
    });
  });

  it('has the agent say so, rather than send a reply the sentinel would drop', async () => {
    const url = await agentApi(async () => ({ checkpointLsn: 0, checkpointLsnText: '0/0' }));
    await expect(client.stop({ name: 'pg1', url }, 2, 2000)).rejects.toMatchObject({
      statusCode: 500,
      message: expect.stringMatching(/refused \/stop: postgres stopped, but without a checkpoint/),
    });
  });
});
