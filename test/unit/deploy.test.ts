/**
 * docker-compose.yml, the Dockerfile and what they mount, checked against the code: every
 * pgvigil service runs a real pgvigil command whose config passes pgvigil's own validation
 * (with the .env.example secrets), every published port is the one its config uses, Prometheus
 * scrapes every sentinel and agent, the Dockerfile has both targets, a non-root user and a
 * HEALTHCHECK, and the systemd units run real commands too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';
import YAML from 'yaml';

import { agentTarget } from '../../src/commands/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { DAEMON_NODE_FLAGS } from '../../src/local/node-flags.js';

const root = join(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; target: string; network?: string };
  container_name?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}
const compose = YAML.parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const pgvigil = Object.entries(services).filter(([, s]) => s.build);

/** `.command('name')` of src/cli.ts: the top-level commands pgvigil has. */
const CLI_COMMANDS = [...read('src/cli.ts').matchAll(/\.command\('([a-z-]+)/g)].map((m) => m[1]!);

const envExample = Object.fromEntries(
  read('.env.example')
    .split('\n')
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/** A service's environment with compose's ${VAR:?...} taken from .env.example. */
function envOf(s: Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s.environment ?? {}).map(([k, v]) => [
      k,
      String(v).replace(/\$\{([A-Z_]+)(?::[?-][^}]*)?\}/g, (_, n: string) => envExample[n] ?? ''),
    ]),
  );
}

/** host path of the file mounted at `target`, if any */
function mounted(s: Service, target: string): string | undefined {
  const v = (s.volumes ?? []).find((x) => x.split(':')[1] === target);
  return v?.split(':')[0]?.replace(/^\.\//, '');
}

const published = (s: Service) => (s.ports ?? []).map((p) => p.split(':').map(Number));

describe('docker-compose.yml against the code', () => {
  it('has the services operators know, by their old names', () => {
    for (const name of [
      'postgres_master',
      'postgres_slave',
      'redis',
      'sentinel1',
      'prometheus',
      'grafana',
      'haproxy',
    ])
      expect(services[name]?.container_name ?? name, name).toBe(name);
    expect(
      Object.keys(services).filter((n) => services[n]!.image?.startsWith('redis:')),
    ).toHaveLength(3);
    expect(pgvigil.filter(([, s]) => s.command?.[0] === 'sentinel')).toHaveLength(3);
    expect(services.postgres_master!.volumes).toContain('./backups:/var/lib/pgbackrest');
  });

  it('every pgvigil service runs a real command on a config that passes validation', () => {
    for (const [name, s] of pgvigil) {
      const [command, ...args] = s.command ?? [];
      expect(CLI_COMMANDS, `${name}: ${command}`).toContain(command);
      expect(['sentinel', 'node'], name).toContain(s.build!.target);
      expect(s.build!.network, `${name} builds with the host network`).toBe('host');
      const configAt = args[args.indexOf('--config') + 1]!;
      const file = mounted(s, configAt);
      expect(file, `${name} mounts ${configAt}`).toBeDefined();
      const config = loadConfig({ file: join(root, file!), env: envOf(s) });
      if (command === 'agent') {
        const node = args[args.indexOf('--node') + 1]!;
        const { node: n } = agentTarget(config, node);
        expect(n.host, `${name} is the host of ${node}`).toBe(s.container_name ?? name);
        expect(s.healthcheck?.test.join(' ')).toContain(`${new URL(n.agent.url).host}/health`);
      } else {
        expect(
          config.sentinel.api.token,
          `${name} has an API token (it binds 0.0.0.0)`,
        ).toBeTruthy();
        for (const [host, inside] of published(s)) {
          expect(inside, `${name} publishes its API port`).toBe(config.sentinel.api.port);
          expect(host).toBe(8088);
        }
      }
    }
  });

  it('every service has a healthcheck or waits on one; depends_on uses conditions', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, c] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(['service_healthy', 'service_started']).toContain(c.condition);
        if (c.condition === 'service_healthy')
          expect(services[dep]!.healthcheck, dep).toBeDefined();
      }
    }
  });

  it('published ports are the ones the mounted configs use, and nothing else', () => {
    const ports = Object.entries(services).flatMap(([name, s]) =>
      published(s).map(([h, c]) => ({ name, h, c })),
    );
    expect(ports.map((p) => p.h).sort((a, b) => a! - b!)).toEqual([
      3000, 5000, 5001, 7000, 8088, 9090,
    ]);
    const cfg = read(mounted(services.haproxy!, '/usr/local/etc/haproxy/haproxy.cfg')!);
    const binds = [...cfg.matchAll(/^\s*bind \*:(\d+)/gm)].map((m) => Number(m[1]));
    expect(
      published(services.haproxy!)
        .map(([, c]) => c)
        .sort(),
    ).toEqual(binds.sort());
    // haproxy's servers are the nodes, checked on their agent ports
    const config = loadConfig({
      file: join(root, 'config/compose/pgvigil.yaml'),
      env: envOf(services.sentinel1!),
    });
    for (const n of config.clusters[0]!.nodes)
      expect(cfg).toContain(`${n.host}:${n.port} check port ${new URL(n.agent!.url).port}`);
    expect(published(services.prometheus!)).toEqual([[9090, 9090]]);
    expect(published(services.grafana!)).toEqual([[3000, 3000]]);
    // README documents every published port
    const readme = read('README.md');
    for (const p of ports)
      expect(readme, `README names port ${p.h}`).toMatch(new RegExp(`\\b${p.h}\\b`));
  });

  it('Prometheus scrapes every sentinel and every agent', () => {
    const prom = YAML.parse(
      read(mounted(services.prometheus!, '/etc/prometheus/prometheus.yml')!),
    ) as {
      rule_files: string[];
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = (job: string) =>
      prom.scrape_configs.find((j) => j.job_name === job)!.static_configs.flatMap((c) => c.targets);
    const sentinels = pgvigil
      .filter(([, s]) => s.command![0] === 'sentinel')
      .map(([n, s]) => `${s.container_name ?? n}:8088`);
    expect(targets('pgvigil-sentinel').sort()).toEqual(sentinels.sort());
    const config = loadConfig({
      file: join(root, 'config/compose/pgvigil.yaml'),
      env: envOf(services.sentinel1!),
    });
    expect(targets('pgvigil-agent').sort()).toEqual(
      config.clusters.flatMap((c) => c.nodes.map((n) => new URL(n.agent!.url).host)).sort(),
    );
    for (const f of prom.rule_files)
      expect(services.prometheus!.volumes!.some((v) => v.endsWith(`:${f}:ro`))).toBe(true);
  });

  it('Grafana mounts the generated provisioning and dashboards', () => {
    const v = services.grafana!.volumes!;
    expect(v).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const prov = YAML.parse(read('grafana/provisioning/dashboards/pgvigil.yml')) as {
      providers: { options: { path: string } }[];
    };
    expect(v).toContain(`./grafana/dashboards:${prov.providers[0]!.options.path}:ro`);
  });
});

describe('Dockerfile and systemd units', () => {
  const dockerfile = read('Dockerfile');
  it('multi-stage, targets sentinel and node, non-root, HEALTHCHECK, pgBackRest on the node', () => {
    const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)/gm)].map((m) => m[1]);
    expect(stages).toEqual(expect.arrayContaining(['build', 'sentinel', 'node']));
    for (const target of ['sentinel', 'node']) {
      const body = dockerfile.split(/^FROM /m).find((s) => s.includes(` AS ${target}\n`))!;
      expect(body).toMatch(/^USER (?!root)\w+/m);
      expect(body).toMatch(/^HEALTHCHECK /m);
    }
    expect(dockerfile).toMatch(/postgresql-15 pgbackrest/);
  });

  it('the units run real pgvigil commands with a dedicated user and restart', () => {
    for (const f of ['pgvigil-sentinel.service', 'pgvigil-agent@.service']) {
      const unit = read(`deploy/systemd/${f}`);
      const exec = /^ExecStart=.*pgvigil\.js (\S+)/m.exec(unit)![1]!;
      expect(CLI_COMMANDS).toContain(exec);
      expect(unit).toMatch(/^User=(pgvigil|postgres)$/m);
      expect(unit).toMatch(/^Restart=always$/m);
      expect(unit).toMatch(/^NoNewPrivileges=yes$/m);
    }
  });

  it('users get the daemon V8 flags of the local cluster: bin shebang, units, Dockerfile', () => {
    const flags = DAEMON_NODE_FLAGS.join(' ');
    expect(read('bin/pgvigil.js').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    // `node bin/pgvigil.js` (units, images) does not read the shebang: NODE_OPTIONS does it
    for (const f of ['pgvigil-sentinel.service', 'pgvigil-agent@.service'])
      expect(read(`deploy/systemd/${f}`)).toContain(`Environment="NODE_OPTIONS=${flags}"`);
    const runtime = dockerfile.split(/^FROM /m).find((s) => s.includes(' AS runtime\n'))!;
    expect(runtime).toContain(`NODE_OPTIONS="${flags}"`);
  });
});
