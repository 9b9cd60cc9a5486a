/**
 * CRC-32C (Castagnoli), the checksum of record batch v2, from @node-rs/crc32's native binding.
 *
 * Loaded with `require`, not `import`: the package is CommonJS, and an ES module importing
 * CommonJS makes Node run cjs-module-lexer over it, which also starts compiling the lexer's
 * WebAssembly build in the background. That compilation alone kept every `tributary` command
 * alive about 40 ms after its work was done, and the broker's start-up took about as long
 * longer (bench/README.md, "Start-up").
 */
import { createRequire } from 'node:module';

const requireCommonJs = createRequire(import.meta.url);
const binding = requireCommonJs('@node-rs/crc32') as typeof import('@node-rs/crc32');

/** The CRC-32C of `input`, continuing from `initialState` when given (unsigned 32-bit). */
export const crc32c = binding.crc32c;
