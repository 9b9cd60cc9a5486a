/**
 * Builds sample messages from the generated descriptors (`XSchema`), independently of the generator's
 * own code: Kafka's default rules are restated here, so a generator that gets them wrong disagrees.
 */
import { ZERO_UUID } from '../../../src/protocol/primitives/reader.js';
import { versionsInclude, type FieldSchema } from '../../../src/protocol/generated/message-schema.js';

export type Sample = Record<string, unknown>;

/**
 * `values`: every present field gets a non-default value; `nulls`: nullable fields are null;
 * `minimal`: the smallest encoding (nulls where nullable, defaults elsewhere) but with two elements in
 * every array, so arrays of smallest elements end close to the frame's end: a decoder that
 * overestimates an element's minimum size rejects them.
 */
export type SampleMode = 'values' | 'nulls' | 'minimal';

function isArray(field: FieldSchema): boolean {
  return field.type.startsWith('[]');
}

function baseType(field: FieldSchema): string {
  return isArray(field) ? field.type.slice(2) : field.type;
}

/** Kafka's default for a field: the explicit one, else 0 / '' / false / empty / [] / null for records. */
export function defaultOf(field: FieldSchema): unknown {
  if (field.default !== undefined) {
    if (field.default === null) return null;
    if (field.type === 'bytes' || field.type === 'records') return Buffer.alloc(0);
    return field.default;
  }
  if (isArray(field)) return [];
  if (field.fields !== undefined) return defaultStruct(field.fields);
  switch (field.type) {
    case 'bool':
      return false;
    case 'int64':
      return 0n;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return Buffer.alloc(0);
    case 'records':
      return null;
    default:
      return 0;
  }
}

export function defaultStruct(fields: readonly FieldSchema[]): Sample {
  const struct: Sample = {};
  for (const field of fields) struct[field.name] = defaultOf(field);
  return struct;
}

function uuidFrom(seed: number): string {
  const hex = (seed * 2654435761 + 0x1234567).toString(16).padStart(8, '0').slice(-8);
  return `${hex}-0000-4000-8000-${hex}abcd`;
}

/** A value of a primitive type that differs from `fallback`. */
function primitiveSample(type: string, seed: number, fallback: unknown): unknown {
  const pick = <T>(a: T, b: T): T => (a === fallback ? b : a);
  switch (type) {
    case 'bool':
      return fallback !== true;
    case 'int8':
      return pick(10 + (seed % 100), -3);
    case 'int16':
      return pick(1000 + (seed % 20000), -300);
    case 'uint16':
      return pick(65000 + (seed % 500), 1);
    case 'int32':
      return pick(100000 + (seed % 1000000), -70000);
    case 'uint32':
      return pick(3000000000 + seed, 1);
    case 'int64':
      return pick(2n ** 40n + BigInt(seed), -(2n ** 50n));
    case 'float64':
      return pick(1.5 + seed, -0.25);
    case 'string':
      return `s${seed}-é`;
    case 'uuid':
      return uuidFrom(seed + 1);
    case 'bytes':
      return Buffer.from([seed & 0xff, 1, 2, 3]);
    case 'records':
      return Buffer.from([0, 0, 0, 0, seed & 0xff, 9, 9, 9]);
    default:
      throw new Error(`unknown primitive type ${type}`);
  }
}

let counter = 0;

function fieldSample(field: FieldSchema, version: number, mode: SampleMode): unknown {
  if (mode !== 'values' && versionsInclude(field.nullableVersions, version)) return null;
  if (mode === 'minimal') {
    if (field.taggedVersions !== undefined) return defaultOf(field);
    if (isArray(field)) {
      if (field.fields !== undefined) return [structSample(field.fields, version, mode), structSample(field.fields, version, mode)];
      const element = baseType(field);
      const smallest = element === 'string' ? '' : element === 'int64' ? 0n : element === 'uuid' ? ZERO_UUID : element === 'bool' ? false : 0;
      return [smallest, smallest];
    }
    if (field.fields !== undefined) return structSample(field.fields, version, mode);
    const fallback = defaultOf(field);
    // A records field without a default (null) that is not nullable here must still be bytes.
    return fallback === null ? Buffer.alloc(0) : fallback;
  }
  const seed = ++counter;
  const fallback = defaultOf(field);
  if (isArray(field)) {
    const element = baseType(field);
    if (field.fields !== undefined) return [structSample(field.fields, version, mode), structSample(field.fields, version, mode)];
    return [primitiveSample(element, seed, undefined), primitiveSample(element, seed + 1, undefined)];
  }
  if (field.fields !== undefined) return structSample(field.fields, version, mode);
  return primitiveSample(field.type, seed, fallback);
}

/** A complete struct for `version`: present fields get sample values, absent ones their defaults. */
export function structSample(fields: readonly FieldSchema[], version: number, mode: SampleMode): Sample {
  const struct: Sample = {};
  for (const field of fields) {
    struct[field.name] = versionsInclude(field.versions, version) ? fieldSample(field, version, mode) : defaultOf(field);
  }
  return struct;
}

/**
 * The smallest input an encoder accepts for the sample: fields that have a default, are tagged or are
 * absent from `version` are left out. Returns the input and what decoding it must give back.
 */
export function minimalInput(fields: readonly FieldSchema[], sample: Sample, version: number): { input: Sample; expected: Sample } {
  const input: Sample = {};
  const expected: Sample = {};
  for (const field of fields) {
    const value = sample[field.name];
    const omit = field.default !== undefined || field.taggedVersions !== undefined || !versionsInclude(field.versions, version);
    if (omit) {
      expected[field.name] = defaultOf(field);
      continue;
    }
    if (field.fields !== undefined && value !== null && value !== undefined) {
      if (Array.isArray(value)) {
        const pairs = value.map((element) => minimalInput(field.fields!, element as Sample, version));
        input[field.name] = pairs.map((pair) => pair.input);
        expected[field.name] = pairs.map((pair) => pair.expected);
      } else {
        const pair = minimalInput(field.fields, value as Sample, version);
        input[field.name] = pair.input;
        expected[field.name] = pair.expected;
      }
      continue;
    }
    input[field.name] = value;
    expected[field.name] = value;
  }
  return { input, expected };
}
