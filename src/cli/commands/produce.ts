/**
 * `tributary produce TOPIC`: one record per input line (stdin or --file), optionally split into key
 * and value at a separator, with headers, a fixed partition, acks and compression. Keyed records go
 * where Java's partitioner would put them (murmur2), so keys land on the same partitions whichever
 * client wrote them. Lines are read as bytes: nothing is re-encoded.
 *
 * stdout gets one summary at the end (records, bytes, offsets per partition); a progress line goes to
 * stderr every 2 s while a long run lasts, when stderr is a terminal (or with --progress).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Command, Option } from 'commander';
import { CompressionCodec } from '../../protocol/records/record-batch.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { KafkaError } from '../../client/errors.js';
import { Producer, type Acks } from '../../client/producer.js';
import { addConnectionOptions, withClient, type ConnectionFlags } from '../brokers.js';
import { CliError, EXIT_CODES_HELP, ExitCode, action, formatBytes, print, printJson, renderTable, usageError, usageExitCodes } from '../output.js';
import { collect, integerAtLeast, keyValue } from '../parse.js';

interface ProduceFlags extends ConnectionFlags {
  keySeparator?: string;
  header?: string[];
  partition?: number;
  acks: '0' | '1' | 'all' | '-1';
  compression: keyof typeof CompressionCodec;
  file?: string;
  idempotent?: boolean;
  progress?: boolean;
  json?: boolean;
}

/** Splits a byte stream at '\n'; the last line may lack one. Lines are views, not copies. */
export async function* readLines(stream: Readable): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let at = chunk.indexOf(0x0a, start); at !== -1; at = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, at);
      yield pending.length === 0 ? piece : Buffer.concat([...pending, piece]);
      pending = [];
      start = at + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length > 0) yield Buffer.concat(pending);
}

/** `\t`, `\n`, `\\` and `\0` in a separator typed on a command line. */
function unescape(text: string): string {
  return text.replace(/\\([tn0\\])/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : '\\'));
}

interface PartitionSummary {
  partition: number;
  records: number;
  firstOffset: bigint;
  lastOffset: bigint;
}

async function runProduce(topic: string, flags: ProduceFlags): Promise<number> {
  let headers: Array<{ key: string; value: Buffer }>;
  try {
    headers = (flags.header ?? []).map((text) => {
      const { key, value } = keyValue(text, 'a header');
      return { key, value: Buffer.from(value, 'utf8') };
    });
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const separator = flags.keySeparator === undefined ? null : Buffer.from(unescape(flags.keySeparator), 'utf8');
  if (separator !== null && separator.length === 0) throw usageError('--key-separator must not be empty');
  const acks: Acks = flags.acks === 'all' || flags.acks === '-1' ? -1 : flags.acks === '1' ? 1 : 0;
  if (flags.idempotent && acks !== -1) throw usageError('--idempotent needs --acks all');

  let input: Readable;
  if (flags.file !== undefined) {
    input = createReadStream(flags.file);
    await new Promise<void>((resolve, reject) => {
      input.once('readable', resolve);
      input.once('error', (error: NodeJS.ErrnoException) =>
        reject(new CliError(ExitCode.failed, `cannot read ${flags.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`)),
      );
    });
  } else {
    input = process.stdin;
    if (process.stdin.isTTY) process.stderr.write(`Type one record per line for '${topic}'${separator ? ` (key${unescape(flags.keySeparator!)}value)` : ''}; end with Ctrl-D.\n`);
  }

  return withClient(flags, async (client) => {
    const producer = new Producer(client, { acks, compression: CompressionCodec[flags.compression], idempotent: flags.idempotent });
    // Fail before reading anything when the topic or partition cannot be used.
    const count = await producer.partitionCount(topic);
    if (flags.partition !== undefined && flags.partition >= count) {
      throw new KafkaError(
        ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
        `producing to partition ${flags.partition} of topic '${topic}'`,
        `topic '${topic}' has ${count} partition${count === 1 ? '' : 's'} (0-${count - 1})`,
      );
    }

    const perPartition = new Map<number, PartitionSummary>();
    let sent = 0;
    let delivered = 0;
    let bytes = 0;
    let failure: unknown = null;
    let interrupted = false;
    const onSignal = () => {
      interrupted = true;
      input.destroy();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);

    const started = Date.now();
    const showProgress = flags.progress ?? process.stderr.isTTY === true;
    const tty = process.stderr.isTTY === true;
    const progress = showProgress
      ? setInterval(() => {
          const seconds = (Date.now() - started) / 1000;
          const line = `produced ${delivered} records (${formatBytes(bytes)}), ${Math.round(delivered / seconds)} records/s`;
          process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
        }, 2000)
      : null;

    try {
      for await (const line of readLines(input)) {
        if (failure !== null) break;
        let key: Buffer | null = null;
        let value = line;
        if (separator !== null) {
          const at = line.indexOf(separator);
          if (at >= 0) {
            key = line.subarray(0, at);
            value = line.subarray(at + separator.length);
          }
        }
        await producer.whenReady();
        sent++;
        const size = value.length + (key?.length ?? 0);
        producer
          .send({ topic, key, value, headers, ...(flags.partition === undefined ? {} : { partition: flags.partition }) })
          .then(
            (metadata) => {
              delivered++;
              bytes += size;
              const summary = perPartition.get(metadata.partition);
              if (summary === undefined) {
                perPartition.set(metadata.partition, { partition: metadata.partition, records: 1, firstOffset: metadata.offset, lastOffset: metadata.offset });
              } else {
                summary.records++;
                if (metadata.offset >= 0n && (summary.firstOffset < 0n || metadata.offset < summary.firstOffset)) summary.firstOffset = metadata.offset;
                if (metadata.offset > summary.lastOffset) summary.lastOffset = metadata.offset;
              }
            },
            (error: unknown) => {
              failure ??= error;
            },
          );
      }
    } catch (error) {
      if (!interrupted) throw error;
    } finally {
      await producer.close();
      if (progress !== null) {
        clearInterval(progress);
        if (tty) process.stderr.write('\r\x1b[K');
      }
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }

    const partitions = [...perPartition.values()].sort((a, b) => a.partition - b.partition);
    if (flags.json) {
      printJson({ topic, records: delivered, bytes, partitions: partitions.map((p) => ({ ...p, firstOffset: p.firstOffset < 0n ? null : p.firstOffset, lastOffset: p.lastOffset < 0n ? null : p.lastOffset })) });
    } else {
      print(`Produced ${delivered} record${delivered === 1 ? '' : 's'} (${bytes} bytes) to '${topic}'.`);
      if (partitions.length > 0) {
        print(
          renderTable(
            ['PARTITION', 'RECORDS', 'FIRST-OFFSET', 'LAST-OFFSET'],
            partitions.map((p) => [p.partition, p.records, p.firstOffset < 0n ? '-' : p.firstOffset, p.lastOffset < 0n ? '-' : p.lastOffset]),
          ),
        );
      }
    }
    if (failure !== null) {
      throw failure;
    }
    return sent === delivered ? ExitCode.ok : ExitCode.failed;
  });
}

export function registerProduceCommand(program: Command): void {
  const produce = usageExitCodes(new Command('produce'))
    .description('produce one record per line from stdin or a file')
    .argument('<topic>', 'topic to produce to')
    .option('-k, --key-separator <sep>', 'split each line at the first SEP into key and value (e.g. -k :)')
    .option('-H, --header <key=value>', 'add a header to every record, repeatable', collect)
    .option('-p, --partition <n>', 'produce every record to this partition (default: by key, keyless records spread)', integerAtLeast(0))
    .addOption(new Option('--acks <acks>', 'acknowledgement: 0 (none), 1 (leader), all (every in-sync replica; fsynced on Tributary)').choices(['0', '1', 'all', '-1']).default('all'))
    .addOption(new Option('-z, --compression <codec>', 'compression codec').choices(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'))
    .option('-f, --file <path>', 'read records from a file instead of stdin')
    .option('--idempotent', 'use an idempotent producer (no duplicates on retries; needs --acks all)')
    .option('--progress', 'print the rate on stderr every 2 s (default: when stderr is a terminal)')
    .option('--no-progress', 'never print the rate')
    .option('--json', 'print the summary as JSON')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Each line is one record; with -k the line is split at the first separator into key and value (a line
without the separator has no key). Keyed records go to the partition Java's default partitioner picks
(murmur2), keyless records to one partition per batch (sticky, as Java and franz-go).

Examples:
  $ echo 'hello' | tributary produce demo
  $ printf 'alice:1\\nbob:2\\nalice:3\\n' | tributary produce orders -k :
  $ tributary produce events -f events.jsonl -z zstd -H source=import
${EXIT_CODES_HELP}`,
    );
  addConnectionOptions(produce).action(action(runProduce));
  program.addCommand(produce);
}
