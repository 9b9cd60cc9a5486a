/**
 * Bundles the `tributary` command and the library entry into dist/bundle/ with esbuild. Why: Node's
 * ES module loader resolves, reads and links each of the ~140 modules that `tributary start` loads
 * one by one, which cost more than all of the broker's own start-up work; one scope-hoisted file
 * removes that (bench/README.md, "Start-up", has the numbers). The library's types stay tsc's
 * (dist/src/index.d.ts).
 *
 * Three outputs:
 * - `index.js` (what `import 'tributary'` resolves to): an ES module; modules the code imports with
 *   `import()` become chunks of their own (`splitting`), so prom-client's metrics modules load only
 *   with the admin listener.
 * - `cli.cjs`: all of src/cli/main.ts in one CommonJS file, which the bin compiles with V8's code
 *   cache (only a script can be, on Node 20). The broker, which `start` imports with `import()`,
 *   is in it too: esbuild evaluates such a module only when it is imported, and parsing it is what
 *   the code cache saves.
 * - `tributary.cjs`, the bin: src/cli/launcher.ts, which runs cli.cjs with that cache.
 *
 * What the bundles keep outside:
 * - native addons (CRC-32C and the compression codecs): a `.node` file cannot be inlined;
 * - prom-client and pino-pretty: loaded only when the admin listener or pretty logs are on, and
 *   staying separate packages keeps that loading lazy.
 *
 * Whitespace and syntax are minified, names are not, so stack traces stay readable; source maps
 * lead back to the TypeScript (`node --enable-source-maps`).
 * The bundles sit two directories below the package root, as dist/src does, because version.ts
 * reads `../../package.json` relative to itself.
 */
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT_DIR = `${ROOT}dist/bundle`;

const EXTERNAL = ['@node-rs/crc32', 'snappy', 'lz4-napi', '@cloudpss/zstd', 'prom-client', 'pino-pretty'];

rmSync(OUT_DIR, { recursive: true, force: true });

const common = {
  // Paths in the metafile are relative to this, whatever directory the build runs from.
  absWorkingDir: ROOT,
  outdir: OUT_DIR,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
} as const;

// The library entry: a test suite that starts a broker in each of its test files pays the module
// loading once per file.
await build({
  ...common,
  entryPoints: { index: `${ROOT}dist/src/index.js` },
  splitting: true,
  format: 'esm',
  // esbuild's CommonJS shim (for pino, which is CommonJS) calls the global `require`, which an ES
  // module lacks: give it one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
});

// The command and its bin. A CommonJS file has no `import.meta`: the modules that locate files
// relative to themselves (version.ts, the native addons' loaders) get the file's own URL.
// import-package.js stays a file of its own beside the bundle, where `import()` works
// (src/util/import-package.ts says why).
const IMPORT_PACKAGE = 'import-package';
const result = await build({
  ...common,
  entryPoints: {
    cli: `${ROOT}dist/src/cli/main.js`,
    tributary: `${ROOT}dist/src/cli/launcher.js`,
    [IMPORT_PACKAGE]: `${ROOT}dist/src/util/import-package.js`,
  },
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  define: { 'import.meta.url': '__importMetaUrl' },
  // "use strict" first: esbuild's own directive would come after the banner and be no directive
  // at all, and the ES modules these bundles are made of were strict.
  banner: { js: "\"use strict\"; var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  metafile: true,
  plugins: [
    {
      name: 'import-package-beside',
      setup(plugin) {
        plugin.onResolve({ filter: /\/import-package\.js$/ }, (args) =>
          args.kind === 'entry-point' ? undefined : { path: `./${IMPORT_PACKAGE}.cjs`, external: true },
        );
      },
    },
  ],
});

// The cached bundle must not contain an `import()` of its own (it would fail at run time). The
// metafile lists those with a literal specifier; the text catches the others too.
const cli = result.metafile.outputs['dist/bundle/cli.cjs'];
const dynamicImports = cli?.imports.filter((entry) => entry.kind === 'dynamic-import').map((entry) => entry.path) ?? [];
if (cli === undefined) throw new Error('esbuild wrote no dist/bundle/cli.cjs');
if (dynamicImports.length > 0 || /\bimport\s*\(/.test(readFileSync(`${OUT_DIR}/cli.cjs`, 'utf8'))) {
  throw new Error(`dist/bundle/cli.cjs has an import() (${dynamicImports.join(', ') || 'see the file'}): load packages with importPackage (src/util/import-package.ts)`);
}
