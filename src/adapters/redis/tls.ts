/**
 * `coordination.tls` (core/tls.ts) as ioredis `tls` options, for the servers given as
 * `rediss://` (a `redis://` server gets no TLS whatever the section says). The certificate is
 * always verified: against `ca` when given, else the system's CAs, and against the host of
 * the URL (an IP address against the certificate's IP SANs).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

import { UserError } from '../../core/errors.js';
import type { RedisTls } from '../../core/tls.js';

function readPem(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UserError(
      `coordination.tls.${what} ${file} cannot be read (${code}): fix the path or its mode`,
    );
  }
}

export function isTlsUrl(url: string): boolean {
  return /^rediss:\/\//i.test(url);
}

/** ioredis `tls` for `url`; undefined for a plain redis:// URL. */
export function redisTlsOptions(
  url: string,
  tls: RedisTls | undefined,
): ConnectionOptions | undefined {
  if (!isTlsUrl(url)) return undefined;
  return {
    rejectUnauthorized: true,
    ...(tls?.ca ? { ca: readPem(tls.ca, 'ca') } : {}),
    ...(tls?.cert ? { cert: readPem(tls.cert, 'cert') } : {}),
    ...(tls?.key ? { key: readPem(tls.key, 'key') } : {}),
  };
}
