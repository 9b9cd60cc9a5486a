/**
 * Loads the client libraries the interop suite drives. @confluentinc/kafka-javascript is installed
 * by `npm run interop:setup` (a native build against librdkafka) and deliberately not a dependency of
 * the package, so it is loaded at run time; a missing install fails the tests that need it with a
 * message saying how to install it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function loadConfluentJs(): any {
  try {
    return require('@confluentinc/kafka-javascript');
  } catch (error) {
    throw new Error(
      '@confluentinc/kafka-javascript is not installed (or its native addon did not build): run `npm run interop:setup` first ' +
        `(see test/interop/README.md). Cause: ${(error as Error).message}`,
    );
  }
}

export const PYTHON = '/usr/bin/python3';
export const KCAT = 'kcat';
