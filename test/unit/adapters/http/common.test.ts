/**
 * The pieces both HTTP APIs share (src/adapters/http/common.ts): the loopback test that decides
 * whether an API may run without a token, the constant-time token check, one-line messages.
 */
import { describe, expect, it } from 'vitest';

import { assertSafeBind as reexported } from '../../../../src/adapters/http/api.js';
import {
  assertSafeBind,
  bearerTokenMatches,
  isLoopbackAddress,
  oneLine,
} from '../../../../src/adapters/http/common.js';
import { UserError } from '../../../../src/core/errors.js';

describe('isLoopbackAddress', () => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.0.0.53', true],
    ['127.255.255.254', true],
    ['::1', true],
    ['[::1]', true],
    ['0:0:0:0:0:0:0:1', true],
    ['localhost', true],
    ['LocalHost', true],
    [' 127.0.0.1 ', true],
    // a prefix test would take these: the first is a name anyone may register
    ['127.0.0.1.example.com', false],
    ['127.evil', false],
    ['1270.0.0.1', false],
    ['128.0.0.1', false],
    ['126.255.255.255', false],
    ['0.0.0.0', false],
    ['::', false],
    ['::2', false],
    ['10.0.0.1', false],
    ['192.168.1.10', false],
    ['example.com', false],
    ['localhost.example.com', false],
    ['', false],
    // not a dotted quad for isIP: refused (needs a token) rather than guessed
    ['127.1', false],
  ];
  for (const [host, loopback] of cases)
    it(`${JSON.stringify(host)} -> ${loopback}`, () => {
      expect(isLoopbackAddress(host)).toBe(loopback);
    });
});

describe('assertSafeBind (one test for the sentinel and the agent)', () => {
  it('lets loopback run without a token, anything else only with one', () => {
    expect(() => assertSafeBind('127.0.0.1', undefined)).not.toThrow();
    expect(() => assertSafeBind('::1', undefined)).not.toThrow();
    expect(() => assertSafeBind('0.0.0.0', 't')).not.toThrow();
    expect(() => assertSafeBind('0.0.0.0', undefined)).toThrow(UserError);
    expect(() => assertSafeBind('127.0.0.1.example.com', undefined)).toThrow(
      /refusing to bind the API on 127.0.0.1.example.com without sentinel.api.token/,
    );
  });

  it('is the helper api.ts re-exports', () => {
    expect(reexported).toBe(assertSafeBind);
  });
});

describe('bearerTokenMatches', () => {
  const token = 'correct horse';
  const cases: [string | undefined, boolean][] = [
    ['Bearer correct horse', true],
    ['Bearer  correct horse ', true],
    ['Bearer correct  horse', false],
    ['Bearer correct', false],
    [undefined, false],
    ['', false],
    ['Bearer ', false],
    ['Bearer', false],
  ];
  for (const [header, ok] of cases)
    it(`${JSON.stringify(header)} -> ${ok}`, () => {
      expect(bearerTokenMatches(header, token)).toBe(ok);
    });

  it('takes the right token, the scheme in any case, and nothing near it', () => {
    const t = 's3cret';
    expect(bearerTokenMatches('Bearer s3cret', t)).toBe(true);
    expect(bearerTokenMatches('bearer s3cret', t)).toBe(true);
    expect(bearerTokenMatches('BEARER  s3cret ', t)).toBe(true);
    for (const wrong of [
      'Bearer s3cre',
      'Bearer s3cretx',
      'Bearer S3cret',
      'Basic s3cret',
      's3cret',
    ])
      expect(bearerTokenMatches(wrong, t), wrong).toBe(false);
    // a long guess does not throw (timingSafeEqual on unequal lengths would)
    expect(bearerTokenMatches(`Bearer ${'x'.repeat(10_000)}`, t)).toBe(false);
  });
});

describe('oneLine', () => {
  it('flattens newlines and bounds the length', () => {
    expect(oneLine('a\n  b\r\nc ')).toBe('a b c');
    const long = oneLine('x'.repeat(2000));
    expect(long).toHaveLength(500);
    expect(long.endsWith('...')).toBe(true);
  });
});
