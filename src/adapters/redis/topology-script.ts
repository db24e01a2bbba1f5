/**
 * The topology compare-and-set, run atomically on each Redis server (DESIGN.md, "Epoch").
 * Same rule as `acceptsTopologyWrite` in majority.ts (the fake runs that one):
 *
 *   stored epoch == next and committedBy == writer  -> accept (idempotent retry)
 *   cas:    stored epoch <= expected                -> accept (== normal, < repairs a server
 *                                                     that missed commits while it was down)
 *   update: stored epoch <  next                    -> accept (repair)
 *   anything else                                   -> refuse
 *
 * so a server accepts at most one writer per epoch. The value is the whole topology JSON
 * with `epoch` and `committedBy` inside it; an absent or unreadable value counts as epoch 0.
 *
 * KEYS[1] topology key
 * ARGV[1] 'cas' | 'update'   ARGV[2] expected epoch (cas)   ARGV[3] next epoch
 * ARGV[4] writer             ARGV[5] topology JSON
 * Returns { accepted (1|0), stored epoch before the write }.
 */
import { createHash } from 'node:crypto';

import type { Redis } from 'ioredis';

export const TOPOLOGY_SCRIPT = `
local stored = 0
local by = false
local raw = redis.call('GET', KEYS[1])
if raw then
  local ok, t = pcall(cjson.decode, raw)
  if ok and type(t) == 'table' then
    stored = tonumber(t['epoch']) or 0
    if type(t['committedBy']) == 'string' then by = t['committedBy'] end
  end
end
local nextEpoch = tonumber(ARGV[3])
local accept
if raw and stored == nextEpoch and by == ARGV[4] then
  accept = true
elseif ARGV[1] == 'cas' then
  accept = stored <= tonumber(ARGV[2])
else
  accept = stored < nextEpoch
end
if accept then
  redis.call('SET', KEYS[1], ARGV[5])
  return {1, stored}
end
return {0, stored}
`;

const SHA = createHash('sha1').update(TOPOLOGY_SCRIPT).digest('hex');

export interface ScriptAnswer {
  accepted: boolean;
  storedEpoch: number;
}

export async function runTopologyScript(
  client: Redis,
  key: string,
  args: {
    mode: 'cas' | 'update';
    expectedEpoch: number;
    nextEpoch: number;
    writer: string;
    json: string;
  },
): Promise<ScriptAnswer> {
  const argv = [
    args.mode,
    String(args.expectedEpoch),
    String(args.nextEpoch),
    args.writer,
    args.json,
  ];
  let reply: unknown;
  try {
    reply = await client.evalsha(SHA, 1, key, ...argv);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    reply = await client.eval(TOPOLOGY_SCRIPT, 1, key, ...argv);
  }
  if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
    throw new Error(`unexpected reply from the topology script: ${JSON.stringify(reply)}`);
  }
  return { accepted: reply[0] === 1, storedEpoch: reply[1] };
}
