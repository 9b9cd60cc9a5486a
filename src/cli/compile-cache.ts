/**
 * V8's code cache for the `tributary` command's bundle, kept between runs: what Node 22 does with
 * `module.enableCompileCache()`, which Node 20 lacks. Compiling the ~730 KB bundle is a fifth of
 * the broker's start-up (bench/README.md, "Start-up"); from the cache, V8 skips the parsing and
 * the compiling of every function the previous run had compiled by the time the cache was made.
 *
 * One file per Node version and architecture, under `<tmpdir>/tributary-compile-cache-<uid>`:
 *
 *   magic "TRBC" | u32 CRC-32C of the bundle's source | u32 its length in bytes
 *   | u32 CRC-32C of V8's cached data | V8's cached data
 *
 * V8 checks its own version and flags, but of the source only the length, so the first checksum is
 * what keeps a cache made for another build from being used; a new build overwrites the file (two
 * builds used in turn replace each other's, and start as if there were none). V8 trusts the data
 * itself (a damaged cache crashed the process in a test), hence the second checksum.
 *
 * The cache is code that the process will run, so it is only read from a directory and a file
 * that this user owns and no one else can write to (a shared /tmp would otherwise let another user
 * plant one).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../protocol/records/crc32c.js';

const MAGIC = 0x54524243; // "TRBC"
const HEADER_BYTES = 16;

/** What a cache file is valid for: the bundle's source, by checksum and length. */
export interface CacheKey {
  sourceCrc: number;
  sourceBytes: number;
}

/**
 * The default directory, one per user (the first user's private directory would shut the others
 * out of theirs); Node 22's `module.enableCompileCache()` also defaults to the tmpdir.
 */
export function defaultCacheDirectory(): string {
  const user = process.getuid === undefined ? '' : `-${process.getuid()}`;
  return join(tmpdir(), `tributary-compile-cache${user}`);
}

/** The cache file for this Node version and architecture (V8 rejects a cache from another). */
export function cacheFilePath(directory: string): string {
  return join(directory, `${process.version}-${process.arch}.cache`);
}

/**
 * True when `stats` belong to this user and no one else may write to them. On Windows, which has
 * no uids or modes here, the tmpdir is the user's own by default.
 */
function isOwnAndPrivate(stats: Stats): boolean {
  if (process.platform === 'win32' || process.getuid === undefined) return true;
  return stats.uid === process.getuid() && (stats.mode & 0o022) === 0;
}

/** True when `directory` is a real directory (not a symbolic link) owned by this user and private. */
export function isPrivateDirectory(directory: string): boolean {
  try {
    const stats = lstatSync(directory);
    return stats.isDirectory() && isOwnAndPrivate(stats);
  } catch {
    return false;
  }
}

/**
 * V8's cached data from `directory`'s cache file when its header matches `key`, the data its
 * checksum, and both the directory and the file (opened without following a link, then checked)
 * are this user's alone; else null.
 */
export function readCompileCache(directory: string, key: CacheKey): Buffer | null {
  if (!isPrivateDirectory(directory)) return null;
  const file = cacheFilePath(directory);
  let contents: Buffer;
  let fd: number | null = null;
  try {
    fd = openSync(file, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    const stats = fstatSync(fd);
    if (!stats.isFile() || !isOwnAndPrivate(stats)) return null;
    contents = readFileSync(fd);
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
  if (contents.length <= HEADER_BYTES) return null;
  if (contents.readUInt32BE(0) !== MAGIC) return null;
  if (contents.readUInt32BE(4) !== key.sourceCrc || contents.readUInt32BE(8) !== key.sourceBytes) return null;
  const data = contents.subarray(HEADER_BYTES);
  return crc32c(data) === contents.readUInt32BE(12) ? data : null;
}

/**
 * Writes `directory`'s cache file for `key`: to a file of this process's own, renamed into place,
 * so a reader sees a whole file or none. Returns false when it could not (a read-only or foreign
 * directory): the cache is an optimisation, and its absence only costs the compiling.
 */
export function writeCompileCache(directory: string, key: CacheKey, data: Buffer): boolean {
  const file = cacheFilePath(directory);
  // The pid alone could be another container's too (pid 1 in each), hence the random part; `wx`
  // refuses a file that is there already, and only a file this call created is removed.
  const temporary = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  let created = false;
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    if (!isPrivateDirectory(directory)) return false;
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(key.sourceCrc, 4);
    header.writeUInt32BE(key.sourceBytes, 8);
    header.writeUInt32BE(crc32c(data), 12);
    const fd = openSync(temporary, 'wx', 0o600);
    created = true;
    try {
      writeFileSync(fd, Buffer.concat([header, data]));
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
    return true;
  } catch {
    if (created) {
      try {
        unlinkSync(temporary);
      } catch {
        // Gone already.
      }
    }
    return false;
  }
}
