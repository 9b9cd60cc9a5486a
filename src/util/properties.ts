/**
 * Java `.properties` files, the format of Kafka's `server.properties`, read the way
 * `java.util.Properties.load` reads them, so a Kafka configuration file means the same here:
 * - `#` or `!` as the first non-blank character starts a comment line; blank lines are skipped;
 * - key and value are separated by `=`, `:` or blanks (blanks around `=`/`:` are ignored);
 * - a line ending in an odd number of backslashes continues on the next line, whose leading blanks
 *   are dropped;
 * - escapes: `\t` `\n` `\r` `\f` `\uXXXX`, and a backslash before any other character stands for
 *   that character (`\=`, `\:`, `\#`, `\ `, `\\`).
 * Trailing blanks stay part of a value, as in Java; the settings themselves trim what they parse, as
 * Kafka does. A key given twice keeps its last value, as in Java; every occurrence is returned.
 */

export interface PropertyEntry {
  key: string;
  value: string;
  /** 1-based number of the line the entry starts on. */
  line: number;
}

export class PropertiesSyntaxError extends Error {
  readonly line: number;

  constructor(line: number, message: string) {
    super(message);
    this.name = 'PropertiesSyntaxError';
    this.line = line;
  }
}

const BLANK = new Set([' ', '\t', '\f']);

/** Parses the text of a properties file into its entries, in file order. */
export function parseProperties(text: string): PropertyEntry[] {
  const lines = text.split(/\r\n|\r|\n/);
  const entries: PropertyEntry[] = [];
  for (let index = 0; index < lines.length; index++) {
    const startLine = index + 1;
    let logical = skipBlanks(lines[index]!);
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    while (endsWithContinuation(logical) && index + 1 < lines.length) {
      index++;
      logical = logical.slice(0, -1) + skipBlanks(lines[index]!);
    }
    if (endsWithContinuation(logical)) logical = logical.slice(0, -1); // a continuation at the end of the file
    entries.push({ ...splitEntry(logical, startLine), line: startLine });
  }
  return entries;
}

function skipBlanks(line: string): string {
  let start = 0;
  while (start < line.length && BLANK.has(line[start]!)) start++;
  return line.slice(start);
}

function endsWithContinuation(line: string): boolean {
  let backslashes = 0;
  for (let i = line.length - 1; i >= 0 && line[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 1;
}

/** Splits a logical line (leading blanks removed) at the first unescaped separator. */
function splitEntry(line: string, lineNumber: number): { key: string; value: string } {
  let keyEnd = 0;
  while (keyEnd < line.length) {
    const c = line[keyEnd]!;
    if (c === '\\') {
      keyEnd += 2;
      continue;
    }
    if (c === '=' || c === ':' || BLANK.has(c)) break;
    keyEnd++;
  }
  keyEnd = Math.min(keyEnd, line.length);
  let valueStart = keyEnd;
  while (valueStart < line.length && BLANK.has(line[valueStart]!)) valueStart++;
  if (valueStart < line.length && (line[valueStart] === '=' || line[valueStart] === ':')) {
    valueStart++;
    while (valueStart < line.length && BLANK.has(line[valueStart]!)) valueStart++;
  }
  return { key: unescape(line.slice(0, keyEnd), lineNumber), value: unescape(line.slice(valueStart), lineNumber) };
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(text: string, lineNumber: number): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === undefined) break;
    if (next === 'u') {
      const hex = text.slice(i + 1, i + 5);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
        throw new PropertiesSyntaxError(lineNumber, `malformed \\uXXXX escape "\\u${hex}" (four hexadecimal digits expected)`);
      }
      out += String.fromCharCode(parseInt(hex, 16));
      i += 4;
    } else {
      out += SIMPLE_ESCAPES[next] ?? next;
    }
  }
  return out;
}

/** Escapes a value so that parseProperties reads it back unchanged. */
export function escapePropertyValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === '\\') out += '\\\\';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (c === '\f') out += '\\f';
    else if (i === 0 && c === ' ') out += '\\ ';
    else if (c < ' ' || c === '\u007f') out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return out;
}
