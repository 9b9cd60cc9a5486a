/**
 * Bundles the `tributary` command (dist/src/cli/main.js, tsc's output) and the library entry
 * (dist/src/index.js) into dist/bundle/ with esbuild. Why: Node's ES module loader resolves, reads
 * and links each of the ~140 modules that `tributary start` loads one by one, which cost more than
 * all of the broker's own start-up work; one scope-hoisted file removes that (bench/README.md,
 * "Start-up", has the numbers). The library's types stay tsc's (dist/src/index.d.ts).
 *
 * What the bundle keeps outside:
 * - native addons (CRC-32C and the compression codecs): a `.node` file cannot be inlined;
 * - prom-client and pino-pretty: loaded only when the admin listener or pretty logs are on, and
 *   staying separate packages keeps that loading lazy.
 * Modules the code imports with `import()` become chunks of their own (`splitting`): the broker,
 * which `start` imports that way, is not loaded by the other commands, and prom-client's metrics
 * modules only with the admin listener. (Loading only `start`'s own modules as well was measured
 * and saved nothing: bench/README.md.)
 *
 * Whitespace and syntax are minified, names are not, so stack traces stay readable; source maps
 * lead back to the TypeScript (`node --enable-source-maps`).
 * The bundle sits two directories below the package root, as dist/src does, because version.ts
 * reads `../../package.json` relative to itself.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT_DIR = `${ROOT}dist/bundle`;

const EXTERNAL = ['@node-rs/crc32', 'snappy', 'lz4-napi', '@cloudpss/zstd', 'prom-client', 'pino-pretty'];

rmSync(OUT_DIR, { recursive: true, force: true });
await build({
  // The bin, and the library entry (`import { startBroker } from 'tributary'`): a test suite
  // that starts a broker in each of its test files pays the module loading once per file.
  entryPoints: { tributary: `${ROOT}dist/src/cli/main.js`, index: `${ROOT}dist/src/index.js` },
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // esbuild's CommonJS shim (for pino and commander, which are CommonJS) calls the global
  // `require`, which an ES module lacks: give it one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
});
