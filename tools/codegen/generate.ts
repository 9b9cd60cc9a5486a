/**
 * The schema -> TypeScript generator as a pure function: `generate(schemaDir)` returns every file of
 * src/protocol/generated as a Map from file name to content, sorted by name. `main.ts` writes them;
 * the drift test compares them with the committed files.
 */
import { Code, quote } from './code.js';
import { GENERATED_HEADER, MessageEmitter, type ModuleContext } from './emit-message.js';
import { isEmpty, kebabCase, loadSchemas, sameRange, type MessageModel } from './schema.js';

/** The files the generator writes, by name; the content ends with a newline. */
export function generate(schemaDir: string): Map<string, string> {
  const { messages, errorCodesTsv } = loadSchemas(schemaDir);
  const files = new Map<string, string>();

  const requests = messages.filter((m) => m.type === 'request');
  const responses = new Map(messages.filter((m) => m.type === 'response').map((m) => [m.apiKey, m]));
  const apis: ApiPair[] = [];
  for (const request of requests) {
    const response = responses.get(request.apiKey);
    if (request.apiKey === undefined || response === undefined) throw new Error(`${request.fileName}: no response schema`);
    if (!sameRange(request.valid, response.valid)) throw new Error(`${request.name}: request and response versions differ`);
    if (!sameRange(request.flexible, response.flexible)) throw new Error(`${request.name}: request and response flexible versions differ`);
    const name = request.name.replace(/Request$/, '');
    if (response.name !== `${name}Response`) throw new Error(`${request.fileName}: response is named ${response.name}`);
    apis.push({ apiKey: request.apiKey, name, module: kebabCase(name), request, response });
    responses.delete(request.apiKey);
  }
  if (responses.size > 0) throw new Error(`responses without requests: ${[...responses.values()].map((m) => m.name).join(', ')}`);
  apis.sort((a, b) => a.apiKey - b.apiKey);
  const keys = new Set<number>();
  for (const api of apis) {
    if (keys.has(api.apiKey)) throw new Error(`API key ${api.apiKey} is used twice`);
    keys.add(api.apiKey);
  }

  for (const api of apis) files.set(`${api.module}.ts`, messageModule([api.request, api.response]));
  const others = messages.filter((m) => m.type === 'data');
  for (const message of others) files.set(`${kebabCase(message.name)}.ts`, messageModule([message]));
  const headers = messages.filter((m) => m.type === 'header');
  files.set('headers.ts', messageModule(headers));

  files.set('message-schema.ts', messageSchemaModule());
  files.set('api-keys.ts', apiKeysModule(apis));
  files.set('registry.ts', registryModule(apis, [...others, ...headers]));
  files.set('error-codes.ts', errorCodesModule(errorCodesTsv));
  files.set('index.ts', indexModule());

  if (files.size !== new Set([...files.keys()].map((name) => name.toLowerCase())).size) throw new Error('two generated files differ only in case');
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface ApiPair {
  readonly apiKey: number;
  readonly name: string;
  readonly module: string;
  readonly request: MessageModel;
  readonly response: MessageModel;
}

function header(sources: string): string {
  return `${GENERATED_HEADER}\n// Sources: ${sources}\n`;
}

function messageModule(messages: MessageModel[]): string {
  const context: ModuleContext = { usesEmptyBuffer: false, usesZeroUuid: false, usesTaggedEncoder: false };
  const body = new Code();
  const declared = new Map<string, string>();
  for (const message of messages) {
    const emitter = new MessageEmitter(message, context);
    for (const name of emitter.declaredNames()) {
      const other = declared.get(name);
      if (other !== undefined) throw new Error(`${message.name}: generated name ${name} clashes with one from ${other}`);
      declared.set(name, message.name);
    }
    emitter.emit(body);
  }
  const text = body.toString().replace(/\n+$/, '\n');

  const lines = [header(messages.map((m) => m.fileName).join(', '))];
  lines.push(context.usesZeroUuid ? "import { ZERO_UUID, type Reader } from '../primitives/reader.js';" : "import type { Reader } from '../primitives/reader.js';");
  lines.push(
    context.usesTaggedEncoder
      ? "import type { TaggedFieldEncoder, Writer } from '../primitives/writer.js';"
      : "import type { Writer } from '../primitives/writer.js';",
  );
  lines.push(
    text.includes(': readonly FieldSchema[]')
      ? "import type { FieldSchema, MessageSchema } from './message-schema.js';"
      : "import type { MessageSchema } from './message-schema.js';",
  );
  lines.push('');
  if (context.usesEmptyBuffer) lines.push('const EMPTY_BUFFER = Buffer.alloc(0);', '');
  return lines.join('\n') + '\n' + text;
}

function messageSchemaModule(): string {
  return `${header('none (fixed support code for the descriptors)')}
/**
 * Descriptor of a message as generated from its schema: names, types and versions only. Version
 * ranges keep the schema's notation: "0+", "3-7", "5", "none".
 */
export interface MessageSchema {
  readonly name: string;
  readonly type: 'request' | 'response' | 'header' | 'data';
  readonly apiKey?: number;
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSchema[];
}

/**
 * One field. \`name\` is the camelCase property name; \`type\` is the schema's type ("int32", "string",
 * "[]int32", "[]TopicData", "Cursor"); struct types carry their \`fields\`. \`default\` is present only
 * when the schema gives one explicitly (int64 defaults are bigints).
 */
export interface FieldSchema {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  readonly taggedVersions?: string;
  readonly tag?: number;
  /** A field-level override of the message's flexible versions (RequestHeader.ClientId: "none"). */
  readonly flexibleVersions?: string;
  readonly default?: string | number | bigint | boolean | null;
  readonly fields?: readonly FieldSchema[];
}

/** An inclusive range; \`max\` is Infinity for "N+"; empty when min > max ("none"). */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export function parseVersionRange(text: string): VersionRange {
  const trimmed = text.trim();
  if (trimmed === 'none') return { min: 0, max: -1 };
  const open = /^(\\d+)\\+$/.exec(trimmed);
  if (open) return { min: Number(open[1]), max: Infinity };
  const closed = /^(\\d+)-(\\d+)$/.exec(trimmed);
  if (closed) return { min: Number(closed[1]), max: Number(closed[2]) };
  const single = /^(\\d+)$/.exec(trimmed);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  throw new RangeError(\`invalid version range "\${text}"\`);
}

/** Whether \`version\` is in the range; an absent range (undefined) includes nothing. */
export function versionsInclude(range: string | undefined, version: number): boolean {
  if (range === undefined) return false;
  const { min, max } = parseVersionRange(range);
  return version >= min && version <= max;
}
`;
}

function apiKeysModule(apis: ApiPair[]): string {
  const code = new Code();
  code.open('export const ApiKey = {');
  for (const api of apis) code.line(`${api.name}: ${api.apiKey},`);
  code.close('} as const;');
  code.line();
  code.line('export type ApiKeyName = keyof typeof ApiKey;');
  code.line('export type ApiKeyValue = (typeof ApiKey)[ApiKeyName];');
  code.line();
  code.open('export interface ApiDefinition {');
  code.line('readonly apiKey: number;');
  code.line('readonly name: string;');
  code.line('readonly minVersion: number;');
  code.line('readonly maxVersion: number;');
  code.line('/** The first flexible version (compact encodings, tagged fields, header v2/v1); Infinity when never flexible. */');
  code.line('readonly flexibleMinVersion: number;');
  code.line('/** The highest deprecated version, or -1 when none is deprecated. */');
  code.line('readonly deprecatedMaxVersion: number;');
  code.line("/** Who serves the API: 'broker', 'controller', 'zkBroker'. */");
  code.line('readonly listeners: readonly string[];');
  code.line('/** The schema marks its latest version as unstable (not advertised by Kafka by default). */');
  code.line('readonly latestVersionUnstable: boolean;');
  code.close('}');
  code.line();
  code.open('export const API_DEFINITIONS: readonly ApiDefinition[] = [');
  for (const api of apis) {
    const m = api.request;
    if (!isEmpty(m.flexible) && m.flexible.max !== Infinity) throw new Error(`${m.name}: flexible versions must be open-ended`);
    if (!isEmpty(m.deprecated) && m.deprecated.min !== m.valid.min) throw new Error(`${m.name}: deprecated versions must start at the first version`);
    code.open('{');
    code.line(`apiKey: ${api.apiKey},`);
    code.line(`name: ${quote(api.name)},`);
    code.line(`minVersion: ${m.valid.min},`);
    code.line(`maxVersion: ${m.valid.max},`);
    code.line(`flexibleMinVersion: ${isEmpty(m.flexible) ? 'Infinity' : m.flexible.min},`);
    code.line(`deprecatedMaxVersion: ${isEmpty(m.deprecated) ? -1 : m.deprecated.max},`);
    code.line(`listeners: [${m.listeners.map(quote).join(', ')}],`);
    code.line(`latestVersionUnstable: ${m.latestVersionUnstable},`);
    code.close('},');
  }
  code.close('];');
  code.line();
  code.open('const BY_API_KEY: ReadonlyMap<number, ApiDefinition> = new Map(');
  code.line('API_DEFINITIONS.map((definition): [number, ApiDefinition] => [definition.apiKey, definition]),');
  code.close(');');
  code.line();
  code.block('export function apiDefinition(apiKey: number): ApiDefinition | undefined', () => code.line('return BY_API_KEY.get(apiKey);'));
  return `${header('every *Request.json (apiKey, validVersions, flexibleVersions, deprecatedVersions, listeners)')}\n${code.toString()}`;
}

function registryModule(apis: ApiPair[], others: MessageModel[]): string {
  const code = new Code();
  code.line("import type { Reader } from '../primitives/reader.js';");
  code.line("import type { Writer } from '../primitives/writer.js';");
  code.line("import type { MessageSchema } from './message-schema.js';");
  const importsOf = (module: string, messages: MessageModel[]) => {
    const names = messages.flatMap((m) => [`${m.name}Schema`, `decode${m.name}`, `encode${m.name}`]);
    code.line(`import { ${names.join(', ')} } from './${module}.js';`);
  };
  for (const api of [...apis].sort((a, b) => (a.module < b.module ? -1 : 1))) importsOf(api.module, [api.request, api.response]);
  const byModule = new Map<string, MessageModel[]>();
  for (const message of others) {
    const module = message.type === 'header' ? 'headers' : kebabCase(message.name);
    byModule.set(module, [...(byModule.get(module) ?? []), message]);
  }
  for (const [module, messages] of [...byModule.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) importsOf(module, messages);
  code.line();
  code.line('/**');
  code.line(' * The codecs of one API, typed loosely for generic code (request decoding by API key, tests).');
  code.line(' * Handlers use the typed functions of each module directly.');
  code.line(' */');
  code.open('export interface ApiCodec {');
  code.line('readonly apiKey: number;');
  code.line('readonly name: string;');
  code.line('readonly requestSchema: MessageSchema;');
  code.line('readonly responseSchema: MessageSchema;');
  code.line('decodeRequest(r: Reader, version: number): unknown;');
  code.line('encodeRequest(w: Writer, version: number, message: unknown): void;');
  code.line('decodeResponse(r: Reader, version: number): unknown;');
  code.line('encodeResponse(w: Writer, version: number, message: unknown): void;');
  code.close('}');
  code.line();
  code.line('/** The codec of a message that is not an API request or response (consumer protocol data, headers). */');
  code.open('export interface MessageCodec {');
  code.line('readonly name: string;');
  code.line('readonly schema: MessageSchema;');
  code.line('decode(r: Reader, version: number): unknown;');
  code.line('encode(w: Writer, version: number, message: unknown): void;');
  code.close('}');
  code.line();
  code.open('export const API_CODECS: ReadonlyMap<number, ApiCodec> = new Map<number, ApiCodec>([');
  for (const api of apis) {
    code.open('[');
    code.line(`${api.apiKey},`);
    code.open('{');
    code.line(`apiKey: ${api.apiKey},`);
    code.line(`name: ${quote(api.name)},`);
    code.line(`requestSchema: ${api.request.name}Schema,`);
    code.line(`responseSchema: ${api.response.name}Schema,`);
    code.line(`decodeRequest: decode${api.request.name},`);
    code.line(`encodeRequest: encode${api.request.name},`);
    code.line(`decodeResponse: decode${api.response.name},`);
    code.line(`encodeResponse: encode${api.response.name},`);
    code.close('},');
    code.close('],');
  }
  code.close(']);');
  code.line();
  code.open('export const DATA_CODECS: ReadonlyMap<string, MessageCodec> = new Map<string, MessageCodec>([');
  for (const message of others) {
    code.line(
      `[${quote(message.name)}, { name: ${quote(message.name)}, schema: ${message.name}Schema, decode: decode${message.name}, encode: encode${message.name} }],`,
    );
  }
  code.close(']);');
  return `${header('every *.json schema (the modules generated from them)')}\n${code.toString()}`;
}

function errorCodesModule(tsv: string): string {
  const rows = tsv
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '');
  const [first, ...data] = rows;
  if (first === undefined || first.split('\t').join(',') !== 'code,name,retriable') throw new Error('error-codes.tsv: unexpected header');
  const codes = data.map((line) => {
    const [code, name, retriable, ...rest] = line.split('\t');
    if (code === undefined || name === undefined || retriable === undefined || rest.length > 0 || !/^-?\d+$/.test(code) || !/^[A-Z][A-Z0-9_]*$/.test(name)) {
      throw new Error(`error-codes.tsv: bad line "${line}"`);
    }
    if (retriable !== 'true' && retriable !== 'false') throw new Error(`error-codes.tsv: bad retriable flag in "${line}"`);
    return { code: Number(code), name, retriable: retriable === 'true' };
  });
  codes.sort((a, b) => a.code - b.code);
  const code = new Code();
  code.open('export const ErrorCode = {');
  for (const entry of codes) code.line(`${entry.name}: ${entry.code},`);
  code.close('} as const;');
  code.line();
  code.line('export type ErrorCodeName = keyof typeof ErrorCode;');
  code.line('export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];');
  code.line();
  code.open('const NAMES: ReadonlyMap<number, string> = new Map(');
  code.line('Object.entries(ErrorCode).map(([name, code]): [number, string] => [code, name]),');
  code.close(');');
  code.line();
  code.open('const RETRIABLE: ReadonlySet<number> = new Set<number>([');
  for (const entry of codes.filter((c) => c.retriable)) code.line(`ErrorCode.${entry.name},`);
  code.close(']);');
  code.line();
  code.line('/** The protocol name of an error code, e.g. "UNKNOWN_TOPIC_OR_PARTITION"; unknown codes give "UNKNOWN_ERROR_CODE_<n>". */');
  code.block('export function errorName(code: number): string', () => code.line('return NAMES.get(code) ?? `UNKNOWN_ERROR_CODE_${code}`;'));
  code.line();
  code.line('/** Whether clients treat the error as retriable. */');
  code.block('export function isRetriable(code: number): boolean', () => code.line('return RETRIABLE.has(code);'));
  return `${header('error-codes.tsv')}\n${code.toString()}`;
}

function indexModule(): string {
  return `${header('none (re-exports)')}
export { ApiKey, API_DEFINITIONS, apiDefinition, type ApiDefinition, type ApiKeyName, type ApiKeyValue } from './api-keys.js';
export { ErrorCode, errorName, isRetriable, type ErrorCodeName, type ErrorCodeValue } from './error-codes.js';
export { API_CODECS, DATA_CODECS, type ApiCodec, type MessageCodec } from './registry.js';
export { parseVersionRange, versionsInclude, type FieldSchema, type MessageSchema, type VersionRange } from './message-schema.js';
`;
}
