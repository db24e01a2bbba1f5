import { describe, expect, it } from 'vitest';

import { redactSecrets } from '../../../src/core/redact.js';

describe('redactSecrets', () => {
  it.each([
    ['redis://:pw@h:1', 'redis://:***@h:1'],
    ['redis://user:pw@h:1/0', 'redis://user:***@h:1/0'],
    ['rediss://u:p%40ss@h', 'rediss://u:***@h'],
    [
      'postgres://postgres:s3cr3t@127.0.0.1:5432/postgres',
      'postgres://postgres:***@127.0.0.1:5432/postgres',
    ],
    ['a redis://h:1 b', 'a redis://h:1 b'],
    ['postgres://postgres@h:1/db', 'postgres://postgres@h:1/db'],
    ['servers redis://:a@h:1; redis://:b@h:2', 'servers redis://:***@h:1; redis://:***@h:2'],
    [
      "ALTER SYSTEM SET primary_conninfo = 'host=h port=1 user=r password=xyz application_name=n'",
      "ALTER SYSTEM SET primary_conninfo = 'host=h port=1 user=r password=*** application_name=n'",
    ],
    ["host=h password='a b\\' c' user=r", 'host=h password=*** user=r'],
    ["CREATE ROLE r LOGIN PASSWORD 'it''s'", "CREATE ROLE r LOGIN PASSWORD '***'"],
    ['nothing secret here', 'nothing secret here'],
  ])('%s', (input, output) => {
    expect(redactSecrets(input)).toBe(output);
  });
});
