/**
 * The house rules that lint alone cannot hold: no import cycle anywhere in src/, type-only
 * imports included (eslint's import-x/no-cycle skips those; STYLE.md: "no two files import each
 * other, even for types"). The direction of the arrows per folder is lint's
 * (import-x/no-restricted-paths in eslint.config.js).
 */
import madge from 'madge';
import { describe, expect, it } from 'vitest';

describe('src/ import graph', () => {
  it('has no cycle, counting type-only imports', async () => {
    const graph = await madge('src', {
      fileExtensions: ['ts'],
      tsConfig: 'tsconfig.json',
      detectiveOptions: { ts: { skipTypeImports: false } },
    });
    expect(Object.keys(graph.obj()).length).toBeGreaterThan(50); // it really read src/
    expect(graph.warnings().skipped).toEqual([]);
    expect(graph.circular()).toEqual([]);
  }, 30_000);
});
