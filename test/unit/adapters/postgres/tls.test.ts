/**
 * The one translation of `clusters[].tls` / `coordination.tls` (adapters/postgres/tls.ts,
 * adapters/redis/tls.ts): node-postgres `ssl` per sslmode (verify-full checks the host we dial,
 * an IP against IP SANs; verify-ca the chain only; require no check), libpq conninfo params,
 * PGSSL* variables and URL query, ioredis `tls` only for rediss://; and the config keys that
 * feed them: paths resolved against the config file, replication.tls defaulting to the
 * cluster's, verify-* without ca and a cert without its key refused with one line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PeerCertificate } from 'node:tls';

import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';

import {
  libpqTlsEnv,
  libpqTlsParams,
  libpqTlsQuery,
  pgSslOptions,
} from '../../../../src/adapters/postgres/tls.js';
import { redisTlsOptions } from '../../../../src/adapters/redis/tls.js';
import { loadConfig } from '../../../../src/config/load.js';
import { ConfigError } from '../../../../src/core/errors.js';
import type { PgTls } from '../../../../src/core/tls.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgvigil-tls-unit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text, { mode: 0o600 });
  return f;
};
const ca = file('ca.crt', 'CA-PEM');
const cert = file('c.crt', 'CERT-PEM');
const key = file('c.key', 'KEY-PEM');
const full: PgTls = { sslmode: 'verify-full', ca, cert, key };

/** A peer certificate as tls.checkServerIdentity reads it. */
const peer = (san: string): PeerCertificate =>
  ({ subject: { CN: 'localhost' }, subjectaltname: san }) as unknown as PeerCertificate;

describe('node-postgres ssl options', () => {
  it('no tls or disable: no TLS', () => {
    expect(pgSslOptions(undefined, '127.0.0.1')).toBe(false);
    expect(pgSslOptions({ sslmode: 'disable' }, '127.0.0.1')).toBe(false);
  });

  it('require: encrypted, nothing verified, client certificate sent', () => {
    expect(pgSslOptions({ sslmode: 'require', cert, key }, 'db')).toEqual({
      rejectUnauthorized: false,
      cert: 'CERT-PEM',
      key: 'KEY-PEM',
    });
  });

  it('verify-full: the CA, and the host we dial checked against the SANs', () => {
    const o = pgSslOptions(full, '127.0.0.1');
    expect(o).toMatchObject({ ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' });
    if (!o) throw new Error('no options');
    expect(o.rejectUnauthorized).toBe(true);
    const check = o.checkServerIdentity!;
    expect(check('ignored', peer('IP Address:127.0.0.1, DNS:localhost'))).toBeUndefined();
    expect(check('ignored', peer('DNS:localhost'))).toBeInstanceOf(Error);
    const byName = pgSslOptions(full, 'localhost') as { checkServerIdentity: typeof check };
    expect(byName.checkServerIdentity('x', peer('IP Address:127.0.0.1, DNS:localhost'))).toBe(
      undefined,
    );
    expect(byName.checkServerIdentity('x', peer('DNS:db.example'))).toBeInstanceOf(Error);
  });

  it('require with a ca checks the chain, as libpq does', () => {
    const o = pgSslOptions({ sslmode: 'require', ca }, 'h');
    if (!o) throw new Error('no options');
    expect(o).toMatchObject({ ca: 'CA-PEM', rejectUnauthorized: true });
    expect(o.checkServerIdentity!('x', peer('DNS:elsewhere'))).toBeUndefined();
  });

  it('verify-ca: the chain only, any host name', () => {
    const o = pgSslOptions({ ...full, sslmode: 'verify-ca' }, '10.0.0.9');
    if (!o) throw new Error('no options');
    expect(o.rejectUnauthorized).toBe(true);
    expect(o.checkServerIdentity!('x', peer('DNS:elsewhere'))).toBeUndefined();
  });

  it('an unreadable file is one line naming it', () => {
    expect(() => pgSslOptions({ ...full, ca: '/nonexistent/ca.crt' }, 'h')).toThrow(
      'TLS CA /nonexistent/ca.crt cannot be read (ENOENT): fix the path or its mode',
    );
  });
});

describe('libpq parameters', () => {
  it('conninfo keys, PGSSL* variables and a URL query from the same settings', () => {
    expect(libpqTlsParams(full)).toEqual({
      sslmode: 'verify-full',
      sslrootcert: ca,
      sslcert: cert,
      sslkey: key,
    });
    expect(libpqTlsEnv(full)).toEqual({
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: ca,
      PGSSLCERT: cert,
      PGSSLKEY: key,
    });
    expect(new URLSearchParams(libpqTlsQuery(full)).get('sslrootcert')).toBe(ca);
  });

  it('without tls nothing is added (libpq keeps its default); disable is explicit', () => {
    expect(libpqTlsParams(undefined)).toEqual({});
    expect(libpqTlsEnv(undefined)).toEqual({});
    expect(libpqTlsQuery(undefined)).toBe('');
    expect(libpqTlsParams({ sslmode: 'disable' })).toEqual({ sslmode: 'disable' });
  });
});

describe('Redis tls options', () => {
  it('rediss:// gets TLS with CA verification, redis:// none', () => {
    expect(redisTlsOptions('redis://127.0.0.1:6379', { ca })).toBeUndefined();
    expect(redisTlsOptions('rediss://127.0.0.1:6380', { ca })).toEqual({
      rejectUnauthorized: true,
      ca: 'CA-PEM',
    });
    expect(redisTlsOptions('rediss://h:1', undefined)).toEqual({ rejectUnauthorized: true });
  });
});

describe('config keys', () => {
  const PW = { PGVIGIL_CLUSTERS__MAIN__PASSWORD: 'pw' };
  function load(cluster: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    const sub = fs.mkdtempSync(path.join(dir, 'cfg-'));
    const f = path.join(sub, 'pgvigil.yaml');
    const nodes = [{ name: 'pg1', host: '127.0.0.1', port: 5432 }];
    fs.writeFileSync(
      f,
      YAML.stringify({ clusters: [{ name: 'main', nodes, ...cluster }], ...extra }),
    );
    return { sub, config: () => loadConfig({ file: f, env: PW }) };
  }

  it('paths resolve against the config file; replication.tls defaults to the cluster tls', () => {
    const { sub, config } = load(
      { tls: { ca: 'tls/ca.crt', cert: 'tls/c.crt', key: 'tls/c.key' } },
      { coordination: { redis: ['rediss://127.0.0.1:6380'], tls: { ca: 'tls/ca.crt' } } },
    );
    const c = config();
    const want = {
      sslmode: 'verify-full',
      ca: path.join(sub, 'tls/ca.crt'),
      cert: path.join(sub, 'tls/c.crt'),
      key: path.join(sub, 'tls/c.key'),
    };
    expect(c.clusters[0]!.tls).toEqual(want);
    expect(c.clusters[0]!.replication.tls).toEqual(want);
    expect(c.coordination.tls).toEqual({ ca: path.join(sub, 'tls/ca.crt') });
  });

  it('replication.tls of its own', () => {
    const { config } = load({
      tls: { sslmode: 'require' },
      replication: { tls: { sslmode: 'verify-ca', ca: '/etc/ca.crt' } },
    });
    const c = config().clusters[0]!;
    expect(c.tls).toEqual({ sslmode: 'require' });
    expect(c.replication.tls).toEqual({ sslmode: 'verify-ca', ca: '/etc/ca.crt' });
  });

  it.each([
    [{ tls: { sslmode: 'verify-full' } }, /clusters\[0\]\.tls\.ca: sslmode verify-full needs ca/],
    [
      { tls: { sslmode: 'require', cert: 'c.crt' } },
      /clusters\[0\]\.tls\.key: a client certificate needs its key/,
    ],
    [{ tls: { sslmode: 'prefer' } }, /clusters\[0\]\.tls\.sslmode/],
    [{ tls: { sslmode: 'require', crt: 'x' } }, /clusters\[0\]\.tls/],
  ])('refuses %j with one line', (cluster, message) => {
    const { config } = load(cluster);
    let err: unknown;
    try {
      config();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
  });
});
