/**
 * TEST-ONLY switches that turn a safety rule OFF, so the fault runner (`npm run chaos`,
 * bench/chaos/) can show that its invariant checks catch the bug that follows. Read from the
 * environment here and nowhere else; never a config key (config/env.ts ignores PGVIGIL_TEST_*),
 * never reachable from the YAML file or the CLI; logged at `warn` at every start-up.
 *
 *   PGVIGIL_TEST_UNSAFE=skip-rule2   sentinels: safety rule 2 (a standby still streaming from
 *                                    the primary holds the failover) is not applied
 *   PGVIGIL_TEST_UNSAFE=skip-lease   agents: the primary's lease (rule 5: fence an unconfirmed
 *                                    primary before the sentinels can promote another) is off
 *
 * Both may be given, comma-separated. Never set it outside a test.
 */
import { ConfigError } from '../core/errors.js';

export const TEST_UNSAFE_ENV = 'PGVIGIL_TEST_UNSAFE';
const SWITCHES = ['skip-rule2', 'skip-lease'] as const;
export type UnsafeSwitch = (typeof SWITCHES)[number];

/** The switches set in `env` (empty in any normal run); an unknown one is refused. */
export function testUnsafe(env: NodeJS.ProcessEnv = process.env): ReadonlySet<UnsafeSwitch> {
  const raw = env[TEST_UNSAFE_ENV];
  const out = new Set<UnsafeSwitch>();
  if (!raw) return out;
  for (const s of raw
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!(SWITCHES as readonly string[]).includes(s))
      throw new ConfigError(
        `${TEST_UNSAFE_ENV}=${raw}: unknown switch ${s} (test-only; use ${SWITCHES.join(', ')} or unset it)`,
      );
    out.add(s as UnsafeSwitch);
  }
  return out;
}
