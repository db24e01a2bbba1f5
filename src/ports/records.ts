/**
 * Every record that crosses a process boundary, as the one zod schema its writer and its readers
 * share: what the sentinels and agents keep in Redis (topology, votes, presence, pause, the
 * records of the record API: intents, their results, the leader's verdict), the events on the
 * channel and in the history stream, and the agent's answer to `POST /stop`.
 *
 * Decoding rules (the adapters apply them, src/adapters/redis/majority.ts):
 * - Lenient where a newer version may add to a record: objects are loose (a field a reader does
 *   not know is kept, so a topology read and written back by an older sentinel loses nothing),
 *   and an event of an unknown `type` passes on its envelope alone.
 * - Strict where a decision rests on a field: an epoch is a non-negative integer, names are
 *   strings, roles and states are the known ones. A value that fails counts as absent (an
 *   unreadable topology, vote, presence or record copy) or, for the pause record, as paused.
 * - Writers validate before writing: storing what every reader would drop is a bug, and for
 *   the topology it would leave an epoch on the servers that no reader sees (no CAS could win).
 *
 * Each schema `satisfies z.ZodType<T>` of the TypeScript type its code uses (core types keep
 * their shapes), so a decoded value is a `T`; test/unit/ports/records.test.ts checks the other
 * direction (every `T` fits its schema).
 */
import { z } from 'zod';

import type { Verdict } from '../core/agent/model.js';
import type {
  NodeView,
  PauseState,
  SentinelPresence,
  Topology,
  TopologyNode,
  Vote,
} from '../core/model.js';
import type { StopResult } from './agent-control.js';

/** A fencing token: the epoch of a committed topology (0 before the first commit). */
const Epoch = z.int().nonnegative();
/** Wall-clock epoch milliseconds. */
const WallMs = z.number();
const NodeRoleSchema = z.enum(['primary', 'standby']);

// ---- coordination keys ----------------------------------------------------------------

export const TopologyNodeSchema = z.looseObject({
  name: z.string(),
  host: z.string(),
  port: z.int().min(1).max(65_535),
  role: NodeRoleSchema,
  state: z.enum(['up', 'down', 'fenced', 'unknown']),
}) satisfies z.ZodType<TopologyNode>;

/** `<prefix>:<c>:topology`, written by the epoch CAS (the Lua script reads `epoch` itself). */
export const TopologySchema = z.looseObject({
  cluster: z.string(),
  epoch: Epoch,
  primary: z.string(),
  nodes: z.array(TopologyNodeSchema),
  syncStandbys: z.array(z.string()),
  state: z.enum(['ok', 'failing-over', 'switching-over', 'degraded']),
  updatedAt: z.string(),
  reason: z.string(),
  previousPrimary: z.string().optional(),
  lastFailoverWall: WallMs.optional(),
  committedBy: z.string().optional(),
  fenced: z.array(z.string()).optional(),
}) satisfies z.ZodType<Topology>;

/** `<prefix>:<c>:vote:<sentinel>` (PX TTL). */
export const VoteSchema = z.looseObject({
  sentinel: z.string(),
  epoch: Epoch,
  primary: z.string(),
  down: z.boolean(),
  reason: z.string(),
  atWall: WallMs,
}) satisfies z.ZodType<Vote>;

export const NodeViewSchema = z.looseObject({
  up: z.boolean(),
  role: NodeRoleSchema.nullable(),
  lagBytes: z.number().nullable(),
  lagSeconds: z.number().nullable(),
  evidence: z.string(),
}) satisfies z.ZodType<NodeView>;

/** `<prefix>:<c>:sentinel:<id>` (PX TTL). */
export const SentinelPresenceSchema = z.looseObject({
  id: z.string(),
  api: z.string().nullable(),
  leader: z.boolean(),
  atWall: WallMs,
  tilt: z.boolean(),
  version: z.string(),
  view: z.record(z.string(), NodeViewSchema).optional(),
  slots: z
    .array(
      z.looseObject({
        name: z.string(),
        active: z.boolean(),
        retainedBytes: z.number().nullable(),
        walStatus: z.string().nullable(),
      }),
    )
    .optional(),
}) satisfies z.ZodType<SentinelPresence>;

/** `<prefix>:<c>:paused`. A copy that fails is read as UNREADABLE_PAUSE (the safe side). */
export const PauseStateSchema = z.looseObject({
  paused: z.boolean(),
  by: z.string().optional(),
  atWall: WallMs.optional(),
  reason: z.string().optional(),
}) satisfies z.ZodType<PauseState>;

/** What an unreadable pause record means: paused, so no automatic failover. */
export const UNREADABLE_PAUSE: Readonly<PauseState> = Object.freeze({
  paused: true,
  reason: 'unreadable pause record',
});

/**
 * `<prefix>:<c>:events` and `...:history`: the envelope every event carries (core/events.ts,
 * stamped by the runtime's event function). The type-specific fields pass as they are, so an
 * event type from a newer version still reaches subscribers; the one a client acts on, the
 * topology of `topology-changed`, must be a readable topology. The decoded value is not
 * checked against the `StampedEvent` union beyond that.
 */
export const StampedEventSchema = z
  .looseObject({
    type: z.string().min(1),
    cluster: z.string(),
    epoch: Epoch,
    at: z.string(),
    id: z.string().min(1),
  })
  .refine((e) => e.type !== 'topology-changed' || TopologySchema.safeParse(e.topology).success, {
    message: 'a topology-changed event must carry a readable topology',
    path: ['topology'],
  });

// ---- the record API (CoordinationStore.putRecord / claimRecord / getRecord) -----------

/** What every record of the record API carries: `deleteRecord` matches `id`, ties go to `atWall`. */
export interface StoredRecord {
  id: string;
  atWall: number;
}

/** A bare record: what `getRecord` decodes with when the caller needs no more than this. */
export const StoredRecordSchema = z.looseObject({
  id: z.string(),
  atWall: WallMs,
}) satisfies z.ZodType<StoredRecord>;

export type IntentOp = 'switchover' | 'failback' | 'failover';

/** An operator request, claimed by the admin API or the CLI, run by the leader. */
export interface IntentRecord extends StoredRecord {
  op: IntentOp;
  to?: string;
  requestedBy: string;
}

export const IntentRecordSchema = StoredRecordSchema.extend({
  op: z.enum(['switchover', 'failback', 'failover']),
  to: z.string().optional(),
  requestedBy: z.string(),
}) satisfies z.ZodType<IntentRecord>;

export interface IntentBody {
  status: 'success' | 'error';
  message: string;
  [field: string]: unknown;
}

/** The answer to an intent: an HTTP status and its JSON body. */
export interface IntentReply {
  code: number;
  body: IntentBody;
}

/** The leader's answer to the intent of the same id. */
export interface IntentResultRecord extends StoredRecord, IntentReply {}

export const IntentResultRecordSchema = StoredRecordSchema.extend({
  code: z.int().min(100).max(599),
  body: z.looseObject({ status: z.enum(['success', 'error']), message: z.string() }),
}) satisfies z.ZodType<IntentResultRecord>;

/** The sentinel leader's verdict for the agents (core/agent/model.ts). */
export const VerdictSchema = StoredRecordSchema.extend({
  epoch: Epoch,
  primary: z.string(),
  kind: z.enum(['observe', 'vote-down', 'failover']),
  reason: z.string(),
  sinceWall: WallMs,
  by: z.string().optional(),
}) satisfies z.ZodType<Verdict>;

/**
 * Every record of the record API: its name (the key is `<prefix>:<cluster>:<name>`, composed by
 * src/adapters/redis/keys.ts) with the schema its writer and its readers share.
 */
export const RECORDS = {
  /** the pending operator intent (SET NX: one at a time per cluster) */
  intent: { name: 'intent', schema: IntentRecordSchema },
  /** the leader's answer to intent `id` */
  intentResult: (id: string) => ({ name: `intent-result:${id}`, schema: IntentResultRecordSchema }),
  /** the leader's verdict on the primary, rewritten every second */
  verdict: { name: 'verdict', schema: VerdictSchema },
} as const;

// ---- the agent API --------------------------------------------------------------------

/**
 * The agent's answer to `POST /stop` (beside `status: 'success'`). `checkpointLsn` must be a
 * position (> 0): without it the sentinel cannot tell when the standby has everything. The
 * rest is for messages only, so it is lenient: a missing or unreadable `checkpointLsnText`
 * becomes the number, an unreadable `timeline` (pg_controldata without one) is left out.
 */
export const StopResultSchema = z
  .object({
    checkpointLsn: z.number().positive(),
    checkpointLsnText: z.string().optional().catch(undefined),
    timeline: z.int().positive().optional().catch(undefined),
  })
  .transform(({ checkpointLsn, checkpointLsnText, timeline }): StopResult => ({
    checkpointLsn,
    checkpointLsnText: checkpointLsnText ?? String(checkpointLsn),
    ...(timeline === undefined ? {} : { timeline }),
  })) satisfies z.ZodType<StopResult>;
