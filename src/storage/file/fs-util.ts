/**
 * Small filesystem helpers with the durability rules the engine relies on: a file replaced
 * atomically is written to a temp file, fsynced, renamed over the target, and the directory fsynced,
 * so after a crash either the old or the new content is there, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Suffix of temp files; leftovers from a crash are removed when a directory is opened. */
export const TEMP_SUFFIX = '.tmp';

/** fsyncs a directory so that creations, renames and removals in it are durable. */
export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeTemp(target: string, data: Buffer | string): Promise<string> {
  const temp = join(dirname(target), `${basename(target)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  return temp;
}

/** Atomically replaces `path` with `data` (temp file, fsync, rename, fsync the directory). */
export async function writeFileAtomic(path: string, data: Buffer | string): Promise<void> {
  await writeFilesAtomic(dirname(path), [{ path, data }]);
}

/**
 * Atomically replaces several files of one directory, each on its own (a crash may leave some old
 * and some new), paying for one directory fsync.
 */
export async function writeFilesAtomic(directory: string, files: Array<{ path: string; data: Buffer | string }>): Promise<void> {
  const temps = await Promise.all(files.map((file) => writeTemp(file.path, file.data)));
  for (let i = 0; i < files.length; i++) await rename(temps[i]!, files[i]!.path);
  await fsyncDirectory(directory);
}

/** Reads exactly `length` bytes at `position` into a new buffer; fewer when the file is shorter. */
export async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

/** True for "no such file or directory". */
export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/** Whether something exists at `path`; errors other than "not found" propagate. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Pads a base offset to Kafka's 20-digit file name stem. */
export function offsetFileStem(offset: bigint): string {
  return offset.toString().padStart(20, '0');
}
