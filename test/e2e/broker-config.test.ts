/**
 * Broker settings that are the defaults of topic configs (log.retention.ms, log.segment.bytes,
 * log.message.timestamp.type...) reach the topics: DescribeConfigs reports them as
 * STATIC_BROKER_CONFIG, and the partition logs act on them. The broker resource lists the settings
 * under Kafka's names from the settings table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiKey } from '../../src/protocol/generated/api-keys.js';
import { ErrorCode } from '../../src/protocol/generated/error-codes.js';
import { ConfigSource } from '../../src/cluster/topic-configs.js';
import { buildRecordBatch } from '../../src/protocol/records/records.js';
import { startTestBroker } from '../helpers/broker.js';
import { WireClient } from '../helpers/wire-client.js';

interface DescribedEntry {
  name: string;
  value: string;
  configSource: number;
  readOnly: boolean;
}

test('topic config defaults from broker settings: DescribeConfigs sources and log behaviour', async () => {
  const broker = await startTestBroker({
    logRetentionHours: 2,
    logSegmentBytes: 1_048_576,
    logMessageTimestampType: 'LogAppendTime',
    defaultPartitions: 2,
  });
  const client = await WireClient.connect(broker.port);
  try {
    const created = await client.request(ApiKey.CreateTopics, 7, {
      topics: [{ name: 'defaults', numPartitions: -1, replicationFactor: -1, assignments: [], configs: [{ name: 'retention.ms', value: '1000' }] }],
      timeoutMs: 5000,
    });
    assert.equal(created.topics[0].errorCode, ErrorCode.NONE);
    assert.equal(created.topics[0].numPartitions, 2, 'num.partitions');

    const described = await client.request(ApiKey.DescribeConfigs, 4, {
      resources: [
        { resourceType: 2, resourceName: 'defaults', configurationKeys: null },
        { resourceType: 4, resourceName: '', configurationKeys: null },
      ],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const [topic, brokerResource] = described.results as Array<{ errorCode: number; configs: DescribedEntry[] }>;
    const entry = (entries: DescribedEntry[], name: string) => {
      const found = entries.find((e) => e.name === name);
      assert.ok(found, name);
      return { value: found.value, source: found.configSource };
    };
    assert.deepEqual(entry(topic!.configs, 'segment.bytes'), { value: '1048576', source: ConfigSource.staticBroker });
    assert.deepEqual(entry(topic!.configs, 'message.timestamp.type'), { value: 'LogAppendTime', source: ConfigSource.staticBroker });
    assert.deepEqual(entry(topic!.configs, 'retention.ms'), { value: '1000', source: ConfigSource.dynamicTopic }, 'the topic override wins');
    assert.deepEqual(entry(topic!.configs, 'retention.bytes'), { value: '-1', source: ConfigSource.default });
    assert.deepEqual(entry(topic!.configs, 'max.message.bytes'), { value: '1048588', source: ConfigSource.default });

    assert.equal(brokerResource!.errorCode, ErrorCode.NONE);
    assert.deepEqual(entry(brokerResource!.configs, 'log.retention.hours'), { value: '2', source: ConfigSource.staticBroker });
    assert.deepEqual(entry(brokerResource!.configs, 'log.segment.bytes'), { value: '1048576', source: ConfigSource.staticBroker });
    assert.deepEqual(entry(brokerResource!.configs, 'num.partitions'), { value: '2', source: ConfigSource.staticBroker });
    assert.deepEqual(entry(brokerResource!.configs, 'message.max.bytes'), { value: '1048588', source: ConfigSource.default });
    assert.deepEqual(entry(brokerResource!.configs, 'log.dirs'), { value: broker.dataDir, source: ConfigSource.staticBroker });
    assert.deepEqual(entry(brokerResource!.configs, 'node.id'), { value: '1', source: ConfigSource.default });
    assert.ok(brokerResource!.configs.every((e) => e.readOnly));
    const names = brokerResource!.configs.map((e) => e.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    assert.ok(!names.includes('log.level') && !names.includes('admin.port'), "only Kafka's settings");

    // The log stamps LogAppendTime, the broker default of message.timestamp.type.
    const before = BigInt(Date.now());
    const produced = await client.request(ApiKey.Produce, 9, {
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [{ name: 'defaults', partitionData: [{ index: 0, records: buildRecordBatch([{ value: 'a', timestamp: 1000n }]) }] }],
    });
    const partition = produced.responses[0].partitionResponses[0];
    assert.equal(partition.errorCode, ErrorCode.NONE);
    assert.ok(partition.logAppendTimeMs >= before, `log append time ${partition.logAppendTimeMs}`);
  } finally {
    client.close();
    await broker.shutdown();
  }
});
