/**
 * The fault schedule of a chaos run, drawn from a seed (pure: same seed, duration and options,
 * same schedule; test/unit/chaos/schedule.test.ts checks it).
 *
 * A fault names its target by role ("primary", "standby") or by name (s2, redis-3,
 * agent:primary): roles are resolved when the fault starts, from the committed topology, since
 * which node is the primary depends on the faults before it.
 *
 * The rule between faults (run.ts): ONE fault at a time. A fault is applied, held for `holdMs`,
 * reverted (continue, restart, heal), and the next one starts only once the cluster is healthy
 * again (one primary, every standby streaming from it) and has stayed so for `SETTLE_MS`, so
 * every check sees the effect of one fault and down votes, TILT and leases of the last one are
 * over. Switchover and failback calls are faults of their own, placed in the middle of the run.
 *
 * The number of faults: drawn until the planned time (hold + an allowance of
 * `RECOVERY_ALLOWANCE_MS` for recovery, per fault) fills `durationMs`. The run executes every
 * fault of the schedule, so it lasts about `durationMs` (longer when recoveries are slow).
 */
import { between, mulberry32, pick, type Rng } from './prng.js';

export const FAULT_KINDS = [
  'kill-primary',
  'stop-primary',
  'kill-standby',
  'stop-standby',
  'kill-sentinel',
  'stop-sentinel',
  'kill-agent',
  'stop-agent',
  'kill-redis',
  'stop-redis',
  'wipe-redis',
  'isolate-primary',
  'isolate-primary-oneway',
  'cut-sentinels-primary',
  'cut-sentinels-primary-oneway',
  'split-sentinels',
  'split-redis',
  'split-redis-oneway',
  'cut-primary-redis',
  'split-minority',
  'switchover',
  'failback',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

interface KindInfo {
  /** how long the fault is held, ms [lo, hi] */
  hold: [number, number];
  /**
   * An automatic failover during this fault (or within the grace after it) is justified: the
   * primary is down, or cut off from its standbys and the Redis majority (so its agent fences
   * it), i.e. not "healthy and reachable by a quorum". Check (e) uses it.
   */
  justifiesFailover: boolean;
  what: string;
}

export const KINDS: Record<FaultKind, KindInfo> = {
  'kill-primary': {
    hold: [2000, 6000],
    justifiesFailover: true,
    what: "SIGKILL of the primary's postmaster (its agent restarts or rejoins it)",
  },
  'stop-primary': {
    hold: [1000, 8000],
    justifiesFailover: true,
    what: "SIGSTOP of the primary's postgres (every process), SIGCONT after the hold",
  },
  'kill-standby': {
    hold: [2000, 6000],
    justifiesFailover: false,
    what: "SIGKILL of a standby's postmaster (its agent restarts it)",
  },
  'stop-standby': {
    hold: [1000, 8000],
    justifiesFailover: false,
    what: "SIGSTOP of a standby's postgres, SIGCONT after the hold",
  },
  'kill-sentinel': {
    hold: [2000, 8000],
    justifiesFailover: false,
    what: 'SIGKILL of a sentinel, restarted after the hold',
  },
  'stop-sentinel': {
    hold: [1000, 8000],
    justifiesFailover: false,
    what: 'SIGSTOP of a sentinel, SIGCONT after the hold',
  },
  'kill-agent': {
    hold: [2000, 8000],
    justifiesFailover: false,
    what: 'SIGKILL of an agent (of the primary or a standby), restarted after the hold',
  },
  'stop-agent': {
    hold: [1000, 8000],
    justifiesFailover: false,
    what: 'SIGSTOP of an agent, SIGCONT after the hold',
  },
  'kill-redis': {
    hold: [2000, 8000],
    justifiesFailover: false,
    what: 'SIGKILL of one Redis server, restarted (with its append-only file) after the hold',
  },
  'stop-redis': {
    hold: [1000, 8000],
    justifiesFailover: false,
    what: 'SIGSTOP of one Redis server, SIGCONT after the hold',
  },
  'wipe-redis': {
    hold: [1000, 5000],
    justifiesFailover: false,
    what: 'FLUSHALL on one Redis server, SIGKILL, restarted empty after the hold',
  },
  'isolate-primary': {
    hold: [4000, 12000],
    justifiesFailover: true,
    what: 'the primary cut off (two-way) from every standby, sentinel and Redis server',
  },
  'isolate-primary-oneway': {
    hold: [4000, 12000],
    justifiesFailover: true,
    what: 'every packet FROM the primary to standbys, sentinels and Redis dropped (one-way)',
  },
  'cut-sentinels-primary': {
    hold: [4000, 12000],
    justifiesFailover: false,
    what: 'every sentinel cut (two-way) from the primary; standbys and Redis still reach it (rule 2)',
  },
  'cut-sentinels-primary-oneway': {
    hold: [4000, 12000],
    justifiesFailover: false,
    what: 'packets from the primary to the sentinels dropped (one-way; rule 2)',
  },
  'split-sentinels': {
    hold: [3000, 10000],
    justifiesFailover: false,
    what: 'one sentinel cut (two-way) from the other sentinels and from every node',
  },
  'split-redis': {
    hold: [3000, 10000],
    justifiesFailover: false,
    what: 'one Redis server cut (two-way) from every sentinel and node',
  },
  'split-redis-oneway': {
    hold: [3000, 10000],
    justifiesFailover: false,
    what: 'packets from one Redis server to every sentinel and node dropped (one-way)',
  },
  'cut-primary-redis': {
    hold: [4000, 12000],
    justifiesFailover: true,
    what: 'the primary (its agent) cut (two-way) from every Redis server: its lease runs out',
  },
  'split-minority': {
    hold: [3000, 10000],
    justifiesFailover: false,
    what: 'one sentinel and one Redis server cut (two-way) from everything else: a minority side',
  },
  switchover: {
    hold: [0, 0],
    justifiesFailover: false,
    what: 'POST /switchover {"to": <a standby>} on a sentinel admin API',
  },
  failback: {
    hold: [0, 0],
    justifiesFailover: false,
    what: 'POST /failback on a sentinel admin API',
  },
};

/** The planned recovery time per fault (a planning figure only; run.ts waits for health). */
export const RECOVERY_ALLOWANCE_MS = 15_000;

export interface Fault {
  /** 1-based position in the schedule */
  n: number;
  kind: FaultKind;
  /** primary | standby | s2 | redis-3 | agent:primary | agent:standby | api */
  target: string;
  holdMs: number;
}

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  sentinels: number;
  redis: number;
  /** only these kinds (default: every kind, switchover and failback placed in the middle) */
  kinds?: readonly FaultKind[];
}

function targetOf(rng: Rng, kind: FaultKind, o: ScheduleOptions): string {
  const sentinel = () => `s${between(rng, 1, o.sentinels)}`;
  const redis = () => `redis-${between(rng, 1, o.redis)}`;
  switch (kind) {
    case 'kill-primary':
    case 'stop-primary':
    case 'isolate-primary':
    case 'isolate-primary-oneway':
    case 'cut-sentinels-primary':
    case 'cut-sentinels-primary-oneway':
    case 'cut-primary-redis':
      return 'primary';
    case 'kill-standby':
    case 'stop-standby':
      return 'standby';
    case 'kill-sentinel':
    case 'stop-sentinel':
    case 'split-sentinels':
      return sentinel();
    case 'split-minority':
      return `${sentinel()}+${redis()}`;
    case 'kill-agent':
    case 'stop-agent':
      return pick(rng, ['agent:primary', 'agent:standby']);
    case 'kill-redis':
    case 'stop-redis':
    case 'wipe-redis':
    case 'split-redis':
    case 'split-redis-oneway':
      return redis();
    case 'switchover':
    case 'failback':
      return 'api';
    default: {
      const never: never = kind;
      throw new Error(`unknown fault kind ${String(never)}`);
    }
  }
}

/** Parse `--faults a,b,c`: one clear line naming a bad kind. */
export function parseKinds(list: string): FaultKind[] {
  const kinds = list
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  for (const k of kinds)
    if (!(FAULT_KINDS as readonly string[]).includes(k))
      throw new Error(`--faults: unknown fault kind ${k}: use some of ${FAULT_KINDS.join(', ')}`);
  if (kinds.length === 0) throw new Error('--faults: name at least one fault kind');
  return kinds as FaultKind[];
}

export function drawSchedule(o: ScheduleOptions): Fault[] {
  const rng = mulberry32(o.seed);
  const all = o.kinds === undefined;
  const pool = (o.kinds ?? FAULT_KINDS).filter(
    (k) => !all || (k !== 'switchover' && k !== 'failback'),
  );
  const faults: Omit<Fault, 'n'>[] = [];
  let planned = 0;
  while (planned < o.durationMs || faults.length === 0) {
    const kind = pick(rng, pool);
    const [lo, hi] = KINDS[kind].hold;
    const f = {
      kind,
      target: targetOf(rng, kind, o),
      holdMs: between(rng, lo / 100, hi / 100) * 100,
    };
    faults.push(f);
    planned += f.holdMs + RECOVERY_ALLOWANCE_MS;
  }
  if (all && faults.length >= 2) {
    // the operator's calls in the middle of the faults: a switchover at 1/3, a failback at 2/3
    faults.splice(Math.floor((2 * faults.length) / 3), 0, {
      kind: 'failback',
      target: 'api',
      holdMs: 0,
    });
    faults.splice(Math.floor(faults.length / 3), 0, {
      kind: 'switchover',
      target: 'api',
      holdMs: 0,
    });
  }
  return faults.map((f, i) => ({ ...f, n: i + 1 }));
}

export function describeFault(f: Fault): string {
  return `#${f.n} ${f.kind} ${f.target}${f.holdMs ? ` for ${f.holdMs} ms` : ''}`;
}
