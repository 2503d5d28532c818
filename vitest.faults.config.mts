import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

/**
 * The fault suite (`npm run test:faults`, issue 11): scenarios that crash brokers, Postgres and services under load
 * and reconcile what was acknowledged with what was predicted. Kept out of `npm test`: it needs its own 3-broker
 * SASL cluster and takes minutes. Files run one at a time — they share the cluster and kill parts of it.
 */
const lib = (name: string) => resolve(import.meta.dirname, `libs/${name}/src`);
const alias = Object.fromEntries(
  ['config', 'contracts', 'kafka', 'observability', 'ml', 'testing', 'database', 'features', 'api-keys', 'auth'].map(
    (n) => [`@flywheel/${n}`, lib(n)],
  ),
);

export default defineConfig({
  plugins: [
    swc.vite({
      tsconfigFile: false,
      swcrc: false,
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        keepClassNames: true,
      },
    }),
  ],
  resolve: { alias },
  test: {
    name: 'faults',
    include: ['test/faults/**/*.faults.ts'],
    globalSetup: ['libs/testing/src/faults/faults-global-setup.ts'],
    testTimeout: 900_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
