/**
 * The secret-free slices of the configuration that core and the runtime receive (core/spec.ts):
 * a copy of each cluster without its credentials. Whatever needs a password (the Postgres and
 * process adapters) is built from the full `ClusterConfig` by a composition root.
 */
import type { ClusterSpec } from '../core/spec.js';
import type { ClusterConfig } from './types.js';

export function clusterSpec(c: ClusterConfig): ClusterSpec {
  return {
    name: c.name,
    quorum: c.quorum,
    maxLagOnFailoverBytes: c.maxLagOnFailoverBytes,
    ...(c.preferredPrimary === undefined ? {} : { preferredPrimary: c.preferredPrimary }),
    initialPrimary: c.initialPrimary,
    replication: {
      mode: c.replication.mode,
      ...(c.replication.maxSlotWalKeepSize === undefined
        ? {}
        : { maxSlotWalKeepSize: c.replication.maxSlotWalKeepSize }),
      ...(c.replication.dropSlotAfterMs === undefined
        ? {}
        : { dropSlotAfterMs: c.replication.dropSlotAfterMs }),
    },
    nodes: c.nodes.map((n) => ({ ...n })),
  };
}
