/** pgvigil (`localUp`: 2 nodes with agents, 3 sentinels, 1 Redis) at a timing profile: a `SystemUnderTest`. */
import { localDown, localKill, localUp } from '../../src/local/cluster.js';
import { localSecrets, superuserConnection } from '../../src/local/state.js';
import { onAbort, type RunningCluster, type SystemUnderTest } from './common.js';

export function pgvigil(profile: 'default' | 'fast'): SystemUnderTest {
  return {
    system: 'pgvigil 0.1.0',
    profile,
    settings: `${profile} timing profile, 3 sentinels, 1 Redis, agents, async`,
    async start(dir): Promise<RunningCluster> {
      const state = await localUp({
        dir,
        nodes: 2,
        sentinels: 3,
        apiPort: 0,
        profile,
        progress: () => undefined,
      });
      const pids = (): number[] => [
        ...state.sentinels.map((s) => s.pid),
        ...(state.agents ?? []).map((a) => a.pid),
        ...state.redisServers.map((r) => r.pid),
      ];
      const dropAbort = onAbort(() => {
        for (const pid of pids())
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            /* gone */
          }
      });
      const conn = superuserConnection(state, state.nodes[0]!, localSecrets(state));
      return {
        ports: state.nodes.map((n) => n.port),
        conn: {
          host: conn.host,
          user: conn.user,
          password: conn.password,
          database: conn.database,
        },
        haPids: pids,
        async crash(primaryPort) {
          const node = state.nodes.find((n) => n.port === primaryPort)!;
          const [a, b] = await Promise.all([
            localKill({ dir, name: `agent-${node.name}`, signal: 'KILL' }),
            localKill({ dir, name: node.name, signal: 'KILL' }),
          ]);
          return `${a}; ${b}`;
        },
        async teardown() {
          await localDown({ dir, quiet: true });
          dropAbort();
        },
      };
    },
  };
}
