/**
 * CRC-32C (Castagnoli), the checksum of record batch v2, from @node-rs/crc32's native binding.
 *
 * Loaded with `require`, not `import`. The package is CommonJS, and imported from an ES module it
 * goes through Node's ES-module loader (its CommonJS translator, which reads the file through a
 * FileHandle): measured here, 35 ms instead of 7.5 ms, a FileHandle close left pending that held
 * every `tributary` command alive some 30–40 ms after its work was done, and 7.6 MiB more idle
 * RSS in the broker (bench/README.md, "Start-up").
 */
import { createRequire } from 'node:module';

const requireCommonJs = createRequire(import.meta.url);
const binding = requireCommonJs('@node-rs/crc32') as typeof import('@node-rs/crc32');

/** The CRC-32C of `input`, continuing from `initialState` when given (unsigned 32-bit). */
export const crc32c = binding.crc32c;
