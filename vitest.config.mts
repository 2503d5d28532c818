import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => resolve(import.meta.dirname, `libs/${name}/src`);
const alias = Object.fromEntries(
  [
    'config',
    'contracts',
    'kafka',
    'observability',
    'ml',
    'testing',
    'database',
    'features',
    'client',
    'generator',
    'api-keys',
    'auth',
  ].map((n) => [`@flywheel/${n}`, lib(n)]),
);

// SWC (not esbuild) so Nest's decorator metadata is emitted in tests exactly as in the build.
const plugins = [
  swc.vite({
    tsconfigFile: false,
    swcrc: false,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      keepClassNames: true,
    },
  }),
];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'unit',
          include: ['libs/**/*.spec.ts', 'services/**/*.spec.ts', 'test/**/*.spec.ts'],
          exclude: ['**/*.int.spec.ts', '**/node_modules/**'],
        },
      },
      {
        plugins,
        resolve: { alias },
        test: {
          name: 'integration',
          include: ['libs/**/*.int.spec.ts', 'services/**/*.int.spec.ts', 'test/**/*.test.ts'],
          // Includes the demo end-to-end test (test/demo: `npm run demo` as a user runs it, ~2-3 min);
          // FLYWHEEL_SKIP_DEMO=1 leaves it out for a quicker local run.
          exclude: process.env.FLYWHEEL_SKIP_DEMO
            ? ['test/demo/demo.test.ts', '**/node_modules/**']
            : ['**/node_modules/**'],
          globalSetup: ['libs/testing/src/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // Integration tests share one broker and one Postgres on a 2-core machine: run files one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
