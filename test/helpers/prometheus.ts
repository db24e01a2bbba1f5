/**
 * A real Prometheus (Debian package, /usr/bin/prometheus) for tests: its own temp dir and free
 * port, scraping the given targets every second, with the given rule files. Stopped by PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import YAML from 'yaml';

import { freePort } from '../../src/local/free-port.js';
import { eventually } from './pg.js';

export interface PromSample {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface PromHandle {
  url: string;
  /** instant query; throws with Prometheus' error when it does not parse */
  query(expr: string): Promise<PromSample[]>;
  queryRange(
    expr: string,
    startSec: number,
    endSec: number,
    stepSec?: number,
  ): Promise<PromSample[]>;
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startPrometheus(opts: {
  /** job name -> host:port targets */
  jobs: Record<string, string[]>;
  ruleFiles?: string[];
  /** scrape path per job (default /metrics) */
  intervalSec?: number;
}): Promise<PromHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'pgvigil-prom-'));
  const every = `${opts.intervalSec ?? 1}s`;
  const config = {
    global: { scrape_interval: every, evaluation_interval: every, scrape_timeout: every },
    rule_files: opts.ruleFiles ?? [],
    scrape_configs: Object.entries(opts.jobs).map(([job, targets]) => ({
      job_name: job,
      static_configs: [{ targets }],
    })),
  };
  writeFileSync(join(dir, 'prometheus.yml'), YAML.stringify(config));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`);
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success')
      throw new Error(`prometheus ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${stderr}`);
      const r = await fetch(`${url}/-/ready`).catch(() => null);
      return r?.ok ? true : undefined;
    }, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const q = encodeURIComponent;
  return {
    url,
    api,
    query: async (expr) =>
      (await api<{ result: PromSample[] }>(`/api/v1/query?query=${q(expr)}`)).result,
    queryRange: async (expr, start, end, step = 1) =>
      (
        await api<{ result: PromSample[] }>(
          `/api/v1/query_range?query=${q(expr)}&start=${start}&end=${end}&step=${step}`,
        )
      ).result,
    stop,
  };
}
