/**
 * The interop matrix's data set as a unit: every producing client writes every codec it supports
 * (the messages of dataset.ts, as much as its API can express) to its own topic. Other suites use
 * it to check that a consumer reads back what every producer wrote, e.g. the group consumers of
 * groups-consumers.test.ts; which of those topics a consumer can decode follows from its codecs and
 * known limits (`decodableBy`).
 */
import { expectedRecords, makeMessages, type ExpectedRecord } from './dataset.js';
import {
  confluentJsProducer,
  confluentPythonProducer,
  kafkaPythonProducer,
  kafkajsProducer,
  kcatProducer,
  platformaticCodecs,
  platformaticProducer,
  withKcatHeaders,
  type Job,
  type ProducerClient,
} from './producers.js';

/** Every producing client, each with the codecs it can write here. */
export const MATRIX_PRODUCERS: ProducerClient[] = [
  kcatProducer,
  kafkaPythonProducer,
  confluentPythonProducer,
  confluentJsProducer,
  kafkajsProducer,
  { ...platformaticProducer, codecs: await platformaticCodecs() },
];

/** The jobs (one topic per codec) a producer writes: the deterministic messages its API can express. */
export function matrixJobs(producer: ProducerClient, topicOf: (producer: string, codec: string) => string): Job[] {
  return producer.codecs.map((codec) => {
    let messages = makeMessages(producer.name, codec, producer.caps);
    // kcat sets the same headers on every message of a run, one run per partition.
    if (producer === kcatProducer) messages = withKcatHeaders(messages);
    return { topic: topicOf(producer.name, codec), codec, messages };
  });
}

/**
 * Writes the whole data set (the topics must exist, with dataset.ts's PARTITIONS partitions) and
 * returns what every partition must now hold, in production order.
 */
export async function produceMatrix(bootstrap: string, topicOf: (producer: string, codec: string) => string, producers = MATRIX_PRODUCERS): Promise<ExpectedRecord[]> {
  const expected: ExpectedRecord[] = [];
  for (const producer of producers) {
    const jobs = matrixJobs(producer, topicOf);
    const started = Date.now();
    await producer.produce(bootstrap, jobs);
    const finished = Date.now();
    for (const job of jobs) expected.push(...expectedRecords(job.topic, producer.name, job.codec, job.messages, [started, finished]));
  }
  return expected;
}

export function matrixTopics(topicOf: (producer: string, codec: string) => string, producers = MATRIX_PRODUCERS): string[] {
  return producers.flatMap((p) => p.codecs.map((codec) => topicOf(p.name, codec)));
}

/**
 * Splits expected records into what a consumer can decode and, per topic, why it cannot read the
 * rest (a codec it lacks, or a known (producer, codec) limit).
 */
export function decodableBy(
  consumer: { codecs: string[]; cannotRead?: Array<{ producer: string; codec: string; reason: string }> },
  expected: ExpectedRecord[],
): { wanted: ExpectedRecord[]; skipped: string[] } {
  const why = (e: ExpectedRecord): string | null => {
    if (!consumer.codecs.includes(e.codec)) return `cannot decompress ${e.codec} here`;
    return consumer.cannotRead?.find((c) => c.producer === e.producer && c.codec === e.codec)?.reason ?? null;
  };
  const wanted = expected.filter((e) => why(e) === null);
  const skipped = [...new Set(expected.filter((e) => why(e) !== null).map((e) => `${e.topic} (${why(e)})`))];
  return { wanted, skipped };
}
