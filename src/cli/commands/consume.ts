/**
 * `tributary consume TOPIC`: prints records from a position (beginning, end, an offset, N before the
 * end, a timestamp), from chosen partitions or as a member of a consumer group, as values, JSON, or
 * a kcat-like template. Stops after -n records, at the end of the partitions with -e, or on Ctrl-C.
 *
 * With a group (-g) the group's committed offsets win over --from (which then only applies to
 * partitions without a commit, as auto.offset.reset does); what was printed is committed every 5 s
 * and before leaving the group, so a consumer stopped and started again resumes where it stopped.
 *
 * JSON output (-f json): one object per line,
 *   {"topic","partition","offset","timestamp","key","value","headers":[{"key","value"}]}
 * where a key or value is null, a string when its bytes are valid UTF-8, or {"base64": "..."}.
 */
import { Command, Option } from 'commander';
import { Consumer, type ConsumedRecord, type StartPosition } from '../../client/consumer.js';
import { GroupMember } from '../../client/group.js';
import { KafkaError } from '../../client/errors.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { addConnectionOptions, withClient, type ConnectionFlags } from '../brokers.js';
import { EXIT_CODES_HELP, action, explain, toJson, usageError, usageExitCodes, warn } from '../output.js';
import { integerAtLeast, parseTime } from '../parse.js';

interface ConsumeFlags extends ConnectionFlags {
  group?: string;
  from: string;
  partition?: string;
  count?: number;
  format: string;
  json?: boolean;
  exit?: boolean;
}

export function parseStartPosition(text: string): StartPosition {
  const value = text.trim().toLowerCase();
  if (['beginning', 'earliest', 'start', 'oldest'].includes(value)) return { kind: 'earliest' };
  if (['end', 'latest', 'newest'].includes(value)) return { kind: 'latest' };
  if (/^\d+$/.test(value)) return { kind: 'offset', offset: BigInt(value) };
  if (/^-\d+$/.test(value)) return { kind: 'fromEnd', count: -BigInt(value) };
  const time = parseTime(text);
  if (time !== null) return { kind: 'timestamp', timestamp: time };
  throw usageError(
    `invalid --from "${text}": expected beginning, end, an offset (42), a count before the end (-10), ` +
      'a timestamp in ms (@1714557600000) or an ISO date (2024-05-01T10:00:00Z)',
  );
}

// ---------------------------------------------------------------------------------------------
// Output formats

type Formatter = (record: ConsumedRecord) => Buffer;

const NEWLINE = Buffer.from('\n');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A key, value or header value for JSON: null, text when valid UTF-8, else {"base64": ...}. */
export function jsonBytes(bytes: Buffer | null): string | { base64: string } | null {
  if (bytes === null) return null;
  try {
    return utf8.decode(bytes);
  } catch {
    return { base64: bytes.toString('base64') };
  }
}

export function recordToJson(record: ConsumedRecord): string {
  return toJson({
    topic: record.topic,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    key: jsonBytes(record.key),
    value: jsonBytes(record.value),
    headers: record.headers.map((header) => ({ key: header.key, value: jsonBytes(header.value) })),
  });
}

const TEMPLATE_FIELDS: Record<string, (record: ConsumedRecord) => Buffer> = {
  t: (r) => Buffer.from(r.topic),
  p: (r) => Buffer.from(String(r.partition)),
  o: (r) => Buffer.from(String(r.offset)),
  k: (r) => r.key ?? Buffer.alloc(0),
  v: (r) => r.value ?? Buffer.alloc(0),
  h: (r) => Buffer.from(r.headers.map((h) => `${h.key}=${h.value?.toString('utf8') ?? ''}`).join(',')),
  T: (r) => Buffer.from(String(r.timestamp)),
  '%': () => Buffer.from('%'),
};

/**
 * A kcat-like template: %t topic, %p partition, %o offset, %k key, %v value, %h headers (k=v,...),
 * %T timestamp (ms), %% a percent sign; \n, \t, \r and \\ are escapes. A template without any
 * newline gets one at the end.
 */
export function compileTemplate(template: string): Formatter {
  let text = template.replace(/\\([ntr\\])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === 'r' ? '\r' : '\\'));
  if (!text.includes('\n')) text += '\n';
  const parts: Array<Buffer | ((record: ConsumedRecord) => Buffer)> = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%') {
      literal += c;
      continue;
    }
    const field = TEMPLATE_FIELDS[text[i + 1] ?? ''];
    if (field === undefined) {
      throw usageError(`invalid format "${template}": unknown field %${text[i + 1] ?? ''}; use %t %p %o %k %v %h %T or %%`);
    }
    if (literal !== '') parts.push(Buffer.from(literal));
    literal = '';
    parts.push(field);
    i++;
  }
  if (literal !== '') parts.push(Buffer.from(literal));
  return (record) => Buffer.concat(parts.map((part) => (Buffer.isBuffer(part) ? part : part(record))));
}

export function formatterFor(format: string): Formatter {
  if (format === 'value') return (record) => (record.value === null ? NEWLINE : Buffer.concat([record.value, NEWLINE]));
  if (format === 'json') return (record) => Buffer.from(recordToJson(record) + '\n');
  if (!format.includes('%')) throw usageError(`invalid format "${format}": use value, json, or a template such as '%k: %v\\n'`);
  return compileTemplate(format);
}

function parsePartitions(text: string): number[] {
  const partitions = text.split(',').map((part) => part.trim());
  if (partitions.some((part) => !/^\d+$/.test(part))) throw usageError(`invalid --partition "${text}": expected a partition or a list such as 0,2,5`);
  return [...new Set(partitions.map(Number))].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------

const partitionKey = (topic: string, partition: number) => `${partition}:${topic}`;

async function runConsume(topic: string, flags: ConsumeFlags): Promise<void> {
  const start = parseStartPosition(flags.from);
  const format = formatterFor(flags.json ? 'json' : flags.format);
  const partitions = flags.partition === undefined ? null : parsePartitions(flags.partition);
  if (flags.group !== undefined && partitions !== null) {
    throw usageError('--partition cannot be used with --group: the group assigns the partitions (drop one of them)');
  }

  await withClient(flags, async (client) => {
    const metadata = await client.topicMetadata(topic, { refresh: true });
    const count = metadata.partitions.length;
    for (const partition of partitions ?? []) {
      if (partition >= count) {
        throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `consuming partition ${partition} of topic '${topic}'`, `topic '${topic}' has ${count} partition${count === 1 ? '' : 's'} (0-${count - 1})`);
      }
    }
    const consumer = new Consumer(client);
    const member = flags.group === undefined ? null : new GroupMember(client, { groupId: flags.group, topics: [topic] });
    /** Offset to commit per partition (the position after what was printed) and what was committed. */
    const commitable = new Map<string, { topic: string; partition: number; offset: bigint }>();
    const committed = new Map<string, bigint>();

    let stopping = false;
    let signals = 0;
    const onSignal = () => {
      stopping = true;
      if (++signals > 1) process.exit(130);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.stdout.on('error', () => {
      stopping = true; // the reader went away (| head): stop quietly, still leaving the group cleanly
    });

    const assignFromGroup = async (groupMember: GroupMember) => {
      const assignment = await groupMember.join();
      const offsets = await groupMember.committedOffsets(assignment);
      const byPartition = new Map(offsets.map((o) => [partitionKey(o.topic, o.partition), o.offset]));
      commitable.clear();
      committed.clear();
      const assignments = [...assignment].flatMap(([t, list]) =>
        list.map((partition) => {
          const offset = byPartition.get(partitionKey(t, partition)) ?? -1n;
          if (offset >= 0n) committed.set(partitionKey(t, partition), offset);
          return { topic: t, partition, start: offset >= 0n ? ({ kind: 'offset', offset } as const) : start };
        }),
      );
      await consumer.assign(assignments);
      for (const state of consumer.assignment) {
        commitable.set(partitionKey(state.topic, state.partition), { topic: state.topic, partition: state.partition, offset: state.position });
      }
    };

    const commit = async () => {
      if (member === null) return;
      const changed = [...commitable.entries()].filter(([k, entry]) => committed.get(k) !== entry.offset).map(([, entry]) => entry);
      if (changed.length === 0) return;
      try {
        await member.commit(changed);
        for (const entry of changed) committed.set(partitionKey(entry.topic, entry.partition), entry.offset);
      } catch (error) {
        warn(`could not commit offsets of group '${member.groupId}': ${explain(error).message}`);
      }
    };

    try {
      if (member !== null) await assignFromGroup(member);
      else await consumer.assign((partitions ?? metadata.partitions.map((p) => p.partition)).map((partition) => ({ topic, partition, start })));

      let printed = 0;
      let lastCommit = Date.now();
      while (!stopping) {
        if (flags.exit && consumer.atEnd) break;
        if (member !== null && member.rebalanceNeeded) {
          await commit();
          await assignFromGroup(member);
          continue;
        }
        const before = new Map(consumer.assignment.map((state) => [partitionKey(state.topic, state.partition), state.position]));
        const records = await consumer.poll();
        const chunks: Buffer[] = [];
        const lastPrinted = new Map<string, bigint>();
        let cut = false;
        for (const record of records) {
          if (flags.count !== undefined && printed >= flags.count) {
            cut = true;
            break;
          }
          chunks.push(format(record));
          lastPrinted.set(partitionKey(record.topic, record.partition), record.offset);
          printed++;
        }
        if (chunks.length > 0 && !process.stdout.write(Buffer.concat(chunks))) {
          await new Promise<void>((resolve) => {
            process.stdout.once('drain', resolve);
            process.stdout.once('error', resolve);
          });
        }
        // What may be committed: a partition's whole fetch was printed -> its position; printing
        // stopped inside it -> after the last record printed; nothing of it printed -> as before.
        for (const state of consumer.assignment) {
          const k = partitionKey(state.topic, state.partition);
          const last = lastPrinted.get(k);
          const offset = !cut ? state.position : last !== undefined ? last + 1n : (before.get(k) ?? state.position);
          commitable.set(k, { topic: state.topic, partition: state.partition, offset });
        }
        if (flags.count !== undefined && printed >= flags.count) break;
        if (member !== null && Date.now() - lastCommit >= 5000) {
          await commit();
          lastCommit = Date.now();
        }
      }
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      if (member !== null) {
        await commit();
        await member.leave().catch((error: unknown) => warn(`could not leave group '${member.groupId}': ${explain(error).message}`));
      }
    }
  });
}

export function registerConsumeCommand(program: Command): void {
  const consume = usageExitCodes(new Command('consume'))
    .description('print records of a topic, from any position, alone or in a consumer group')
    .argument('<topic>', 'topic to consume')
    .option('-g, --group <group>', 'consume as a member of this consumer group (resumes from its committed offsets)')
    .option('-o, --from <position>', 'where to start: beginning, end, an offset, -N (N before the end), @ms or an ISO date', 'beginning')
    .option('-p, --partition <list>', 'only these partitions, e.g. 0 or 0,2 (default: all)')
    .option('-n, --count <n>', 'exit after printing this many records', integerAtLeast(1))
    .addOption(new Option('-f, --format <format>', "value, json, or a template such as '%k: %v\\n'").default('value'))
    .option('--json', 'same as -f json')
    .option('-e, --exit', 'exit when the end of every partition is reached')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Formats:
  value   the record's value, one per line (default)
  json    one JSON object per line: topic, partition, offset, timestamp, key, value, headers;
          keys and values are strings when they are valid UTF-8, else {"base64": "..."}, or null
  a template with %t topic, %p partition, %o offset, %k key, %v value, %h headers (k=v,...),
          %T timestamp (ms), %% a percent sign; \\n and \\t escapes (a newline is added when the
          template has none)

With --group, the group's committed offsets win over --from, which then applies to partitions
without a commit. What was printed is committed every 5 s and when the command ends (-n, -e, Ctrl-C).

Examples:
  $ tributary consume demo --from beginning -n 1
  $ tributary consume orders -f '%p %o %k=%v\\n' -e
  $ tributary consume orders -g billing
  $ tributary consume orders --from 2024-05-01T00:00:00Z --json
${EXIT_CODES_HELP}`,
    );
  addConnectionOptions(consume).action(action(runConsume));
  program.addCommand(consume);
}
