/** The command line's formatting and parsing helpers. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { BrokerConnectionError, KafkaError } from '../../../src/client/errors.js';
import { CliError, ExitCode, explain, renderFields, renderTable, toJson } from '../../../src/cli/output.js';
import { parseDuration } from '../../../src/cli/brokers.js';
import { parseTime } from '../../../src/cli/parse.js';
import { compileTemplate, jsonBytes, parseStartPosition, recordToJson } from '../../../src/cli/commands/consume.js';
import { readLines } from '../../../src/cli/commands/produce.js';

test('tables align columns, show "-" for missing cells and leave no trailing spaces', () => {
  assert.equal(
    renderTable(['NAME', 'PARTITIONS', 'NOTE'], [
      ['orders', 6, null],
      ['a', 10n, 'x'],
    ]),
    'NAME    PARTITIONS  NOTE\norders  6           -\na       10          x',
  );
  assert.equal(renderFields([['ID', 'abc'], ['PARTITIONS', 3]]), 'ID          abc\nPARTITIONS  3');
});

test('JSON turns bigints into numbers when exact, strings beyond 2^53', () => {
  assert.equal(toJson({ a: 5n, b: 2n ** 60n }), '{"a":5,"b":"1152921504606846976"}');
});

test('errors map to exit codes and messages with the fix', () => {
  assert.deepEqual(explain(new KafkaError(ErrorCode.TOPIC_ALREADY_EXISTS, "creating topic 'orders'", "Topic 'orders' already exists.")), {
    exitCode: ExitCode.failed,
    message: "TOPIC_ALREADY_EXISTS: topic 'orders' already exists; use `tributary topic describe orders`",
  });
  assert.equal(
    explain(new KafkaError(ErrorCode.REQUEST_TIMED_OUT, 'producing to partition 0 of topic \'t\'')).message,
    "REQUEST_TIMED_OUT: producing to partition 0 of topic 't' failed",
  );
  assert.equal(explain(new BrokerConnectionError(['h:1'], 'cannot connect to h:1 (ECONNREFUSED)', { bootstrap: true })).exitCode, ExitCode.unreachable);
  assert.deepEqual(explain(new CliError(ExitCode.usage, 'bad')), { exitCode: 2, message: 'bad' });
});

test('--from accepts names, offsets, counts from the end, epoch ms and ISO dates', () => {
  assert.deepEqual(parseStartPosition('beginning'), { kind: 'earliest' });
  assert.deepEqual(parseStartPosition('END'), { kind: 'latest' });
  assert.deepEqual(parseStartPosition('42'), { kind: 'offset', offset: 42n });
  assert.deepEqual(parseStartPosition('-10'), { kind: 'fromEnd', count: 10n });
  assert.deepEqual(parseStartPosition('@1714557600000'), { kind: 'timestamp', timestamp: 1714557600000n });
  assert.deepEqual(parseStartPosition('2024-05-01T10:00:00Z'), { kind: 'timestamp', timestamp: 1714557600000n });
  assert.throws(() => parseStartPosition('soon'), (error: unknown) => error instanceof CliError && error.exitCode === ExitCode.usage);
  assert.equal(parseTime('2024-05-01'), 1714521600000n);
  assert.equal(parseTime('May 1'), null);
});

test('durations', () => {
  assert.equal(parseDuration('5000'), 5000);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.throws(() => parseDuration('soon'), /Expected a duration/);
});

const record = {
  topic: 't',
  partition: 2,
  offset: 7n,
  timestamp: 1000n,
  key: Buffer.from('k'),
  value: Buffer.from([0xff, 0x01]),
  headers: [{ key: 'h', value: Buffer.from('v') }],
};

test('record formats: JSON with text or base64, kcat-like templates', () => {
  assert.equal(jsonBytes(null), null);
  assert.equal(jsonBytes(Buffer.from('héllo')), 'héllo');
  assert.deepEqual(jsonBytes(Buffer.from([0xff])), { base64: '/w==' });
  assert.equal(recordToJson(record), '{"topic":"t","partition":2,"offset":7,"timestamp":1000,"key":"k","value":{"base64":"/wE="},"headers":[{"key":"h","value":"v"}]}');
  assert.equal(compileTemplate('%t:%p:%o %k %h %T %%')(record).toString(), 't:2:7 k h=v 1000 %\n');
  assert.deepEqual(compileTemplate('%v\\t|\\n')(record), Buffer.from([0xff, 0x01, 0x09, 0x7c, 0x0a]));
  assert.throws(() => compileTemplate('%x'), /unknown field %x/);
});

test('input lines are split at \\n as bytes; the last line needs no newline', async () => {
  const chunks = [Buffer.from('a\nb'), Buffer.from('c\n\n'), Buffer.from([0xff, 0x0a, 0x64])];
  const lines: string[] = [];
  for await (const line of readLines(Readable.from(chunks))) lines.push(line.toString('latin1'));
  assert.deepEqual(lines, ['a', 'bc', '', '\xff', 'd']);
});
