/**
 * `tributary group list|describe|delete|reset-offsets`: consumer group administration over the
 * Kafka protocol (ListGroups on every broker, DescribeGroups / OffsetFetch / DeleteGroups /
 * OffsetCommit at the group's coordinator, ListOffsets at the partition leaders).
 *
 * Lag of a partition = log end offset (high watermark) - committed offset; partitions assigned to a
 * member but never committed show no lag ("-"), as kafka-consumer-groups does.
 */
import { Command } from 'commander';
import { ErrorCode, errorName } from '../../protocol/generated/error-codes.js';
import {
  OffsetSpec,
  commitOffsets,
  deleteGroups,
  describeGroup,
  fetchCommittedOffsets,
  listGroups,
  listOffsets,
  type GroupDescription,
} from '../../client/admin.js';
import type { KafkaClient } from '../../client/client.js';
import { KafkaError } from '../../client/errors.js';
import { addConnectionOptions, withClient, type ConnectionFlags } from '../brokers.js';
import { EXIT_CODES_HELP, action, explain, failure, print, printJson, renderFields, renderTable, usageError, usageExitCodes, warn } from '../output.js';
import { bigintValue, collect, parseTime } from '../parse.js';
import { byTopicPartition } from '../../util/topic-partition-order.js';

const partitionKey = (topic: string, partition: number) => `${partition}:${topic}`;

/** Log end offsets of partitions, grouped by topic; a topic that cannot be asked (deleted) is left out. */
async function logEndOffsets(client: KafkaClient, partitions: Array<{ topic: string; partition: number }>): Promise<Map<string, bigint>> {
  const ends = new Map<string, bigint>();
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) topics.set(topic, [...(topics.get(topic) ?? []), partition]);
  await Promise.all(
    [...topics].map(async ([topic, list]) => {
      try {
        const listed = await listOffsets(client, list.map((partition) => ({ topic, partition, timestamp: OffsetSpec.latest })));
        for (const partition of list) {
          const found = listed.get(topic, partition, OffsetSpec.latest);
          if (found !== undefined) ends.set(partitionKey(topic, partition), found.offset);
        }
      } catch (error) {
        if (!(error instanceof KafkaError)) throw error;
      }
    }),
  );
  return ends;
}

/** A group that exists: DescribeGroups says Dead (or GROUP_ID_NOT_FOUND) for one that does not. */
function missingGroup(groupId: string): KafkaError {
  return new KafkaError(ErrorCode.GROUP_ID_NOT_FOUND, `describing group '${groupId}'`);
}

// ---------------------------------------------------------------------------------------------

interface ListFlags extends ConnectionFlags {
  json?: boolean;
}

async function runList(flags: ListFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const groups = await listGroups(client);
    if (flags.json) {
      printJson(groups.map((g) => ({ group: g.groupId, state: g.state || null, protocolType: g.protocolType, type: g.type || null, coordinator: g.coordinatorId })));
      return;
    }
    if (groups.length === 0) {
      print('No consumer groups.');
      return;
    }
    print(renderTable(['GROUP', 'STATE', 'PROTOCOL-TYPE', 'COORDINATOR'], groups.map((g) => [g.groupId, g.state, g.protocolType, g.coordinatorId])));
  });
}

// ---------------------------------------------------------------------------------------------

interface DescribeFlags extends ConnectionFlags {
  json?: boolean;
}

interface PartitionLag {
  topic: string;
  partition: number;
  committedOffset: bigint | null;
  logEndOffset: bigint | null;
  lag: bigint | null;
  owner: string | null;
}

async function describeWithLag(client: KafkaClient, groupId: string): Promise<{ group: GroupDescription; partitions: PartitionLag[]; totalLag: bigint }> {
  let group: GroupDescription;
  try {
    group = await describeGroup(client, groupId);
  } catch (error) {
    if (error instanceof KafkaError && error.errorCode === ErrorCode.GROUP_ID_NOT_FOUND) throw missingGroup(groupId);
    throw error;
  }
  const committed = await fetchCommittedOffsets(client, groupId, null);
  if (group.state === 'Dead' && committed.length === 0) throw missingGroup(groupId);
  const owners = new Map<string, string>();
  for (const member of group.members) {
    for (const { topic, partitions } of member.assignment ?? []) {
      for (const partition of partitions) owners.set(partitionKey(topic, partition), member.memberId);
    }
  }
  const rows = new Map<string, { topic: string; partition: number }>();
  for (const { topic, partition } of committed) rows.set(partitionKey(topic, partition), { topic, partition });
  for (const member of group.members) {
    for (const { topic, partitions } of member.assignment ?? []) {
      for (const partition of partitions) rows.set(partitionKey(topic, partition), { topic, partition });
    }
  }
  const ends = await logEndOffsets(client, [...rows.values()]);
  const commits = new Map(committed.map((c) => [partitionKey(c.topic, c.partition), c.offset]));
  let totalLag = 0n;
  const partitions = [...rows.values()].sort(byTopicPartition).map(({ topic, partition }) => {
    const k = partitionKey(topic, partition);
    const offset = commits.get(k);
    const committedOffset = offset === undefined || offset < 0n ? null : offset;
    const logEndOffset = ends.get(k) ?? null;
    const lag = committedOffset !== null && logEndOffset !== null ? (logEndOffset > committedOffset ? logEndOffset - committedOffset : 0n) : null;
    if (lag !== null) totalLag += lag;
    return { topic, partition, committedOffset, logEndOffset, lag, owner: owners.get(k) ?? null };
  });
  return { group, partitions, totalLag };
}

function formatAssignment(assignment: Array<{ topic: string; partitions: number[] }> | null): string {
  if (assignment === null) return '?';
  if (assignment.length === 0) return '-';
  return assignment.map(({ topic, partitions }) => `${topic}[${[...partitions].sort((a, b) => a - b).join(',')}]`).join(' ');
}

async function runDescribe(groupId: string, flags: DescribeFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const { group, partitions, totalLag } = await describeWithLag(client, groupId);
    const coordinator = group.coordinator;
    if (flags.json) {
      printJson({
        group: group.groupId,
        state: group.state,
        protocolType: group.protocolType || null,
        protocol: group.protocol || null,
        coordinator: { id: coordinator.nodeId, host: coordinator.host, port: coordinator.port },
        members: group.members.map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          host: m.clientHost,
          assignment: m.assignment,
        })),
        offsets: partitions,
        totalLag,
      });
      return;
    }
    const protocol = group.protocolType === '' ? '-' : group.protocol === '' ? group.protocolType : `${group.protocolType} (${group.protocol})`;
    const sections = [
      renderFields([
        ['GROUP', group.groupId],
        ['COORDINATOR', `${coordinator.nodeId} (${coordinator.host}:${coordinator.port})`],
        ['STATE', group.state],
        ['PROTOCOL', protocol],
        ['MEMBERS', group.members.length],
        ['TOTAL-LAG', totalLag],
      ]),
    ];
    if (group.members.length > 0) {
      sections.push(
        renderTable(
          ['MEMBER-ID', 'CLIENT-ID', 'HOST', 'ASSIGNMENT'],
          group.members.map((m) => [m.memberId, m.clientId, m.clientHost, formatAssignment(m.assignment)]),
        ),
      );
    }
    if (partitions.length > 0) {
      sections.push(
        renderTable(
          ['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'OWNER'],
          partitions.map((p) => [p.topic, p.partition, p.committedOffset, p.logEndOffset, p.lag, p.owner]),
        ),
      );
    }
    print(sections.join('\n\n'));
  });
}

// ---------------------------------------------------------------------------------------------

interface DeleteFlags extends ConnectionFlags {
  json?: boolean;
}

async function runDelete(groupIds: string[], flags: DeleteFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const results = await deleteGroups(client, groupIds);
    if (flags.json) {
      printJson(results.map((r) => ({ group: r.groupId, deleted: r.errorCode === ErrorCode.NONE, error: r.errorCode === ErrorCode.NONE ? null : errorName(r.errorCode) })));
    }
    let failed = 0;
    for (const result of results) {
      if (result.errorCode === ErrorCode.NONE) {
        if (!flags.json) print(`Deleted group '${result.groupId}'.`);
      } else {
        failed++;
        warn(explain(new KafkaError(result.errorCode, `deleting group '${result.groupId}'`)).message);
      }
    }
    return failed === 0 ? 0 : 1;
  });
}

// ---------------------------------------------------------------------------------------------

interface ResetFlags extends ConnectionFlags {
  topic?: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: bigint;
  toDatetime?: string;
  shiftBy?: bigint;
  execute?: boolean;
  json?: boolean;
}

type ResetTarget =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'offset'; offset: bigint }
  | { kind: 'datetime'; timestamp: bigint; text: string }
  | { kind: 'shift'; by: bigint };

function resetTargetOf(flags: ResetFlags): ResetTarget {
  const chosen: ResetTarget[] = [];
  if (flags.toEarliest) chosen.push({ kind: 'earliest' });
  if (flags.toLatest) chosen.push({ kind: 'latest' });
  if (flags.toOffset !== undefined) chosen.push({ kind: 'offset', offset: flags.toOffset });
  if (flags.toDatetime !== undefined) {
    const timestamp = parseTime(flags.toDatetime);
    if (timestamp === null) throw usageError(`invalid --to-datetime "${flags.toDatetime}": expected an ISO date such as 2024-05-01T10:00:00Z, or ms since the epoch`);
    chosen.push({ kind: 'datetime', timestamp, text: flags.toDatetime });
  }
  if (flags.shiftBy !== undefined) chosen.push({ kind: 'shift', by: flags.shiftBy });
  if (chosen.length !== 1) {
    throw usageError(
      `${chosen.length === 0 ? 'say where to reset to' : 'give only one reset target'}: one of --to-earliest, --to-latest, --to-offset N, --to-datetime DATE, --shift-by N`,
    );
  }
  return chosen[0]!;
}

/** `orders` or `orders:0,1,5`. */
function parseTopicSpec(spec: string): { topic: string; partitions: number[] | null } {
  const at = spec.lastIndexOf(':');
  if (at < 0) return { topic: spec, partitions: null };
  const list = spec.slice(at + 1).split(',');
  if (at === 0 || list.some((p) => !/^\d+$/.test(p.trim()))) throw usageError(`invalid --topic "${spec}": expected TOPIC or TOPIC:PARTITION[,PARTITION...]`);
  return { topic: spec.slice(0, at), partitions: [...new Set(list.map((p) => Number(p.trim())))].sort((a, b) => a - b) };
}

async function runResetOffsets(groupId: string, flags: ResetFlags): Promise<void> {
  const target = resetTargetOf(flags);
  const specs = (flags.topic ?? []).map(parseTopicSpec);
  if (specs.length === 0 && !flags.allTopics) throw usageError('say which partitions to reset: --topic TOPIC[:PARTITIONS] (repeatable) or --all-topics');
  if (specs.length > 0 && flags.allTopics) throw usageError('give either --topic or --all-topics, not both');

  await withClient(flags, async (client) => {
    // Kafka refuses (and kafka-consumer-groups refuses) to move offsets under live consumers.
    const group = await describeGroup(client, groupId);
    if (group.state !== 'Empty' && group.state !== 'Dead') {
      throw failure(
        `group '${groupId}' has ${group.members.length} active member${group.members.length === 1 ? '' : 's'} (state ${group.state}); ` +
          'offsets can only be reset while no consumer is in the group: stop its consumers (Ctrl-C), then run this again',
      );
    }
    const committed = await fetchCommittedOffsets(client, groupId, null);
    let partitions: Array<{ topic: string; partition: number }> = [];
    if (flags.allTopics) {
      partitions = committed.map(({ topic, partition }) => ({ topic, partition }));
      if (partitions.length === 0) throw failure(`group '${groupId}' has no committed offsets; name the partitions with --topic`);
    } else {
      for (const spec of specs) {
        const metadata = await client.topicMetadata(spec.topic, { refresh: true });
        const all = metadata.partitions.map((p) => p.partition);
        for (const partition of spec.partitions ?? all) {
          if (!all.includes(partition)) {
            throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `resetting partition ${partition} of topic '${spec.topic}'`, `topic '${spec.topic}' has ${all.length} partitions (0-${all.length - 1})`);
          }
          partitions.push({ topic: spec.topic, partition });
        }
      }
    }
    partitions = [...new Map(partitions.map((p) => [partitionKey(p.topic, p.partition), p])).values()].sort(byTopicPartition);

    const current = new Map(committed.filter((c) => c.offset >= 0n).map((c) => [partitionKey(c.topic, c.partition), c.offset]));
    const bounds = await listOffsets(
      client,
      partitions.flatMap(({ topic, partition }) => [
        { topic, partition, timestamp: OffsetSpec.earliest },
        { topic, partition, timestamp: OffsetSpec.latest },
        ...(target.kind === 'datetime' ? [{ topic, partition, timestamp: target.timestamp }] : []),
      ]),
    );
    const plan = partitions.map(({ topic, partition }) => {
      const earliest = bounds.get(topic, partition, OffsetSpec.earliest)!.offset;
      const latest = bounds.get(topic, partition, OffsetSpec.latest)!.offset;
      const now = current.get(partitionKey(topic, partition)) ?? null;
      let wanted: bigint;
      switch (target.kind) {
        case 'earliest':
          wanted = earliest;
          break;
        case 'latest':
          wanted = latest;
          break;
        case 'offset':
          wanted = target.offset;
          break;
        case 'datetime': {
          const found = bounds.get(topic, partition, target.timestamp)!.offset;
          wanted = found < 0n ? latest : found;
          break;
        }
        case 'shift':
          if (now === null) {
            throw failure(`'${topic}' partition ${partition} has no committed offset in group '${groupId}' to shift from; use --to-earliest, --to-latest or --to-offset`);
          }
          wanted = now + target.by;
          break;
      }
      // As kafka-consumer-groups: a target outside the log is moved to its nearest end.
      const newOffset = wanted < earliest ? earliest : wanted > latest ? latest : wanted;
      return { topic, partition, currentOffset: now, newOffset };
    });

    if (flags.execute) await commitOffsets(client, groupId, plan.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.newOffset })));
    if (flags.json) {
      printJson({ group: groupId, executed: flags.execute === true, offsets: plan });
      return;
    }
    print(renderTable(['TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'NEW-OFFSET'], plan.map((p) => [p.topic, p.partition, p.currentOffset, p.newOffset])));
    print(flags.execute ? `\nCommitted the new offsets of group '${groupId}'.` : '\nDry run: nothing was changed. Add --execute to commit these offsets.');
  });
}

// ---------------------------------------------------------------------------------------------

export function registerGroupCommand(program: Command): void {
  const group = usageExitCodes(new Command('group'))
    .description('list, describe (with lag), delete consumer groups and reset their offsets')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ tributary group list
  $ tributary group describe billing
  $ tributary group reset-offsets billing --topic orders --to-earliest            # dry run
  $ tributary group reset-offsets billing --topic orders:0,1 --shift-by -10 --execute
  $ tributary group delete billing
${EXIT_CODES_HELP}`,
    );
  program.addCommand(group);

  addConnectionOptions(
    group
      .command('list')
      .alias('ls')
      .description('list the consumer groups of every broker')
      .option('--json', 'print the groups as JSON'),
  ).action(action(runList));

  addConnectionOptions(
    group
      .command('describe')
      .description('show a group: state, members and their partitions, committed offsets and lag per partition')
      .argument('<group>', 'group id')
      .option('--json', 'print the description as JSON'),
  ).action(action(runDescribe));

  addConnectionOptions(
    group
      .command('delete')
      .description('delete groups (their committed offsets); only groups without active members')
      .argument('<groups...>', 'group ids')
      .option('--json', 'print the outcome per group as JSON'),
  ).action(action(runDelete));

  addConnectionOptions(
    group
      .command('reset-offsets')
      .description("move a group's committed offsets (a dry run unless --execute); the group must have no active members")
      .argument('<group>', 'group id')
      .option('-t, --topic <topic[:partitions]>', 'partitions to reset: a topic, or topic:0,1,2; repeatable', collect)
      .option('--all-topics', 'every partition the group has committed offsets for')
      .option('--to-earliest', 'to the start of the log')
      .option('--to-latest', 'to the end of the log (skip everything)')
      .option('--to-offset <n>', 'to this offset', bigintValue)
      .option('--to-datetime <date>', 'to the first record at or after this time (ISO date or ms)')
      .option('--shift-by <n>', 'forward (positive) or back (negative) from the committed offset', bigintValue)
      .option('--execute', 'commit the new offsets (without it, only show them)')
      .option('--json', 'print the plan as JSON')
      .addHelpText('after', '\nExample:\n  $ tributary group reset-offsets billing --topic orders --to-datetime 2024-05-01T00:00:00Z --execute'),
  ).action(action(runResetOffsets));
}
