import { describe, expect, it } from 'vitest';

import { parseConninfo, upstreamOf } from '../../../../src/core/agent/conninfo.js';

describe('conninfo', () => {
  it('parses keyword/value pairs with quotes and escapes', () => {
    expect(
      parseConninfo(
        "host=127.0.0.1 port=5433 user=replicator password='a b\\'c' application_name=pg2",
      ),
    ).toEqual({
      host: '127.0.0.1',
      port: '5433',
      user: 'replicator',
      password: "a b'c",
      application_name: 'pg2',
    });
  });
  it('finds host and port, 5432 by default, in both forms', () => {
    expect(upstreamOf('host=db1 user=x')).toEqual({ host: 'db1', port: 5432 });
    expect(upstreamOf('postgresql://u:p@db2:6543/postgres')).toEqual({ host: 'db2', port: 6543 });
    expect(upstreamOf('')).toBeNull();
    expect(upstreamOf(null)).toBeNull();
    expect(upstreamOf('user=x')).toBeNull();
  });
});
