/**
 * The bin's code cache (src/cli/launcher.ts): the first run makes it, later runs use it, a bad or
 * foreign one is replaced, and none of that changes what the command does. Each test points the
 * tmpdir (TMPDIR) at a directory of its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheFilePath } from '../../src/cli/compile-cache.js';
import { VERSION } from '../../src/version.js';
import { makeTempDir } from '../helpers/broker.js';
import { startCliBroker } from '../helpers/cli-process.js';
import { runCli } from '../helpers/cli-run.js';

const cacheDirectoryIn = (tmp: string) => join(tmp, `tributary-compile-cache-${process.getuid!()}`);
const cacheFileIn = (tmp: string) => cacheFilePath(cacheDirectoryIn(tmp));
const VERSION_OUTPUT = { code: 0, stdout: `${VERSION}\n`, stderr: '' };

test('the first run makes the cache, the next uses it as it is, and a damaged or rejected one is replaced', async () => {
  const tmp = await makeTempDir();
  try {
    const env = { TMPDIR: tmp.path };
    const file = cacheFileIn(tmp.path);
    const first = await runCli(['--version'], { env });
    assert.deepEqual(first, VERSION_OUTPUT);
    assert.ok(existsSync(file), 'made at exit by a command that ends within the delay');
    const made = statSync(file);

    const second = await runCli(['--version'], { env });
    assert.deepEqual(second, first);
    const used = statSync(file);
    // Every write is a new file renamed into place: the same inode means V8 accepted the cache.
    assert.equal(used.ino, made.ino, 'an accepted cache is not rewritten');

    // Damaged data (V8 itself would run it and crash): not used, and made again.
    const damaged = readFileSync(file);
    damaged.fill(0x5a, 64, 4096);
    writeFileSync(file, damaged);
    const third = await runCli(['--version'], { env });
    assert.deepEqual(third, first);
    assert.notEqual(statSync(file).ino, used.ino, 'a rejected cache is replaced');
    assert.notDeepEqual(readFileSync(file), damaged);

    // A cache that V8 rejects (made under other V8 flags, whose hash it checks) is made again too.
    const replaced = statSync(file).ino;
    const otherFlags = await runCli(['--version'], { env: { ...env, NODE_OPTIONS: '--max-old-space-size=200' } });
    assert.deepEqual(otherFlags, first);
    assert.notEqual(statSync(file).ino, replaced, 'a cache V8 rejected is replaced');
  } finally {
    await tmp.remove();
  }
});

test('NODE_DISABLE_COMPILE_CACHE runs the bundle without the cache', async () => {
  const tmp = await makeTempDir();
  try {
    const result = await runCli(['--version'], { env: { TMPDIR: tmp.path, NODE_DISABLE_COMPILE_CACHE: '1' } });
    assert.deepEqual(result, VERSION_OUTPUT);
    assert.equal(existsSync(cacheDirectoryIn(tmp.path)), false);
  } finally {
    await tmp.remove();
  }
});

test('a broker and commands run from the cache, and the modules they import() load', async () => {
  const tmp = await makeTempDir();
  try {
    const env = { TMPDIR: tmp.path };
    const file = cacheFileIn(tmp.path);
    // A broker that runs past the delay makes the cache while it serves.
    const warm = await startCliBroker(['start', '--memory', '--port', '0', '--log-level', 'warn'], env);
    const deadline = Date.now() + 10_000;
    while (!existsSync(file) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(existsSync(file), 'made a second after start');
    assert.equal(await warm.stop(), 0);
    const made = statSync(file);

    // From the cache: the admin listener's metrics modules, and the compression codecs of the
    // produce command, are loaded with import() from inside the cached script.
    const broker = await startCliBroker(['start', '--memory', '--port', '0', '--admin-port', '0', '--log-level', 'warn'], env);
    try {
      const brokers = ['--brokers', `127.0.0.1:${broker.port}`];
      assert.equal((await runCli(['topic', 'create', 'cached', ...brokers], { env })).code, 0);
      for (const codec of ['snappy', 'lz4', 'zstd']) {
        const produced = await runCli(['produce', 'cached', '-z', codec, ...brokers], { env, input: `${codec}\n` });
        assert.equal(produced.code, 0, produced.stderr);
      }
      const consumed = await runCli(['consume', 'cached', '-e', ...brokers], { env });
      assert.equal(consumed.stdout, 'snappy\nlz4\nzstd\n');
      const adminUrl = /admin on (http:\/\/\S+?)\)/.exec(broker.line);
      assert.ok(adminUrl, broker.line);
      const metrics = await runCli(['metrics', '-a', adminUrl[1]!, '--raw', 'tributary_log_end_offset'], { env });
      assert.equal(metrics.code, 0, metrics.stderr);
      assert.match(metrics.stdout, /^tributary_log_end_offset .*cached.* 3$/m, 'three records in the cached topic');
    } finally {
      assert.equal(await broker.stop(), 0);
    }
    assert.equal(statSync(file).ino, made.ino, 'every later run used the cache');
  } finally {
    await tmp.remove();
  }
});
