import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheFilePath, isPrivateDirectory, readCompileCache, writeCompileCache } from '../../../src/cli/compile-cache.js';
import { makeTempDir } from '../../helpers/broker.js';

const KEY = { sourceCrc: 0xdeadbeef, sourceBytes: 733_484 };
const DATA = Buffer.from('cached data from V8');

test('a written cache reads back for its key and for no other', async () => {
  const temp = await makeTempDir();
  try {
    const directory = join(temp.path, 'cache');
    const file = cacheFilePath(directory);
    assert.equal(readCompileCache(directory, KEY), null, 'nothing before the first write');
    assert.equal(writeCompileCache(directory, KEY, DATA), true);
    assert.deepEqual(readCompileCache(directory, KEY), DATA);
    assert.equal(readCompileCache(directory, { ...KEY, sourceCrc: KEY.sourceCrc ^ 1 }), null, 'another build of the same length');
    assert.equal(readCompileCache(directory, { ...KEY, sourceBytes: KEY.sourceBytes + 1 }), null);
    assert.ok(file.endsWith(`${process.version}-${process.arch}.cache`));
    // Created private, and no temporary file left beside the cache.
    assert.equal(isPrivateDirectory(directory), true);
    assert.deepEqual(readdirSync(directory), [`${process.version}-${process.arch}.cache`]);
  } finally {
    await temp.remove();
  }
});

test('a file without the header, only the header, or with damaged data is no cache', async () => {
  const temp = await makeTempDir();
  try {
    const directory = join(temp.path, 'cache');
    const file = cacheFilePath(directory);
    assert.equal(writeCompileCache(directory, KEY, DATA), true);
    const written = readFileSync(file);
    writeFileSync(file, written.subarray(0, 16));
    assert.equal(readCompileCache(directory, KEY), null, 'header only');
    writeFileSync(file, written.subarray(0, written.length - 1));
    assert.equal(readCompileCache(directory, KEY), null, 'cut short');
    const flipped = Buffer.from(written);
    flipped[20] = flipped[20]! ^ 0x01;
    writeFileSync(file, flipped);
    assert.equal(readCompileCache(directory, KEY), null, 'one bit of the data changed');
    const wrongMagic = Buffer.from(written);
    wrongMagic.write('XXXX', 0, 'latin1');
    writeFileSync(file, wrongMagic);
    assert.equal(readCompileCache(directory, KEY), null, 'another format');
  } finally {
    await temp.remove();
  }
});

test('a directory others can write to, a link to one, or a link or public file in it is not used', async () => {
  const temp = await makeTempDir();
  try {
    const directory = join(temp.path, 'cache');
    const file = cacheFilePath(directory);
    assert.equal(writeCompileCache(directory, KEY, DATA), true);
    chmodSync(directory, 0o777);
    assert.equal(isPrivateDirectory(directory), false);
    assert.equal(readCompileCache(directory, KEY), null, 'someone else may have planted it');
    assert.equal(writeCompileCache(directory, KEY, DATA), false);
    chmodSync(directory, 0o700);

    const link = join(temp.path, 'link');
    symlinkSync(directory, link);
    assert.equal(readCompileCache(link, KEY), null);
    assert.equal(writeCompileCache(link, KEY, DATA), false);

    // A private directory, but the file in it is a link, or writable by others.
    assert.deepEqual(readCompileCache(directory, KEY), DATA);
    chmodSync(file, 0o666);
    assert.equal(readCompileCache(directory, KEY), null, 'a file others may write');
    chmodSync(file, 0o600);
    const elsewhere = join(temp.path, 'elsewhere.cache');
    renameSync(file, elsewhere);
    symlinkSync(elsewhere, file);
    assert.equal(readCompileCache(directory, KEY), null, 'a link in place of the file');
  } finally {
    await temp.remove();
  }
});

test('a cache that cannot be written is reported, not thrown', async () => {
  const temp = await makeTempDir();
  try {
    const inTheWay = join(temp.path, 'cache');
    writeFileSync(inTheWay, 'a file where the directory should be');
    assert.equal(writeCompileCache(inTheWay, KEY, DATA), false);
    const nested = join(temp.path, 'nested');
    mkdirSync(nested, { mode: 0o700 });
    // A directory named like the cache file: the rename fails, and the temporary file goes.
    mkdirSync(cacheFilePath(nested));
    assert.equal(writeCompileCache(nested, KEY, DATA), false);
    assert.deepEqual(readdirSync(nested), [`${process.version}-${process.arch}.cache`]);
  } finally {
    await temp.remove();
  }
});
