import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.bench-build/', '.monitoring-build/', 'node_modules/', '.pgvigil-local/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  {
    plugins: { 'simple-import-sort': simpleImportSort },
    rules: {
      'simple-import-sort/imports': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    // core/ is pure: no I/O libraries, no clocks, no timers. Time is an argument.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'pg',
                'ioredis',
                'redlock',
                'pino',
                'prom-client',
                'fastify',
                'node:*',
                'fs',
                'net',
                'child_process',
              ],
              message: 'src/core is pure: pass data in, return decisions.',
            },
            {
              group: ['../adapters/*', '../runtime/*', '../../adapters/*', '../../runtime/*'],
              message: 'src/core must not depend on adapters or runtime.',
            },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        'Date',
        'setTimeout',
        'setInterval',
        'performance',
        'process',
      ],
    },
  },
  {
    // One direction for the arrows (README "Architecture"): commands -> runtime -> ports <-
    // adapters, everything -> core, core -> nothing. Each zone names what a folder may NOT use.
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      // no two files import each other, even for types (a shared type lives in deps.ts or core)
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            zone('core', ['core'], 'core is pure: it imports nothing outside core'),
            zone('ports', ['ports', 'core'], 'ports declare interfaces over core types only'),
            zone('adapters', ['adapters', 'ports', 'core'], 'adapters implement ports over core'),
            zone('runtime', ['runtime', 'ports', 'core'], 'the runtime uses ports, never adapters'),
            zone('config', ['config', 'core'], 'config builds on the slices core declares'),
          ],
        },
      ],
    },
  },
  {
    // Small files and functions (STYLE.md, "Keep files small"): split at a seam past these.
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 100, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // type-aware: a promise nobody awaits loses its error (and its ordering)
    files: ['src/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
);

/** `src/<target>` may import only from `src/<allowed...>` (and packages). */
function zone(target, allowed, message) {
  return {
    target: `./src/${target}`,
    from: './src',
    except: allowed.map((a) => `./${a}`),
    message,
  };
}
