/**
 * Loading and resolving Apache Kafka's JSON message schemas into a model the emitters work from.
 *
 * The model keeps only what the wire format needs: names, types, version ranges, tags and defaults.
 * Prose (`about`), `entityType`, `mapKey`, `ignorable` and `zeroCopy` do not change the bytes and are
 * dropped.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** An inclusive version range; `max` is Infinity for "N+", and the range is empty when min > max. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export const NO_VERSIONS: VersionRange = { min: 0, max: -1 };

export function parseVersions(text: string): VersionRange {
  const trimmed = text.trim();
  if (trimmed === 'none') return NO_VERSIONS;
  let match = /^(\d+)\+$/.exec(trimmed);
  if (match) return { min: Number(match[1]), max: Infinity };
  match = /^(\d+)-(\d+)$/.exec(trimmed);
  if (match) return { min: Number(match[1]), max: Number(match[2]) };
  match = /^(\d+)$/.exec(trimmed);
  if (match) return { min: Number(match[1]), max: Number(match[1]) };
  throw new Error(`invalid version range "${text}"`);
}

export function isEmpty(range: VersionRange): boolean {
  return range.min > range.max;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  const range = { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
  return isEmpty(range) ? NO_VERSIONS : range;
}

/** The smallest range containing both. */
export function hull(a: VersionRange, b: VersionRange): VersionRange {
  if (isEmpty(a)) return b;
  if (isEmpty(b)) return a;
  return { min: Math.min(a.min, b.min), max: Math.max(a.max, b.max) };
}

export function includes(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

export function sameRange(a: VersionRange, b: VersionRange): boolean {
  return (isEmpty(a) && isEmpty(b)) || (a.min === b.min && a.max === b.max);
}

export type PrimitiveName =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

const PRIMITIVES = new Set<string>([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'records',
  'uuid',
]);

export type ElementType = { readonly kind: 'primitive'; readonly name: PrimitiveName } | { readonly kind: 'struct'; readonly struct: StructModel };
export type FieldType = ElementType | { readonly kind: 'array'; readonly element: ElementType };

export type DefaultValue = string | number | boolean;

export interface FieldModel {
  /** The schema's PascalCase name. */
  readonly schemaName: string;
  /** The camelCase property name. */
  readonly name: string;
  /** The type as written in the schema, e.g. "[]TopicProduceData". */
  readonly typeText: string;
  readonly type: FieldType;
  readonly versionsText: string;
  readonly versions: VersionRange;
  readonly nullableText: string | undefined;
  readonly nullable: VersionRange;
  readonly taggedText: string | undefined;
  readonly tagged: VersionRange;
  readonly tag: number | null;
  /** A field-level `flexibleVersions` override (only RequestHeader.ClientId uses one: "none"). */
  readonly flexibleText: string | undefined;
  readonly flexible: VersionRange | null;
  /** The schema's explicit `default`, if any. */
  readonly explicitDefault: DefaultValue | undefined;
}

export interface StructModel {
  /** The schema's struct name (or the message name for the top level). */
  readonly schemaName: string;
  /** The TypeScript interface name: message name + struct name. */
  readonly tsName: string;
  readonly fields: FieldModel[];
  readonly isMessage: boolean;
  readonly isCommon: boolean;
  /** Versions in which this struct can be encoded or decoded (the hull over every place it is used). */
  context: VersionRange;
}

export interface MessageModel {
  readonly fileName: string;
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey: number | undefined;
  readonly validText: string;
  readonly valid: VersionRange;
  readonly flexibleText: string;
  readonly flexible: VersionRange;
  readonly listeners: readonly string[];
  readonly deprecated: VersionRange;
  readonly latestVersionUnstable: boolean;
  /** The message itself as a struct (its fields are the message's top-level fields). */
  readonly root: StructModel;
  /** Every struct, the root first, then in the order of definition (depth first). */
  readonly structs: StructModel[];
  readonly commonStructs: StructModel[];
}

interface RawField {
  name: string;
  type: string;
  versions: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number | string;
  default?: DefaultValue;
  fields?: RawField[];
  flexibleVersions?: string;
}

interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: Array<{ name: string; versions?: string; fields: RawField[] }>;
  listeners?: string[];
  deprecatedVersions?: string;
  latestVersionUnstable?: boolean;
}

/** Removes `//` and `/* *\/` comments outside JSON strings. */
export function stripJsonComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
      out += text.slice(start, i);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      i = close < 0 ? text.length : close + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Kafka's Java generator lower-cases only the first letter: "KRaftVersionFeature" -> "kRaftVersionFeature". */
export function camelCase(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** "OffsetForLeaderEpoch" -> "offset-for-leader-epoch". */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

export function loadSchemas(schemaDir: string): { messages: MessageModel[]; errorCodesTsv: string } {
  const files = readdirSync(schemaDir)
    .filter((name) => name.endsWith('.json'))
    .sort();
  const messages = files.map((file) => {
    const text = readFileSync(join(schemaDir, file), 'utf8');
    let raw: RawMessage;
    try {
      raw = JSON.parse(stripJsonComments(text)) as RawMessage;
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
    return resolveMessage(file, raw);
  });
  const errorCodesTsv = readFileSync(join(schemaDir, 'error-codes.tsv'), 'utf8');
  return { messages, errorCodesTsv };
}

function resolveMessage(fileName: string, raw: RawMessage): MessageModel {
  const where = (path: string) => `${fileName}: ${path}`;
  if (!['request', 'response', 'header', 'data'].includes(raw.type)) throw new Error(where(`unknown message type ${raw.type}`));
  const valid = parseVersions(raw.validVersions);
  if (isEmpty(valid) || valid.max === Infinity) throw new Error(where(`validVersions must be a bounded range: ${raw.validVersions}`));

  const structs: StructModel[] = [];
  const structNames = new Set<string>();
  const commonRaw = new Map((raw.commonStructs ?? []).map((common) => [common.name, common]));
  const commonModels = new Map<string, StructModel>();

  const newStruct = (schemaName: string, isCommon: boolean): StructModel => {
    if (structNames.has(schemaName)) throw new Error(where(`struct ${schemaName} is defined twice`));
    structNames.add(schemaName);
    const struct: StructModel = {
      schemaName,
      tsName: raw.name + schemaName,
      fields: [],
      isMessage: false,
      isCommon,
      context: NO_VERSIONS,
    };
    structs.push(struct);
    return struct;
  };

  const resolveFields = (rawFields: RawField[], owner: StructModel, path: string): void => {
    const names = new Set<string>();
    for (const field of rawFields) {
      const fieldPath = `${path}.${field.name}`;
      const name = camelCase(field.name);
      if (names.has(name)) throw new Error(where(`duplicate field ${fieldPath}`));
      names.add(name);
      owner.fields.push(resolveField(field, fieldPath));
    }
  };

  const structType = (typeName: string, rawField: RawField, path: string): StructModel => {
    if (rawField.fields !== undefined) {
      if (commonRaw.has(typeName)) throw new Error(where(`${path} redefines common struct ${typeName}`));
      const struct = newStruct(typeName, false);
      resolveFields(rawField.fields, struct, path);
      return struct;
    }
    const common = commonModels.get(typeName);
    if (common === undefined) throw new Error(where(`${path} uses unknown struct ${typeName}`));
    return common;
  };

  const resolveField = (field: RawField, path: string): FieldModel => {
    const isArray = field.type.startsWith('[]');
    const baseName = isArray ? field.type.slice(2) : field.type;
    let element: ElementType;
    if (PRIMITIVES.has(baseName)) {
      element = { kind: 'primitive', name: baseName as PrimitiveName };
      if (field.fields !== undefined) throw new Error(where(`${path}: primitive type ${field.type} with fields`));
    } else if (/^[A-Z]/.test(baseName)) {
      element = { kind: 'struct', struct: structType(baseName, field, path) };
    } else {
      throw new Error(where(`${path}: unknown type ${field.type}`));
    }
    if (isArray && element.kind === 'primitive' && element.name === 'records') throw new Error(where(`${path}: array of records`));
    const type: FieldType = isArray ? { kind: 'array', element } : element;
    const versions = parseVersions(field.versions);
    const nullable = field.nullableVersions === undefined ? NO_VERSIONS : parseVersions(field.nullableVersions);
    const tagged = field.taggedVersions === undefined ? NO_VERSIONS : parseVersions(field.taggedVersions);
    const nullableAllowed = isArray || (element.kind === 'primitive' ? ['string', 'bytes', 'records'].includes(element.name) : true);
    if (!isEmpty(nullable) && !nullableAllowed) throw new Error(where(`${path}: type ${field.type} cannot be nullable`));
    if (!isEmpty(tagged)) {
      if (field.tag === undefined) throw new Error(where(`${path}: taggedVersions without a tag`));
      // Kafka allows a field to be tagged in only some of its versions; none of these schemas does, and
      // supporting it would mean two encodings per field, so refuse rather than guess.
      if (!sameRange(tagged, versions)) throw new Error(where(`${path}: taggedVersions ${field.taggedVersions} differ from versions ${field.versions}`));
    } else if (field.tag !== undefined) {
      throw new Error(where(`${path}: a tag without taggedVersions`));
    }
    const tag = field.tag === undefined ? null : Number(field.tag);
    if (tag !== null && (!Number.isInteger(tag) || tag < 0)) throw new Error(where(`${path}: invalid tag ${field.tag}`));
    if (field.default !== undefined) checkDefault(type, field.default, nullable, where(path));
    return {
      schemaName: field.name,
      name: camelCase(field.name),
      typeText: field.type,
      type,
      versionsText: field.versions,
      versions,
      nullableText: field.nullableVersions,
      nullable,
      taggedText: field.taggedVersions,
      tagged,
      tag,
      flexibleText: field.flexibleVersions,
      flexible: field.flexibleVersions === undefined ? null : parseVersions(field.flexibleVersions),
      explicitDefault: field.default,
    };
  };

  const root: StructModel = {
    schemaName: raw.name,
    tsName: raw.name,
    fields: [],
    isMessage: true,
    isCommon: false,
    context: valid,
  };
  structs.push(root);
  // Common structs may be used before their definition in the file, so create them all first.
  for (const common of raw.commonStructs ?? []) commonModels.set(common.name, newStruct(common.name, true));
  resolveFields(raw.fields, root, raw.name);
  for (const common of raw.commonStructs ?? []) resolveFields(common.fields, commonModels.get(common.name)!, `${raw.name}:${common.name}`);

  // Where each struct is used decides the versions its functions can be called with.
  const visit = (struct: StructModel, context: VersionRange): void => {
    for (const field of struct.fields) {
      const fieldContext = intersect(field.versions, context);
      if (isEmpty(fieldContext)) continue;
      const element = field.type.kind === 'array' ? field.type.element : field.type;
      if (element.kind === 'struct') {
        element.struct.context = hull(element.struct.context, fieldContext);
        visit(element.struct, fieldContext);
      }
    }
  };
  visit(root, valid);

  for (const struct of structs) {
    const seen = new Set<number>();
    for (const field of struct.fields) {
      if (field.tag === null) continue;
      if (seen.has(field.tag)) throw new Error(where(`${struct.schemaName}: tag ${field.tag} used twice`));
      seen.add(field.tag);
    }
  }

  const flexible = parseVersions(raw.flexibleVersions);
  const deprecated = raw.deprecatedVersions === undefined ? NO_VERSIONS : parseVersions(raw.deprecatedVersions);
  return {
    fileName,
    name: raw.name,
    type: raw.type as MessageModel['type'],
    apiKey: raw.apiKey,
    validText: raw.validVersions,
    valid,
    flexibleText: raw.flexibleVersions,
    flexible,
    listeners: raw.listeners ?? [],
    deprecated,
    latestVersionUnstable: raw.latestVersionUnstable === true,
    root,
    structs,
    commonStructs: [...commonModels.values()],
  };
}

function checkDefault(type: FieldType, value: DefaultValue, nullable: VersionRange, where: string): void {
  if (value === 'null') {
    if (isEmpty(nullable) && !(type.kind === 'primitive' && type.name === 'records')) {
      throw new Error(`${where}: default null on a field that is never nullable`);
    }
    return;
  }
  if (type.kind !== 'primitive') throw new Error(`${where}: only null can be the default of ${type.kind} fields`);
  switch (type.name) {
    case 'bool':
      if (value !== true && value !== false && value !== 'true' && value !== 'false') throw new Error(`${where}: bad bool default ${value}`);
      return;
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      if (!Number.isFinite(Number(value))) throw new Error(`${where}: bad numeric default ${value}`);
      return;
    case 'int64':
      try {
        BigInt(value);
      } catch {
        throw new Error(`${where}: bad int64 default ${value}`);
      }
      return;
    case 'string':
    case 'uuid':
      return;
    case 'bytes':
    case 'records':
      if (value !== '') throw new Error(`${where}: bytes defaults can only be null or empty`);
      return;
  }
}
