/**
 * Reading Prometheus' text exposition format (version 0.0.4), for `tributary metrics`: samples
 * with their labels, and the quantile of a histogram estimated from its buckets the way
 * Prometheus' `histogram_quantile()` does. Comment lines (`# HELP`, `# TYPE`) carry nothing the
 * command needs and are skipped; a line that is not a sample is an error naming the line, since a
 * scrape that cannot be read whole should not be summarised as if it could.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A cumulative histogram bucket: how many observations were ≤ `le`. */
export interface Bucket {
  le: number;
  count: number;
}

export class PrometheusFormatError extends Error {
  constructor(lineNumber: number, reason: string) {
    super(`line ${lineNumber} of the metrics is not in the Prometheus text format: ${reason}`);
    this.name = 'PrometheusFormatError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSampleLine(line, i + 1));
  }
  return samples;
}

function parseSampleLine(line: string, lineNumber: number): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new PrometheusFormatError(lineNumber, 'no metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) break;
      const labelName = LABEL_NAME.exec(rest)?.[0];
      if (labelName === undefined || rest[labelName.length] !== '=' || rest[labelName.length + 1] !== '"') {
        throw new PrometheusFormatError(lineNumber, 'a label is not name="value"');
      }
      const { value, end } = readLabelValue(rest, labelName.length + 2, lineNumber);
      labels[labelName] = value;
      rest = rest.slice(end).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new PrometheusFormatError(lineNumber, 'labels are not closed');
    }
    rest = rest.slice(1);
  }
  // The value, then an optional timestamp in milliseconds, which a summary has no use for.
  const fields = rest.trim().split(/\s+/);
  if (fields.length < 1 || fields.length > 2 || fields[0] === '') throw new PrometheusFormatError(lineNumber, 'expected a value after the name');
  const value = parseValue(fields[0]!);
  if (value === null) throw new PrometheusFormatError(lineNumber, `'${fields[0]}' is not a number`);
  return { name, labels, value };
}

/** Reads a quoted label value from `text` at `start` (just after the opening quote). */
function readLabelValue(text: string, start: number, lineNumber: number): { value: string; end: number } {
  let value = '';
  for (let i = start; i < text.length; i++) {
    const char = text[i]!;
    if (char === '"') return { value, end: i + 1 };
    if (char === '\\') {
      const escaped = text[++i];
      if (escaped === 'n') value += '\n';
      else if (escaped === '\\' || escaped === '"') value += escaped;
      else throw new PrometheusFormatError(lineNumber, `unknown escape \\${escaped ?? ''} in a label value`);
    } else {
      value += char;
    }
  }
  throw new PrometheusFormatError(lineNumber, 'a label value is not closed');
}

/** A value as Go's ParseFloat (Prometheus' own parser) reads it: Inf and NaN in any case. */
function parseValue(text: string): number | null {
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(text);
  if (special !== null) return special[2]!.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
  const value = Number(text);
  return Number.isNaN(value) ? null : value;
}

/** Whether every label in `wanted` has that value in `labels`. */
export function labelsMatch(labels: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

/** The samples of one scrape, looked up by name and labels. */
export class MetricSet {
  private readonly byName = new Map<string, Sample[]>();

  /** Every sample, in the order of the exposition. */
  constructor(readonly samples: Sample[]) {
    for (const sample of samples) {
      const list = this.byName.get(sample.name);
      if (list === undefined) this.byName.set(sample.name, [sample]);
      else list.push(sample);
    }
  }

  all(name: string, wanted: Record<string, string> = {}): Sample[] {
    return (this.byName.get(name) ?? []).filter((sample) => labelsMatch(sample.labels, wanted));
  }

  /** The first sample's value, or null when there is none. */
  value(name: string, wanted: Record<string, string> = {}): number | null {
    return this.all(name, wanted)[0]?.value ?? null;
  }

  /** The sum over the matching samples (0 when there are none). */
  sum(name: string, wanted: Record<string, string> = {}): number {
    return this.all(name, wanted).reduce((total, sample) => total + sample.value, 0);
  }

  /** A histogram's cumulative buckets, sorted by bound (`<name>_bucket` samples). */
  buckets(name: string, wanted: Record<string, string> = {}): Bucket[] {
    return this.all(`${name}_bucket`, wanted)
      .map((sample) => ({ le: parseValue(sample.labels.le ?? '') ?? Number.NaN, count: sample.value }))
      .filter((bucket) => !Number.isNaN(bucket.le))
      .sort((a, b) => a.le - b.le);
  }
}

/** The buckets of what was observed between two scrapes (`later` minus `earlier`, bound by bound). */
export function bucketsBetween(earlier: Bucket[], later: Bucket[]): Bucket[] {
  const before = new Map(earlier.map((bucket) => [bucket.le, bucket.count]));
  return later.map((bucket) => ({ le: bucket.le, count: bucket.count - (before.get(bucket.le) ?? 0) }));
}

/**
 * The q-quantile (0 ≤ q ≤ 1) of the observations in cumulative `buckets`, interpolated linearly
 * inside the bucket it falls in, as Prometheus' histogram_quantile() does: the lowest bucket is
 * taken to start at 0, and a quantile in the +Inf bucket is the highest finite bound. Null when
 * nothing was observed.
 */
export function histogramQuantile(q: number, buckets: Bucket[]): number | null {
  if (buckets.length === 0) return null;
  const total = buckets[buckets.length - 1]!.count;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      if (bucket.count === lowerCount) return bucket.le;
      return lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / (bucket.count - lowerCount);
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}
