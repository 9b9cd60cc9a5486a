/**
 * `tributary topic create|list|describe|delete|alter-config|add-partitions`: topic administration
 * over the Kafka protocol (CreateTopics, Metadata, DescribeConfigs, ListOffsets, DeleteTopics,
 * IncrementalAlterConfigs, CreatePartitions), so it works against Apache Kafka as well.
 */
import { Command, InvalidArgumentError } from 'commander';
import { ErrorCode, errorName } from '../../protocol/generated/error-codes.js';
import { ZERO_UUID } from '../../protocol/primitives/reader.js';
import {
  CONFIG_SOURCE_NAMES,
  OffsetSpec,
  alterTopicConfigs,
  createPartitions,
  createTopics,
  deleteTopics,
  describeTopicConfigs,
  listOffsets,
  type ConfigOperation,
} from '../../client/admin.js';
import { KafkaError } from '../../client/errors.js';
import { addConnectionOptions, withClient, type ConnectionFlags } from '../brokers.js';
import { EXIT_CODES_HELP, action, explain, failure, print, printJson, renderFields, renderTable, usageError, usageExitCodes, warn } from '../output.js';
import { collect, integerAtLeast, keyValue } from '../parse.js';

interface CreateFlags extends ConnectionFlags {
  partitions?: number;
  replicationFactor?: number;
  config?: string[];
  validateOnly?: boolean;
  json?: boolean;
}

function parseConfigs(pairs: string[] | undefined): Record<string, string> {
  const configs: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const { key, value } = keyValue(pair, 'a config');
    configs[key] = value;
  }
  return configs;
}

/** "1" or "1,2,3". */
const nodes = (ids: number[]) => (ids.length === 0 ? '-' : ids.join(','));

async function runCreate(name: string, flags: CreateFlags): Promise<void> {
  let configs: Record<string, string>;
  try {
    configs = parseConfigs(flags.config);
  } catch (error) {
    throw usageError((error as Error).message);
  }
  await withClient(flags, async (client) => {
    const [result] = await createTopics(
      client,
      [{ name, partitions: flags.partitions ?? -1, replicationFactor: flags.replicationFactor ?? -1, configs }],
      { validateOnly: flags.validateOnly, timeoutMs: flags.timeout },
    );
    if (result === undefined) throw failure(`the broker did not answer for topic '${name}'`);
    if (result.errorCode !== ErrorCode.NONE) throw new KafkaError(result.errorCode, `creating topic '${name}'`, result.errorMessage);
    let { partitions, replicationFactor, topicId } = result;
    if (!flags.validateOnly && (partitions < 0 || topicId === ZERO_UUID)) {
      // CreateTopics < v5 does not say what was created: ask.
      const metadata = await client.topicMetadata(name, { refresh: true });
      partitions = metadata.partitions.length;
      replicationFactor = metadata.partitions[0]?.replicas.length ?? -1;
      topicId = metadata.topicId;
    }
    if (flags.json) {
      printJson({
        topic: name,
        topicId: topicId === ZERO_UUID ? null : topicId,
        partitions,
        replicationFactor,
        configs,
        validateOnly: flags.validateOnly === true,
      });
      return;
    }
    const shape = `${partitions} partition${partitions === 1 ? '' : 's'}, replication factor ${replicationFactor}`;
    print(flags.validateOnly ? `Topic '${name}' can be created (${shape}); nothing was changed (--validate-only).` : `Created topic '${name}' (${shape}).`);
  });
}

interface ListFlags extends ConnectionFlags {
  internal?: boolean;
  json?: boolean;
}

async function runList(flags: ListFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const metadata = await client.retry('listing topics', () => client.refreshMetadata(null));
    const topics = [...metadata.topics.values()]
      .filter((topic) => flags.internal || !topic.isInternal)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (flags.json) {
      printJson(
        topics.map((topic) => ({
          name: topic.name,
          topicId: topic.topicId === ZERO_UUID ? null : topic.topicId,
          partitions: topic.partitions.length,
          replicationFactor: topic.partitions[0]?.replicas.length ?? 0,
          internal: topic.isInternal,
        })),
      );
      return;
    }
    if (topics.length === 0) {
      print(flags.internal ? 'No topics.' : 'No topics (internal topics are hidden; --internal shows them). Create one with `tributary topic create NAME`.');
      return;
    }
    print(
      renderTable(
        ['NAME', 'PARTITIONS', 'REPLICAS'],
        topics.map((topic) => [topic.name, topic.partitions.length, topic.partitions[0]?.replicas.length ?? 0]),
      ),
    );
  });
}

interface DescribeFlags extends ConnectionFlags {
  allConfigs?: boolean;
  json?: boolean;
}

async function runDescribe(name: string, flags: DescribeFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const topic = await client.topicMetadata(name, { refresh: true });
    const [configs, offsets] = await Promise.all([
      describeTopicConfigs(client, name),
      listOffsets(
        client,
        topic.partitions.flatMap((p) => [
          { topic: name, partition: p.partition, timestamp: OffsetSpec.earliest },
          { topic: name, partition: p.partition, timestamp: OffsetSpec.latest },
        ]),
      ),
    ]);
    const shown = configs
      .filter((config) => flags.allConfigs || config.source !== 5)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const partitions = topic.partitions.map((p) => ({
      partition: p.partition,
      leader: p.leaderId,
      leaderEpoch: p.leaderEpoch,
      replicas: p.replicas,
      isr: p.isr,
      logStartOffset: offsets.get(name, p.partition, OffsetSpec.earliest)?.offset ?? -1n,
      highWatermark: offsets.get(name, p.partition, OffsetSpec.latest)?.offset ?? -1n,
    }));
    if (flags.json) {
      printJson({
        name,
        topicId: topic.topicId === ZERO_UUID ? null : topic.topicId,
        internal: topic.isInternal,
        partitions,
        configs: shown.map((config) => ({ name: config.name, value: config.isSensitive ? null : config.value, source: CONFIG_SOURCE_NAMES[config.source] ?? String(config.source) })),
      });
      return;
    }
    const sections = [
      'SUMMARY\n=======\n' +
        renderFields([
          ['NAME', name],
          ['ID', topic.topicId === ZERO_UUID ? '-' : topic.topicId],
          ['PARTITIONS', topic.partitions.length],
          ['REPLICAS', topic.partitions[0]?.replicas.length ?? 0],
          ['INTERNAL', topic.isInternal ? 'yes' : 'no'],
        ]),
      'CONFIGS\n=======\n' +
        (shown.length === 0
          ? '(every config has its default value; --all-configs lists them)'
          : renderTable(
              ['KEY', 'VALUE', 'SOURCE'],
              shown.map((config) => [config.name, config.isSensitive ? '(sensitive)' : config.value, CONFIG_SOURCE_NAMES[config.source] ?? config.source]),
            )),
      'PARTITIONS\n==========\n' +
        renderTable(
          ['PARTITION', 'LEADER', 'EPOCH', 'REPLICAS', 'ISR', 'LOG-START-OFFSET', 'HIGH-WATERMARK'],
          partitions.map((p) => [p.partition, p.leader, p.leaderEpoch, nodes(p.replicas), nodes(p.isr), p.logStartOffset, p.highWatermark]),
        ),
    ];
    print(sections.join('\n\n'));
  });
}

interface DeleteFlags extends ConnectionFlags {
  json?: boolean;
}

async function runDelete(names: string[], flags: DeleteFlags): Promise<number> {
  return withClient(flags, async (client) => {
    const results = await deleteTopics(client, names, { timeoutMs: flags.timeout });
    const byName = new Map(results.map((result) => [result.name, result]));
    const outcomes = names.map((name) => byName.get(name) ?? { name, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: 'no answer for this topic' });
    if (flags.json) {
      printJson(outcomes.map((o) => ({ topic: o.name, deleted: o.errorCode === ErrorCode.NONE, error: o.errorCode === ErrorCode.NONE ? null : errorName(o.errorCode), message: o.errorMessage })));
    }
    let failed = 0;
    for (const outcome of outcomes) {
      if (outcome.errorCode === ErrorCode.NONE) {
        if (!flags.json) print(`Deleted topic '${outcome.name}'.`);
      } else {
        failed++;
        warn(explain(new KafkaError(outcome.errorCode, `deleting topic '${outcome.name}'`, outcome.errorMessage)).message);
      }
    }
    return failed === 0 ? 0 : 1;
  });
}

interface AlterFlags extends ConnectionFlags {
  set?: string[];
  delete?: string[];
  append?: string[];
  subtract?: string[];
  validateOnly?: boolean;
}

async function runAlterConfig(name: string, flags: AlterFlags): Promise<void> {
  const changes: Array<{ name: string; operation: ConfigOperation; value: string | null }> = [];
  try {
    for (const pair of flags.set ?? []) {
      const { key, value } = keyValue(pair, '--set');
      changes.push({ name: key, operation: 'set', value });
    }
    for (const pair of flags.append ?? []) {
      const { key, value } = keyValue(pair, '--append');
      changes.push({ name: key, operation: 'append', value });
    }
    for (const pair of flags.subtract ?? []) {
      const { key, value } = keyValue(pair, '--subtract');
      changes.push({ name: key, operation: 'subtract', value });
    }
  } catch (error) {
    throw usageError((error as Error).message);
  }
  for (const key of flags.delete ?? []) changes.push({ name: key, operation: 'delete', value: null });
  if (changes.length === 0) throw usageError('nothing to change: give --set key=value or --delete key (see `tributary topic alter-config --help`)');
  await withClient(flags, async (client) => {
    await alterTopicConfigs(client, name, changes, { validateOnly: flags.validateOnly });
    const described = changes.map((change) =>
      change.operation === 'delete' ? `deleted ${change.name} (back to its default)` : `${change.operation === 'set' ? 'set' : change.operation} ${change.name}=${change.value}`,
    );
    print(`${flags.validateOnly ? 'Would alter' : 'Altered'} configs of topic '${name}': ${described.join('; ')}.`);
  });
}

interface AddPartitionsFlags extends ConnectionFlags {
  num: number;
  validateOnly?: boolean;
}

async function runAddPartitions(name: string, flags: AddPartitionsFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const current = (await client.topicMetadata(name, { refresh: true })).partitions.length;
    const total = current + flags.num;
    const [result] = await createPartitions(client, [{ name, count: total }], { validateOnly: flags.validateOnly, timeoutMs: flags.timeout });
    if (result !== undefined && result.errorCode !== ErrorCode.NONE) throw new KafkaError(result.errorCode, `adding partitions to topic '${name}'`, result.errorMessage);
    print(
      flags.validateOnly
        ? `Topic '${name}' can grow from ${current} to ${total} partitions; nothing was changed (--validate-only).`
        : `Topic '${name}' now has ${total} partitions (was ${current}). Keys may now map to other partitions.`,
    );
  });
}

function replicationFactor(value: string): number {
  const parsed = integerAtLeast(-1)(value);
  if (parsed === 0) throw new InvalidArgumentError('Must be at least 1 (or -1 for the broker default).');
  return parsed;
}

export function registerTopicCommand(program: Command): void {
  const topic = usageExitCodes(new Command('topic'))
    .description('create, list, describe, alter and delete topics')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ tributary topic create orders -p 6
  $ tributary topic create short -c retention.ms=60000 -c segment.bytes=1048576
  $ tributary topic list
  $ tributary topic describe orders
  $ tributary topic alter-config orders --set retention.ms=86400000 --delete segment.ms
  $ tributary topic add-partitions orders -n 2
  $ tributary topic delete orders
${EXIT_CODES_HELP}`,
    );
  program.addCommand(topic);

  addConnectionOptions(
    topic
      .command('create')
      .description('create a topic')
      .argument('<name>', 'topic name')
      .option('-p, --partitions <n>', 'number of partitions (default: the broker default, num.partitions)', integerAtLeast(1))
      .option('-r, --replication-factor <n>', 'replicas of each partition (default: the broker default)', replicationFactor)
      .option('-c, --config <key=value>', 'topic config, repeatable (e.g. -c retention.ms=60000)', collect)
      .option('--validate-only', 'only check that the topic could be created')
      .option('--json', 'print the result as JSON')
      .addHelpText('after', '\nExample:\n  $ tributary topic create orders -p 6 -c retention.ms=604800000'),
  ).action(action(runCreate));

  addConnectionOptions(
    topic
      .command('list')
      .alias('ls')
      .description('list topics (internal topics such as __consumer_offsets are hidden)')
      .option('-i, --internal', 'include internal topics')
      .option('--json', 'print the topics as JSON'),
  ).action(action(runList));

  addConnectionOptions(
    topic
      .command('describe')
      .description('show a topic: id, partitions with leader, replicas, ISR and offsets, configs that differ from the defaults')
      .argument('<name>', 'topic name')
      .option('-a, --all-configs', 'show every config, not only those that differ from the defaults')
      .option('--json', 'print the description as JSON'),
  ).action(action(runDescribe));

  addConnectionOptions(
    topic
      .command('delete')
      .description('delete topics and all their data')
      .argument('<names...>', 'topic names')
      .option('--json', 'print the outcome per topic as JSON'),
  ).action(action(runDelete));

  addConnectionOptions(
    topic
      .command('alter-config')
      .description('change topic configs (IncrementalAlterConfigs)')
      .argument('<name>', 'topic name')
      .option('-s, --set <key=value>', 'set a config, repeatable', collect)
      .option('-d, --delete <key>', 'remove an override (back to the default), repeatable', collect)
      .option('--append <key=value>', 'append to a list config, repeatable', collect)
      .option('--subtract <key=value>', 'remove from a list config, repeatable', collect)
      .option('--validate-only', 'only check the change')
      .addHelpText('after', '\nExample:\n  $ tributary topic alter-config orders --set retention.ms=3600000 --delete segment.bytes'),
  ).action(action(runAlterConfig));

  addConnectionOptions(
    topic
      .command('add-partitions')
      .description('add partitions to a topic (keys may then map to other partitions)')
      .argument('<name>', 'topic name')
      .requiredOption('-n, --num <n>', 'number of partitions to add', integerAtLeast(1))
      .option('--validate-only', 'only check the change'),
  ).action(action(runAddPartitions));
}
