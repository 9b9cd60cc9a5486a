/**
 * The messages every producer writes and the comparison every consumer's reading goes through.
 *
 * Each (producer, codec) pair writes its own topic of PARTITIONS partitions, so the offsets of its
 * messages follow from the order they were sent in. The messages are deterministic (a seeded PRNG)
 * and cover what a client may get wrong: null and empty keys and values, binary and UTF-8 bytes,
 * headers (duplicate names, null and empty values), a value larger than one snappy/lz4 block,
 * explicit and out-of-order timestamps. A producer only gets what its API can express.
 */

export const PARTITIONS = 3;

export interface Header {
  key: string;
  value: Buffer | null;
}

export interface Message {
  partition: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Header[];
  /** CreateTime the producer sets; null: the producer's clock decides. */
  timestamp: number | null;
}

/** What a producer's API can express. */
export interface ProducerCapabilities {
  nullKey: boolean;
  emptyKey: boolean;
  nullValue: boolean;
  emptyValue: boolean;
  headers: boolean;
  nullHeaderValue: boolean;
  /** False where the client sends an empty header value as null. */
  emptyHeaderValue: boolean;
  duplicateHeaderKeys: boolean;
  explicitTimestamps: boolean;
  /** Bytes that must not appear in keys (e.g. kcat's key delimiter). */
  forbiddenKeyBytes?: number[];
  /** Bytes that must not appear in values. */
  forbiddenValueBytes?: number[];
}

/** A record as a consumer reports it. kcat renders headers as `k=v,k=v` text, so it reports that. */
export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Header[] | { rendered: Buffer };
}

/** The record a consumer must see at (topic, partition, offset). */
export interface ExpectedRecord {
  topic: string;
  producer: string;
  codec: string;
  partition: number;
  offset: number;
  message: Message;
  /** For messages without an explicit timestamp: the producer's send window (ms). */
  sentBetween: [number, number];
}

/** Mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedOf(text: string): number {
  let hash = 2166136261;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 16777619);
  return hash >>> 0;
}

function bytes(random: () => number, length: number, forbidden: number[] = []): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    let byte = Math.floor(random() * 256);
    while (forbidden.includes(byte)) byte = (byte + 1) % 256;
    out[i] = byte;
  }
  return out;
}

export const MESSAGES_PER_JOB = 30;

/**
 * The messages of one (producer, codec) job: MESSAGES_PER_JOB over PARTITIONS partitions, with every
 * kind of content the producer can express.
 */
export function makeMessages(producer: string, codec: string, caps: ProducerCapabilities): Message[] {
  const random = prng(seedOf(`${producer}/${codec}`));
  const baseTimestamp = 1_700_000_000_000 + (seedOf(producer + codec) % 1_000_000) * 1000;
  const messages: Message[] = [];
  const text = (s: string) => Buffer.from(s, 'utf8');
  const keyBytes = (n: number) => bytes(random, n, caps.forbiddenKeyBytes);
  const valueBytes = (n: number) => bytes(random, n, caps.forbiddenValueBytes);
  for (let i = 0; i < MESSAGES_PER_JOB; i++) {
    const partition = i % PARTITIONS;
    let key: Buffer | null = text(`key-${i}`);
    let value: Buffer | null = text(`${producer} ${codec} message ${i} `.repeat(3));
    let headers: Header[] = caps.headers ? [{ key: 'trace-id', value: text(`${producer}-${codec}-${i}`) }] : [];
    switch (i % 10) {
      case 1:
        if (caps.nullKey) key = null;
        value = text(`héllo wörld ✓ ${i} — 日本語 🚀`);
        break;
      case 2:
        key = keyBytes(16);
        value = valueBytes(64 + Math.floor(random() * 200));
        if (caps.headers) headers = [{ key: 'bin', value: valueBytes(24) }];
        break;
      case 3:
        key = text(`tombstone-${i}`);
        if (caps.nullValue) value = null;
        break;
      case 4:
        if (caps.emptyKey) key = Buffer.alloc(0);
        if (caps.emptyValue) value = Buffer.alloc(0);
        break;
      case 5:
        if (caps.headers) {
          headers = [
            { key: 'dup', value: text('first') },
            { key: caps.duplicateHeaderKeys ? 'dup' : 'dup2', value: text('second') },
            { key: 'ünïcødé-kéy', value: text('välüe') },
          ];
          if (caps.emptyHeaderValue) headers.splice(2, 0, { key: 'empty', value: Buffer.alloc(0) });
          if (caps.nullHeaderValue) headers.push({ key: 'null-value', value: null });
        }
        break;
      case 6:
        // Larger than one snappy (32 KiB) or lz4 (64 KiB) block once compressed input is split.
        value = text(`large ${i} `.repeat(9000));
        break;
      case 7:
        value = valueBytes(3000);
        if (caps.nullKey) key = null;
        break;
      case 8:
        value = text(JSON.stringify({ producer, codec, i, nested: { list: [1, 2, 3], flag: true } }));
        break;
      default:
        break;
    }
    let timestamp: number | null = null;
    if (caps.explicitTimestamps) {
      // Mostly increasing, with one step backwards per partition: CreateTime is the producer's word.
      timestamp = baseTimestamp + i * 1000 + (i % 10 === 9 ? -30_000 : 0);
    }
    messages.push({ partition, key, value, headers, timestamp });
  }
  return messages;
}

/** Expected records of a job, offsets assigned in send order per partition. */
export function expectedRecords(topic: string, producer: string, codec: string, messages: Message[], sentBetween: [number, number]): ExpectedRecord[] {
  const next = new Map<number, number>();
  return messages.map((message) => {
    const offset = next.get(message.partition) ?? 0;
    next.set(message.partition, offset + 1);
    return { topic, producer, codec, partition: message.partition, offset, message, sentBetween };
  });
}

/**
 * kcat's %h: `name=value` joined by ',', a null value printed as NULL. kcat prints header values as
 * C strings, so a value is cut at its first NUL byte.
 */
export function renderHeadersLikeKcat(headers: Header[]): Buffer {
  const parts: Buffer[] = [];
  headers.forEach((header, index) => {
    if (index > 0) parts.push(Buffer.from(','));
    let value = header.value ?? Buffer.from('NULL');
    const nul = value.indexOf(0);
    if (nul >= 0) value = value.subarray(0, nul);
    parts.push(Buffer.from(`${header.key}=`, 'utf8'), value);
  });
  return Buffer.concat(parts);
}

/** Known limits of a consuming client's API, applied to what it is expected to report. */
export interface ConsumerQuirks {
  /** The client reports a null header value as an empty one (node-rdkafka-style headers). */
  nullHeaderValueReadsEmpty?: boolean;
}

export function preview(value: Buffer | null): string {
  if (value === null) return 'null';
  const printable = value.every((byte) => byte >= 0x20 && byte < 0x7f);
  const shown = printable ? JSON.stringify(value.subarray(0, 60).toString('latin1')) : `0x${value.subarray(0, 32).toString('hex')}`;
  return `${value.length} bytes ${shown}${value.length > (printable ? 60 : 32) ? '…' : ''}`;
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

function describeHeaders(headers: Header[]): string {
  return `[${headers.map((h) => `${h.key}=${preview(h.value)}`).join(', ')}]`;
}

/** Differences between one expected and one consumed record, as readable lines. */
export function diffRecord(expected: ExpectedRecord, got: ConsumedRecord, quirks: ConsumerQuirks = {}): string[] {
  const problems: string[] = [];
  let { message } = expected;
  if (quirks.nullHeaderValueReadsEmpty) {
    message = { ...message, headers: message.headers.map((h) => ({ key: h.key, value: h.value ?? Buffer.alloc(0) })) };
  }
  if (!sameBytes(message.key, got.key)) problems.push(`key: expected ${preview(message.key)}, got ${preview(got.key)}`);
  if (!sameBytes(message.value, got.value)) problems.push(`value: expected ${preview(message.value)}, got ${preview(got.value)}`);
  if ('rendered' in got.headers) {
    const want = renderHeadersLikeKcat(message.headers);
    if (!want.equals(got.headers.rendered)) problems.push(`headers: expected ${preview(want)}, got ${preview(got.headers.rendered)}`);
  } else {
    const gotHeaders = got.headers;
    const same =
      gotHeaders.length === message.headers.length &&
      gotHeaders.every((h, i) => h.key === message.headers[i]!.key && sameBytes(h.value, message.headers[i]!.value));
    if (!same) problems.push(`headers: expected ${describeHeaders(message.headers)}, got ${describeHeaders(gotHeaders)}`);
  }
  if (message.timestamp !== null) {
    if (got.timestamp !== message.timestamp) problems.push(`timestamp: expected ${message.timestamp}, got ${got.timestamp}`);
  } else {
    const [from, to] = expected.sentBetween;
    if (!(got.timestamp >= from - 1000 && got.timestamp <= to + 1000)) {
      problems.push(`timestamp: expected the producer's clock within [${from}, ${to}], got ${got.timestamp}`);
    }
  }
  return problems;
}

/**
 * Compares what a consumer read with what was produced, for the given jobs. Returns one readable
 * paragraph per (producer, codec) that differs, at most `limit` lines each.
 */
export function compareReading(consumer: string, expected: ExpectedRecord[], consumed: ConsumedRecord[], quirks: ConsumerQuirks = {}, limit = 8): string[] {
  const byPosition = new Map<string, ConsumedRecord[]>();
  for (const record of consumed) {
    const position = `${record.topic}/${record.partition}/${record.offset}`;
    const list = byPosition.get(position) ?? [];
    list.push(record);
    byPosition.set(position, list);
  }
  const topics = new Set(expected.map((e) => e.topic));
  const problemsByJob = new Map<string, string[]>();
  const add = (job: string, line: string) => {
    const list = problemsByJob.get(job) ?? [];
    list.push(line);
    problemsByJob.set(job, list);
  };
  for (const record of expected) {
    const job = `producer ${record.producer}, codec ${record.codec} (topic ${record.topic})`;
    const position = `${record.topic}/${record.partition}/${record.offset}`;
    const got = byPosition.get(position);
    byPosition.delete(position);
    if (got === undefined) {
      add(job, `partition ${record.partition} offset ${record.offset}: missing (expected key ${preview(record.message.key)})`);
      continue;
    }
    if (got.length > 1) add(job, `partition ${record.partition} offset ${record.offset}: delivered ${got.length} times`);
    for (const problem of diffRecord(record, got[0]!, quirks)) add(job, `partition ${record.partition} offset ${record.offset}: ${problem}`);
  }
  for (const [position, records] of byPosition) {
    const [topic] = position.split('/');
    if (topics.has(topic!)) add(`topic ${topic}`, `unexpected record at ${position} (value ${preview(records[0]!.value)})`);
  }
  return [...problemsByJob].map(([job, lines]) => {
    const shown = lines.slice(0, limit).map((line) => `    ${line}`);
    if (lines.length > limit) shown.push(`    … and ${lines.length - limit} more`);
    return `${consumer} reading ${job}:\n${shown.join('\n')}`;
  });
}
