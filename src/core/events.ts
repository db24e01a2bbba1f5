/**
 * Every event pgvigil emits. Core builds them (without `at`/`id`, which the runtime stamps),
 * the runtime's single event function publishes them to the channel and the history stream,
 * logs them and feeds metrics.
 */
import type { Topology } from './model.js';

interface Base {
  cluster: string;
  epoch: number;
}

export type PgvigilEvent =
  | (Base & { type: 'node-down'; node: string; sentinel: string; reason: string })
  | (Base & { type: 'node-up'; node: string; sentinel: string })
  | (Base & {
      type: 'primary-odown';
      primary: string;
      votes: number;
      quorum: number;
      sentinels: string[];
    })
  | (Base & { type: 'failover-started'; from: string; to: string; kind: 'automatic' | 'manual' })
  | (Base & {
      type: 'failover-completed';
      from: string;
      to: string;
      durationMs: number;
      lostBytesUpperBound: number;
    })
  | (Base & { type: 'failover-aborted'; reason: string; from?: string; to?: string })
  /** the primary is objectively down but a safety rule holds the failover back (held.ts) */
  | (Base & {
      type: 'failover-held';
      primary: string;
      reason: string;
      evidence: string;
      sentinel: string;
    })
  | (Base & { type: 'switchover-started'; from: string; to: string })
  | (Base & { type: 'switchover-completed'; from: string; to: string; durationMs: number })
  | (Base & { type: 'switchover-aborted'; reason: string; from?: string; to?: string })
  | (Base & { type: 'paused'; by: string; reason?: string })
  | (Base & { type: 'resumed'; by: string })
  | (Base & { type: 'node-fenced'; node: string; by: string; reason: string })
  | (Base & { type: 'slot-dropped'; node: string; slot: string; by: string; reason: string })
  | (Base & { type: 'node-unfenced'; node: string; by: string; reason: string })
  | (Base & { type: 'node-rejoined'; node: string; method: 'restart' | 'rewind' | 'basebackup' })
  | (Base & { type: 'topology-changed'; topology: Topology })
  | (Base & { type: 'backup-started'; backupType: string; node: string })
  | (Base & { type: 'backup-completed'; backupType: string; node: string; label: string })
  | (Base & { type: 'backup-failed'; backupType: string; node: string; error: string });

export type EventType = PgvigilEvent['type'];

/** An event as published: stamped by the runtime. */
export type StampedEvent = PgvigilEvent & { at: string; id: string };
