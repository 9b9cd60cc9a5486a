/**
 * The package as an application imports it: `import { startBroker } from 'tributary'` resolves to
 * the bundle (dist/bundle/index.js, made by tools/bundle), and that bundle runs a broker that a
 * real client produces to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import type * as Library from '../../src/index.js';

const { Kafka, logLevel } = kafkajs;

// A variable specifier: tsc would otherwise resolve the package's own types before they are built.
const PACKAGE = 'tributary';

test("import 'tributary' loads the bundle, which starts a broker that serves a real client", async () => {
  assert.match(import.meta.resolve(PACKAGE), /\/dist\/bundle\/index\.js$/);
  const library = (await import(PACKAGE)) as typeof Library;
  assert.match(library.VERSION, /^\d+\.\d+\.\d+/);
  const broker = await library.startBroker({ port: 0, storage: 'memory', logLevel: 'silent' });
  try {
    const kafka = new Kafka({ clientId: 'package-entry', brokers: [`127.0.0.1:${broker.port}`], logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const [result] = await producer.send({ topic: 'from-package', messages: [{ key: 'k', value: 'v' }, { value: 'w' }] });
    await producer.disconnect();
    assert.equal(result?.baseOffset, '0');
    const admin = kafka.admin();
    await admin.connect();
    assert.deepEqual(await admin.fetchTopicOffsets('from-package'), [{ partition: 0, offset: '2', high: '2', low: '0' }]);
    await admin.disconnect();
  } finally {
    await broker.close();
  }
});
