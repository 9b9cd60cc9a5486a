#!/usr/bin/env node
/**
 * The `tributary` bin as the package ships it (dist/bundle/tributary.cjs, made by tools/bundle):
 * runs the command's bundle (dist/bundle/cli.cjs, all of src/cli/main.ts in one CommonJS file)
 * compiled from V8's code cache of an earlier run, and makes that cache when there was none or
 * V8 rejected it (compile-cache.ts). It takes a fifth off the broker's start-up and off every
 * short command (bench/README.md, "Start-up").
 *
 * Both files are CommonJS because on Node 20 only a script, not an ES module, can be compiled
 * from cached data (`vm.Script`); Node 22's `module.enableCompileCache()` does this for both.
 * The bundle's `import()`s of packages run in a file beside it (src/util/import-package.ts says
 * why).
 *
 * With NODE_DISABLE_COMPILE_CACHE set (Node 22's switch for its own cache) or source maps on
 * (`node --enable-source-maps`, which only `require` applies), the bundle is loaded with plain
 * `require`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { crc32c } from '../protocol/records/crc32c.js';
import { defaultCacheDirectory, readCompileCache, writeCompileCache, type CacheKey } from './compile-cache.js';

/**
 * When the cache is made, if it must be: a second after start (a broker is listening by then, and
 * making it is kept off the start itself), or at exit for a command that ends sooner. It holds
 * every function compiled until then.
 */
const CACHE_DELAY_MS = 1000;

/** The bundle sits next to this file once bundled (this module is not run from dist/src). */
const BUNDLE = fileURLToPath(new URL('./cli.cjs', import.meta.url));

type ModuleWrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, directory: string) => void;

function runWithCompileCache(): void {
  const bytes = readFileSync(BUNDLE);
  const key: CacheKey = { sourceCrc: crc32c(bytes), sourceBytes: bytes.length };
  const directory = defaultCacheDirectory();
  const cachedData = readCompileCache(directory, key) ?? undefined;
  // Node's CommonJS wrapper, on the first line so that line numbers stay the bundle's; a shebang
  // line becomes a comment of the same length.
  const source = bytes.toString('utf8');
  const body = source.startsWith('#!') ? `//${source.slice(2)}` : source;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${body}\n})`, {
    filename: BUNDLE,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    scheduleOnce(() => writeCompileCache(directory, key, script.createCachedData()));
  }
  const wrapper = script.runInThisContext() as ModuleWrapper;
  const module = { exports: {} };
  wrapper.call(module.exports, module.exports, createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE));
}

/** Runs `task` once: after CACHE_DELAY_MS, or at exit if the process ends first. */
function scheduleOnce(task: () => void): void {
  const timer = setTimeout(run, CACHE_DELAY_MS).unref();
  process.once('exit', run);
  function run(): void {
    clearTimeout(timer);
    process.off('exit', run);
    task();
  }
}

if (process.env.NODE_DISABLE_COMPILE_CACHE !== undefined || process.sourceMapsEnabled) {
  createRequire(BUNDLE)(BUNDLE);
} else {
  runWithCompileCache();
}
