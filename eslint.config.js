import js from '@eslint/js';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', '.bench-build/', 'node_modules/', '.pgvigil-local/', 'coverage/'] },
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
    // adapters serve the daemons; src/local/ (the embedded demo cluster) builds on them.
    files: ['src/adapters/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/local/*'],
              message: 'src/adapters must not depend on src/local: move the code into adapters.',
            },
          ],
        },
      ],
    },
  },
);
