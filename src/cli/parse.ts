/** Option-value parsers shared by the operator commands; a bad value is a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';

export function integerAtLeast(min: number): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError('Not an integer.');
    if (parsed < min) throw new InvalidArgumentError(`Must be at least ${min}.`);
    return parsed;
  };
}

export function bigintValue(value: string): bigint {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('Not an integer.');
  return BigInt(value.trim());
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `key=value` (the value may contain '='). */
export function keyValue(text: string, what: string): { key: string; value: string } {
  const at = text.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError(`Expected ${what} as key=value, got "${text}".`);
  return { key: text.slice(0, at), value: text.slice(at + 1) };
}

/**
 * A point in time: epoch milliseconds (optionally after '@') or an ISO 8601 date
 * (2024-05-01, 2024-05-01T10:00:00Z, with an offset or local time).
 */
export function parseTime(text: string): bigint | null {
  const trimmed = text.trim().replace(/^@/, '');
  if (/^\d+$/.test(trimmed)) return BigInt(trimmed);
  if (!/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return null;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? null : BigInt(ms);
}
