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
 * Returns { accepted (1|0), stored epoch before the write, the previous raw value or '' }.
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
  return {1, stored, raw or ''}
end
return {0, stored, ''}
`;

/**
 * Undo a CAS that lost overall: on a server that accepted it, put the previous value back, but
 * only while the stored topology is still exactly that write (epoch ARGV[1] by writer ARGV[2]).
 * Without it, readers taking the highest epoch could see a topology that never committed.
 * ARGV[3] is the previous raw value ('' = the key was absent).
 */
export const REVERT_SCRIPT = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local ok, t = pcall(cjson.decode, raw)
if ok and type(t) == 'table' and tonumber(t['epoch']) == tonumber(ARGV[1]) and t['committedBy'] == ARGV[2] then
  if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3]) end
  return 1
end
return 0
`;

const SHA = createHash('sha1').update(TOPOLOGY_SCRIPT).digest('hex');

export interface ScriptAnswer {
  accepted: boolean;
  storedEpoch: number;
  /** the value replaced by an accepted write ('' when the key was absent) */
  previous: string;
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
  return {
    accepted: reply[0] === 1,
    storedEpoch: reply[1],
    previous: typeof reply[2] === 'string' ? reply[2] : '',
  };
}
