/**
 * `npm run test:containers`: the docker-compose stack for real, on a Docker engine of its own
 * (engine.ts). As root only (one line otherwise). Steps, each timed: install docker.io,
 * docker-compose and debootstrap; start dockerd; build the base images the Dockerfile and
 * docker-compose.yml name as local stand-ins (Debian bookworm + the host's Node 20, or the
 * Debian package of redis/haproxy/prometheus); build pgvigil's images (build network host);
 * `docker-compose up` (Grafana left out: no Debian package of it exists to stand in); a writer
 * through HAProxy; `docker kill postgres_master`; writes continue on postgres_slave, which
 * then backs up into ./backups itself (`docker exec postgres_slave pgvigil backup run`);
 * POST /failback; Prometheus has scraped every target; a full backup through POST
 * :8088/backups (relayed to the primary's agent) and `redis-cli KEYS backup:*` lists it. Published ports are stripped from a
 * copy of docker-compose.yml (the host's ports may be taken by other tests): the test reaches
 * each container at its link-local address instead. Tears down what it started.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { eventually } from '../helpers/pg.js';
import {
  buildStandIn,
  debianBase,
  type Engine,
  installPackages,
  startEngine,
  step,
} from './engine.js';

const root = join(import.meta.dirname, '../..');
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.log('test:containers skipped: needs root (its own dockerd)');

const BASE = 'pgvigil-test/bookworm:minbase';
/** docker's own timeout of a health probe in the test's copy of the compose file (see below) */
const HEALTHCHECK_TIMEOUT = '60s';
const apt = (pkgs: string) =>
  `RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkgs} && rm -rf /var/lib/apt/lists/*`;
/** stand-ins of the images the Dockerfile and docker-compose.yml name */
const STAND_INS: Record<string, { dockerfile: string; files?: Record<string, string> }> = {
  'node:20-bookworm-slim': {
    dockerfile: `FROM ${BASE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
`,
    // the host's CA bundle: npm ci in the build goes through this machine's TLS proxy
    files: {
      node: process.execPath,
      npm: '/usr/lib/node_modules/npm',
      'ca.crt': '/etc/ssl/certs/ca-certificates.crt',
    },
  },
  'redis:7-bookworm': { dockerfile: `FROM ${BASE}\n${apt('redis-server redis-tools')}\n` },
  'haproxy:2.6': {
    dockerfile: `FROM ${BASE}\n${apt('haproxy')}\nCMD ["haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]\n`,
  },
  'prom/prometheus:v2.45.0': {
    dockerfile: `FROM ${BASE}\n${apt('prometheus wget')}\nRUN mkdir -p /prometheus && chmod 777 /prometheus\nENTRYPOINT ["/usr/bin/prometheus"]\n`,
  },
};
const SERVICES = [
  'redis',
  'redis2',
  'redis3',
  'postgres_master',
  'postgres_slave',
  'sentinel1',
  'sentinel2',
  'sentinel3',
  'haproxy',
  'prometheus',
];

/** what a failed run needs: every container's state and restart count, and the pgvigil logs */
function diagnose(e: Engine, tag: string): void {
  const dir = join(tmpdir(), 'pgvigil-containers-diag');
  mkdirSync(dir, { recursive: true });
  const grab = (name: string, args: string[]) => {
    try {
      writeFileSync(join(dir, `${tag}-${name}`), e.docker(args));
    } catch (err) {
      writeFileSync(join(dir, `${tag}-${name}`), String(err));
    }
  };
  grab('ps', ['ps', '-a', '--format', '{{.Names}} {{.Status}}']);
  grab('master-state', [
    'inspect',
    '-f',
    '{{json .State}} restarts={{.RestartCount}}',
    'postgres_master',
  ]);
  for (const c of ['sentinel1', 'sentinel2', 'sentinel3', 'postgres_slave', 'postgres_master'])
    grab(`${c}.log`, ['logs', '--timestamps', c]);
  console.log(`[containers] diagnostics in ${dir}`);
}

describe.runIf(isRoot)('docker-compose stack for real', () => {
  let e: Engine | undefined;
  let work = '';
  let compose: (args: string[]) => string;
  const env = Object.fromEntries(
    readFileSync(join(root, '.env.example'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const ip = (container: string) =>
    e!
      .docker([
        'inspect',
        '-f',
        '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
        container,
      ])
      .trim();

  const redisCli = (args: string[]) =>
    e!.docker([
      'exec',
      '-e',
      `REDISCLI_AUTH=${env.PGVIGIL_COORDINATION__PASSWORD}`,
      'redis',
      'redis-cli',
      '--no-auth-warning',
      ...args,
    ]);
  /** HGETALL as an object (redis-cli prints field and value on alternate lines) */
  const hgetall = (key: string): Record<string, string> => {
    const lines = redisCli(['HGETALL', key]).split('\n');
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i]!] = lines[i + 1]!;
    return out;
  };
  /** the backup sets pgBackRest wrote into the stack's ./backups (stanza main) */
  const backupLabels = (): string[] => {
    const dir = join(work, 'backups', 'backup', 'main');
    return existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{8}-\d{6}F/.test(f)) : [];
  };

  beforeAll(async () => {
    await step('install docker.io, docker-compose, debootstrap', () => installPackages());
    e = await step('start dockerd', () => startEngine());
    await step('debootstrap base image', () => debianBase(e!, BASE));
    for (const [tag, s] of Object.entries(STAND_INS))
      await step(`stand-in ${tag}`, () => buildStandIn(e!, tag, s.dockerfile, s.files));
    work = mkdtempSync(join(tmpdir(), 'pgvigil-compose-'));
    const doc = YAML.parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), {
      merge: true,
    }) as {
      services: Record<
        string,
        {
          ports?: unknown;
          build?: { context: string };
          healthcheck?: { timeout?: string };
          volumes?: string[];
        }
      >;
    };
    // ./backups of the stack, here a directory of the test's own (a developer's ./backups stays
    // untouched), owned by the node image's postgres as README says to do
    mkdirSync(join(work, 'backups'));
    chownSync(join(work, 'backups'), 999, 999);
    for (const s of Object.values(doc.services)) {
      delete s.ports;
      s.volumes = s.volumes?.map((v) =>
        v.startsWith('./backups:') ? v.replace('./backups', join(work, 'backups')) : v,
      );
      // No upstream DNS answers inside this engine (iptables off, no NAT), so Docker 20.10's
      // embedded DNS never answers the name of a stopped container: each lookup of
      // postgres_master after docker kill hangs 10 s (EAI_AGAIN). Left so on purpose: the
      // sentinels' shared lookup (src/adapters/postgres/lookup.ts) is what keeps those lookups
      // from queueing the ones of postgres_slave; without it no promotion completed here.
      // Docker 20.10 stopped probing a container for good after one probe exceeded its
      // timeout (seen here: Health.Log ends with "Health check exceeded timeout (3s)", no probe
      // for 6 minutes after, so compose up waited forever on service_healthy); under this
      // machine's load a node process can take 3 s just to start. The check itself gives up
      // after 2 s (docker/healthcheck.mjs), so a long docker timeout changes no verdict.
      if (s.healthcheck) s.healthcheck.timeout = HEALTHCHECK_TIMEOUT;
      if (s.build) s.build.context = root;
    }
    delete doc.services.grafana;
    const file = join(root, '.containers-test.compose.yml'); // beside the repo: ./config mounts resolve
    writeFileSync(file, YAML.stringify(doc, { aliasDuplicateObjects: false }));
    writeFileSync(
      join(work, '.env'),
      Object.entries(env)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n'),
    );
    compose = (args) =>
      execFileSync(
        'docker-compose',
        ['-p', 'pgvigiltest', '-f', file, '--env-file', join(work, '.env'), ...args],
        {
          cwd: root,
          env: { ...process.env, DOCKER_HOST: e!.host, COMPOSE_DOCKER_CLI_BUILD: '0' },
          encoding: 'utf8',
          timeout: 1_200_000,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
    await step('build pgvigil images', () => compose(['build']));
    await step('compose up', () => compose(['up', '-d', ...SERVICES]));
  }, 1_800_000);

  afterAll(async () => {
    if (e) {
      try {
        compose(['down', '-v', '--remove-orphans', '--rmi', 'all']);
      } catch {
        /* the engine goes anyway */
      }
      await e.stop();
    }
    rmSync(join(root, '.containers-test.compose.yml'), { force: true });
    if (work) rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('every service healthy; a writer through HAProxy survives docker kill postgres_master', async () => {
    await step('healthy', () =>
      eventually(
        async () => {
          const out = e!.docker(['ps', '--format', '{{.Names}} {{.Status}}']);
          return SERVICES.every((s) =>
            new RegExp(`^${s} .*\\(healthy\\)|^${s} Up`, 'm').test(out),
          ) && !/starting|unhealthy/.test(out)
            ? out
            : undefined;
        },
        300_000,
        2000,
      ),
    );
    const conn = {
      host: ip('haproxy'),
      port: 5000,
      user: 'postgres',
      password: env.PGVIGIL_CLUSTERS__MAIN__PASSWORD,
      database: 'postgres',
      connectionTimeoutMillis: 1000,
      query_timeout: 2000,
    };
    const acked: number[] = [];
    let stop = false;
    const writer = (async () => {
      let c: pg.Client | null = null;
      while (!stop) {
        try {
          if (!c) {
            c = new pg.Client(conn);
            c.on('error', () => undefined);
            await c.connect();
            await c.query('CREATE TABLE IF NOT EXISTS w (id serial PRIMARY KEY, at timestamptz)');
          }
          await c.query('INSERT INTO w (at) VALUES (now())');
          acked.push(Date.now());
        } catch {
          await c?.end().catch(() => undefined);
          c = null;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      await c?.end().catch(() => undefined);
    })();
    try {
      await step('first write through HAProxy', () =>
        eventually(async () => (acked.length > 3 ? true : undefined), 60_000, 200),
      );
      e!.docker(['kill', 'postgres_master']);
      const t0 = Date.now(); // postgres_master is gone: no write it acknowledges comes after this
      const slaveSql = (q: string) =>
        e!
          .docker([
            'exec',
            '-e',
            `PGPASSWORD=${env.PGVIGIL_CLUSTERS__MAIN__PASSWORD}`,
            'postgres_slave',
            'psql',
            '-qAtX',
            '-U',
            'postgres',
            '-c',
            q,
          ])
          .trim();
      await step(
        'docker kill postgres_master -> postgres_slave promoted, a write through HAProxy',
        () =>
          eventually(
            async () =>
              slaveSql('SELECT pg_is_in_recovery()') === 'f'
                ? acked.find((t) => t > t0)
                : undefined,
            60_000,
            200,
          ),
      );
      const after = acked.length;
      await eventually(async () => (acked.length > after + 3 ? true : undefined), 10_000);
      expect(Number(slaveSql('SELECT count(*) FROM w'))).toBeGreaterThanOrEqual(after);
    } finally {
      stop = true;
      await writer;
      diagnose(e!, 'after-kill');
    }
  });

  it('the promoted postgres_slave backs up into ./backups (docker exec ... pgvigil backup run)', async () => {
    const out = await step('docker exec postgres_slave pgvigil backup run --type incr', () =>
      e!.docker(
        ['exec', 'postgres_slave', 'pgvigil', 'backup', 'run', '--type', 'incr', '--json'],
        {
          timeoutMs: 300_000,
        },
      ),
    );
    const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, string>;
    console.log(`[containers] backup run on postgres_slave: ${JSON.stringify(r)}`);
    // the first backup of the repository: pgBackRest makes the incr a full
    expect(r).toMatchObject({ status: 'ok', node: 'pg2', role: 'primary' });
    expect(r.key).toMatch(/^backup:incremental:\d{4}-\d{2}-\d{2}$/);
    expect(backupLabels()).toContain(r.label);
    expect(hgetall(r.key!).label).toBe(r.label);
  });

  it('POST :8088/failback brings the role back once postgres_master rejoins', async () => {
    e!.docker(['start', 'postgres_master']);
    const api = `http://${ip('sentinel1')}:8088`;
    const res = await step('failback', () =>
      eventually(
        async () => {
          const r = await fetch(`${api}/failback`, {
            method: 'POST',
            headers: { authorization: `Bearer ${env.PGVIGIL_SENTINEL__API__TOKEN}` },
          });
          return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
        },
        180_000,
        2000,
      ),
    );
    expect(res).toMatchObject({ status: 'success', message: 'Failback completado exitosamente' });
  });

  it('Prometheus has scraped every sentinel and agent', async () => {
    const prom = `http://${ip('prometheus')}:9090`;
    const targets = await eventually(
      async () => {
        const r = (await (await fetch(`${prom}/api/v1/targets`)).json()) as {
          data: { activeTargets: { labels: { job: string }; health: string }[] };
        };
        const t = r.data.activeTargets;
        return t.length === 5 && t.every((x) => x.health === 'up') ? t : undefined;
      },
      60_000,
      2000,
    );
    expect(targets.map((t) => t.labels.job).sort()).toEqual([
      'pgvigil-agent',
      'pgvigil-agent',
      'pgvigil-sentinel',
      'pgvigil-sentinel',
      'pgvigil-sentinel',
    ]);
  });

  it("a full through POST :8088/backups (relayed to the primary's agent); redis-cli KEYS backup:* lists it", async () => {
    const api = `http://${ip('sentinel1')}:8088`;
    const auth = { authorization: `Bearer ${env.PGVIGIL_SENTINEL__API__TOKEN}` };
    const before = backupLabels();
    // right after the failback the relay may find no primary yet (503): retried
    await step('POST /backups {"type":"full"}', () =>
      eventually(
        async () => {
          const r = await fetch(`${api}/backups`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ type: 'full' }),
          });
          return r.status === 200 ? true : undefined;
        },
        60_000,
        2000,
      ),
    );
    const key = `backup:completo:${new Date().toISOString().slice(0, 10)}`;
    const record = await step(`${key} status ok`, () =>
      eventually(
        async () => {
          const h = hgetall(key);
          return h.status === 'ok' && !before.includes(h.label ?? '') ? h : undefined;
        },
        240_000,
        2000,
      ),
    );
    console.log(`[containers] ${key}: ${JSON.stringify(record)}`);
    expect(record).toMatchObject({ type: 'full', node: 'pg1', role: 'primary', cluster: 'main' });
    expect(Number(record.size)).toBeGreaterThan(0);
    // the backup is in the host's ./backups, beside the one postgres_slave took
    expect(backupLabels()).toContain(record.label);
    const keys = redisCli(['KEYS', 'backup:*']).split('\n').filter(Boolean).sort();
    console.log(`[containers] redis-cli KEYS backup:* -> ${keys.join(' ')}`);
    expect(keys).toContain(key);
    // GET /backups shows the same record
    const list = (await (await fetch(`${api}/backups`)).json()) as {
      records: Record<string, Record<string, string>>;
    };
    expect(list.records[key]?.label).toBe(record.label);
  });

  it('sigkill-failover scenario with PGVIGIL_TEST_PROVIDER=containers (testcontainers, these images)', async () => {
    // the compose stack's containers go (its images stay): both cores for the scenario's nine
    await step('compose down (images kept)', () => compose(['down', '-v', '--remove-orphans']));
    const file = 'test/scenarios/sigkill-failover.test.ts';
    const { code, out } = await step(`${file} on the containers provider`, () =>
      vitestRun(file, {
        PGVIGIL_TEST_PROVIDER: 'containers',
        DOCKER_HOST: e!.host,
        TESTCONTAINERS_RYUK_DISABLED: 'true',
      }),
    );
    const dir = join(tmpdir(), 'pgvigil-containers-diag');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'provider-scenario.log'), out);
    // its own summary lines stay out of this log: .ci/run sums every "Tests" line it sees
    const text = stripVTControlCharacters(out);
    const shown = text.split('\n').filter((l) => !/^\s*(Tests|Test Files)\s/.test(l));
    const passed = /Tests\s+(\d+) passed/.exec(text)?.[1];
    console.log(
      `[containers] ${file} (containers provider): exit ${code}, ${passed ?? 0} passed; log in ${dir}`,
    );
    if (code !== 0) console.log(shown.slice(-60).join('\n'));
    expect(code).toBe(0);
    expect(Number(passed)).toBeGreaterThan(0);
    // down() removed what the provider started: no container or network of it is left
    expect(e!.docker(['ps', '-aq', '--filter', 'label=org.testcontainers']).trim()).toBe('');
    expect(e!.docker(['network', 'ls', '-q', '--filter', 'label=org.testcontainers']).trim()).toBe(
      '',
    );
  });
});

/** `vitest run <file>` (project scenarios) in a child process, with `env` added. */
function vitestRun(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV'),
  );
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'scenarios', file],
      { cwd: root, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}
