/**
 * The same-run baselines: what plain Node.js does on this machine with the same bytes, without a
 * broker around it. Each runs as its own process, like the broker under test.
 *
 *   node dist/bench/baseline.js frames DIR   (a) TCP server: 4-byte length-prefixed frames, each
 *       frame's bytes written to DIR/frames.log with positional writev (every frame received while
 *       the previous write ran goes into the next writev), then a 16-byte ack per frame, in order
 *       and corked. Prints "listening PORT".
 *   node dist/bench/baseline.js chunks FILE  (b) TCP server: for each request frame, fs.read of the
 *       next 1 MiB of FILE (page-cached; wraps at the end) into a new buffer, written to the socket
 *       behind an 8-byte header. Prints "listening PORT".
 *   node dist/bench/baseline.js fsync DIR SECONDS WARMUP   (c) appends of 1 MiB to DIR/fsync.log,
 *       each followed by fdatasync; prints one JSON line.
 *   node dist/bench/baseline.js pagecache DIR MIB   a fact about the machine, not a baseline: MIB
 *       MiB written to a new file DIR/pagecache.log in 1 MiB writeSync calls, no fsync, so the cost
 *       of putting fresh bytes into the page cache, which every produce run pays and the mock broker
 *       does not; prints one JSON line with the CPU split into user and system time.
 */
import { createServer, type Socket } from 'node:net';
import { closeSync, fdatasync, openSync, read, write, writeSync, writev, fstatSync } from 'node:fs';
import { join } from 'node:path';

const ACK_SIZE = 16;
const CHUNK = 1024 * 1024;

function listen(onSocket: (socket: Socket) => void): void {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

/** Splits a connection's bytes into frames (the 4-byte size prefix excluded). */
function onFrames(socket: Socket, handle: (frame: Buffer) => void): void {
  let pending: Buffer | null = null;
  socket.on('data', (chunk: Buffer) => {
    const data = pending === null ? chunk : Buffer.concat([pending, chunk]);
    let at = 0;
    while (data.length - at >= 4) {
      const size = data.readInt32BE(at);
      if (data.length - at - 4 < size) break;
      handle(data.subarray(at + 4, at + 4 + size));
      at += 4 + size;
    }
    pending = at === data.length ? null : data.subarray(at);
  });
}

function frameServer(directory: string): void {
  const fd = openSync(join(directory, 'frames.log'), 'w');
  let position = 0;
  let queue: Array<{ frame: Buffer; socket: Socket }> = [];
  let writing = false;
  const flush = () => {
    if (writing || queue.length === 0) return;
    const group = queue.length > 1024 ? queue.slice(0, 1024) : queue;
    queue = queue.length > 1024 ? queue.slice(1024) : [];
    writing = true;
    writev(
      fd,
      group.map((item) => item.frame),
      position,
      (error, written) => {
        writing = false;
        if (error) throw error;
        position += written;
        // Acks per socket, one write each, in arrival order.
        const bySocket = new Map<Socket, Buffer[]>();
        for (const item of group) {
          const ack = Buffer.alloc(ACK_SIZE);
          ack.writeInt32BE(ACK_SIZE - 4, 0);
          ack.writeInt32BE(item.frame.readInt32BE(4), 4); // the request's correlation id
          let acks = bySocket.get(item.socket);
          if (acks === undefined) bySocket.set(item.socket, (acks = []));
          acks.push(ack);
        }
        for (const [socket, acks] of bySocket) socket.write(acks.length === 1 ? acks[0]! : Buffer.concat(acks));
        flush();
      },
    );
  };
  listen((socket) =>
    onFrames(socket, (frame) => {
      queue.push({ frame, socket });
      flush();
    }),
  );
}

function chunkServer(path: string): void {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  listen((socket) => {
    let position = 0;
    // Requests of one connection are answered in order, one read at a time.
    let waiting = 0;
    let reading = false;
    const next = () => {
      if (reading || waiting === 0) return;
      waiting--;
      reading = true;
      const length = Math.min(CHUNK, size - position);
      const buffer = Buffer.allocUnsafe(length);
      read(fd, buffer, 0, length, position, (error, bytesRead) => {
        reading = false;
        if (error) throw error;
        position = position + bytesRead >= size ? 0 : position + bytesRead;
        const header = Buffer.allocUnsafe(8);
        header.writeInt32BE(4 + bytesRead, 0);
        header.writeInt32BE(0, 4);
        socket.cork();
        socket.write(header);
        socket.write(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
        socket.uncork();
        next();
      });
    };
    onFrames(socket, () => {
      waiting++;
      next();
    });
  });
}

function fsyncBaseline(directory: string, seconds: number, warmup: number): void {
  const path = join(directory, 'fsync.log');
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(CHUNK, 'z');
  let position = 0;
  const start = performance.now();
  const windowStart = start + warmup * 1000;
  const windowEnd = windowStart + seconds * 1000;
  let bytes = 0;
  let syncs = 0;
  let cpuStart: NodeJS.CpuUsage | null = null;
  const latencies: number[] = [];
  const step = () => {
    const began = performance.now();
    if (cpuStart === null && began >= windowStart) cpuStart = process.cpuUsage();
    if (began >= windowEnd) {
      const cpu = process.cpuUsage(cpuStart ?? undefined);
      closeSync(fd);
      latencies.sort((a, b) => a - b);
      const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.round(p * (latencies.length - 1)))] ?? -1;
      process.stdout.write(
        JSON.stringify({
          mode: 'fsync',
          bytes,
          syncs,
          seconds,
          mbPerSec: bytes / seconds / 1e6,
          syncsPerSec: syncs / seconds,
          p50Us: pick(0.5) * 1000,
          p99Us: pick(0.99) * 1000,
          cpuSeconds: (cpu.user + cpu.system) / 1e6,
        }) + '\n',
      );
      return;
    }
    write(fd, chunk, 0, chunk.length, position, (error, written) => {
      if (error) throw error;
      position += written;
      fdatasync(fd, (syncError) => {
        if (syncError) throw syncError;
        const done = performance.now();
        if (began >= windowStart && done < windowEnd) {
          bytes += written;
          syncs++;
          latencies.push(done - began);
        }
        step();
      });
    });
  };
  step();
}

function pageCacheFill(directory: string, mebibytes: number): void {
  const fd = openSync(join(directory, 'pagecache.log'), 'w');
  const chunk = Buffer.alloc(CHUNK, 'p');
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let written = 0; written < mebibytes; written++) writeSync(fd, chunk, 0, CHUNK, written * CHUNK);
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  closeSync(fd);
  process.stdout.write(
    JSON.stringify({ mode: 'pagecache', bytes: mebibytes * CHUNK, seconds, mbPerSec: (mebibytes * CHUNK) / seconds / 1e6, userSeconds: cpu.user / 1e6, systemSeconds: cpu.system / 1e6 }) + '\n',
  );
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'frames' && args[0] !== undefined) frameServer(args[0]);
else if (mode === 'chunks' && args[0] !== undefined) chunkServer(args[0]);
else if (mode === 'fsync' && args[0] !== undefined) fsyncBaseline(args[0], Number(args[1] ?? 5), Number(args[2] ?? 1));
else if (mode === 'pagecache' && args[0] !== undefined) pageCacheFill(args[0], Number(args[1] ?? 1024));
else {
  process.stderr.write('usage: baseline.js frames DIR | chunks FILE | fsync DIR SECONDS WARMUP | pagecache DIR MIB\n');
  process.exit(2);
}
