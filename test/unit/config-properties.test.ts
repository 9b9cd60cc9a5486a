/** The `.properties` reader: Java's rules, line numbers for messages, and values written back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PropertiesSyntaxError, escapePropertyValue, parseProperties } from '../../src/util/properties.js';

const entries = (text: string) => parseProperties(text).map(({ key, value, line }) => [key, value, line]);

test('comments, blank lines and the three separators', () => {
  const text = [
    '# a comment',
    '! also a comment',
    '',
    '   ',
    'a=1',
    'b = 2',
    'c:3',
    'd : 4',
    'e 5',
    '   f=indented key',
    'g=',
    'h',
    'i==x',
    'j=value with # not a comment',
  ].join('\n');
  assert.deepEqual(entries(text), [
    ['a', '1', 5],
    ['b', '2', 6],
    ['c', '3', 7],
    ['d', '4', 8],
    ['e', '5', 9],
    ['f', 'indented key', 10],
    ['g', '', 11],
    ['h', '', 12],
    ['i', '=x', 13],
    ['j', 'value with # not a comment', 14],
  ]);
});

test('continuation lines join, drop the next line’s leading blanks, and keep the first line’s number', () => {
  const text = 'listeners=PLAINTEXT://a:1,\\\n    CONTROLLER://b:2\nnext=1\\\\\nlast=x\\';
  assert.deepEqual(entries(text), [
    ['listeners', 'PLAINTEXT://a:1,CONTROLLER://b:2', 1],
    ['next', '1\\', 3], // an even number of backslashes does not continue
    ['last', 'x', 4], // a continuation at the end of the file ends the value
  ]);
});

test('a comment line ending in a backslash does not continue', () => {
  assert.deepEqual(entries('# comment \\\na=1'), [['a', '1', 2]]);
});

test('escapes in keys and values', () => {
  const text = 'key\\ with\\=odd\\:chars = v\\tw\\nx\\\\y\\u0041\\z\\#\nspaced=\\ leading blank kept';
  assert.deepEqual(entries(text), [
    ['key with=odd:chars', 'v\tw\nx\\yAz#', 1],
    ['spaced', ' leading blank kept', 2],
  ]);
});

test('trailing blanks stay part of the value, as in Java; CRLF and CR line ends', () => {
  assert.deepEqual(entries('a=1  \r\nb=2\rc=3'), [
    ['a', '1  ', 1],
    ['b', '2', 2],
    ['c', '3', 3],
  ]);
});

test('a key given twice is returned twice, in order', () => {
  assert.deepEqual(entries('a=1\na=2'), [
    ['a', '1', 1],
    ['a', '2', 2],
  ]);
});

test('a malformed \\u escape is an error naming the line', () => {
  assert.throws(
    () => parseProperties('ok=1\nbad=\\u12G4'),
    (error: unknown) => error instanceof PropertiesSyntaxError && error.line === 2 && /malformed \\uXXXX escape "\\u12G4"/.test(error.message),
  );
});

test('escaped values read back unchanged', () => {
  for (const value of ['plain', ' leading blank', 'tab\there', 'new\nline', 'back\\slash', '#hash', 'é ünïcode', 'ctrl\u0001']) {
    const [entry] = parseProperties(`k=${escapePropertyValue(value)}`);
    assert.equal(entry?.value, value, JSON.stringify(value));
  }
});
