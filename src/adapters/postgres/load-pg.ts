/**
 * Loads node-postgres once, before anything else imports it, without loading undici.
 *
 * When it loads, pg 8 checks whether it runs in Cloudflare Workers (lib/stream.js,
 * isCloudflareRuntime). Node 20 has no `navigator` global, so pg falls back to
 * `new Response(null, { cf: ... })`. The first use of the `Response` global makes Node load
 * undici, its fetch implementation, and undici's WebAssembly HTTP parser. That costs every
 * sentinel and agent 1.6 MB of heap and about 5 MB of RSS (`npm run bench:idle`), and neither
 * fetches anything while idle.
 *
 * While pg loads, `Response` is hidden, so the check answers "not Cloudflare", which is true.
 * Node's lazy getter is then put back untouched, so a later `fetch()` (agent-client.ts) still
 * works. Later `import pg from 'pg'` statements get this same cached module.
 *
 * src/cli.ts imports this module first. test/unit/adapters/postgres/load-pg.test.ts checks
 * that a sentinel's whole import graph loads pg and never loads undici.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
if (response)
  Object.defineProperty(globalThis, 'Response', {
    value: undefined,
    configurable: true,
    writable: true,
  });
try {
  require('pg');
} finally {
  if (response) Object.defineProperty(globalThis, 'Response', response);
}
