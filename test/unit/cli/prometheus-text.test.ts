import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MetricSet, PrometheusFormatError, bucketsBetween, histogramQuantile, parsePrometheusText } from '../../../src/cli/prometheus-text.js';
import { formatSeconds, metricsUrl } from '../../../src/cli/commands/metrics.js';

test('samples: names, labels with escapes, special values, timestamps; comments skipped', () => {
  const samples = parsePrometheusText(
    [
      '# HELP tributary_requests_total Requests processed.',
      '# TYPE tributary_requests_total counter',
      'tributary_requests_total{api="Produce",version="11"} 12',
      'weird{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb",} 1.5e3 1700000000000',
      'up 1',
      'h_bucket{le="+Inf"} +Inf',
      'nan_value NaN',
      'prom_client_nan Nan',
      'minus_inf -inf',
      '',
    ].join('\n'),
  );
  assert.deepEqual(samples[0], { name: 'tributary_requests_total', labels: { api: 'Produce', version: '11' }, value: 12 });
  assert.deepEqual(samples[1], { name: 'weird', labels: { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' }, value: 1500 });
  assert.deepEqual(samples[2], { name: 'up', labels: {}, value: 1 });
  assert.equal(samples[3]!.value, Infinity);
  assert.ok(Number.isNaN(samples[4]!.value));
  assert.ok(Number.isNaN(samples[5]!.value), "prom-client writes NaN as 'Nan'");
  assert.equal(samples[6]!.value, -Infinity);
  assert.equal(samples.length, 7);
});

test('a line that is not a sample is an error naming its line', () => {
  assert.throws(() => parsePrometheusText('ok 1\n<html>'), (error: unknown) => error instanceof PrometheusFormatError && /^line 2 .*no metric name/.test(error.message));
  assert.throws(() => parsePrometheusText('m{a="1" 2'), /line 1 .*labels are not closed/);
  assert.throws(() => parsePrometheusText('m{a=1} 2'), /line 1 .*name="value"/);
  assert.throws(() => parsePrometheusText('m{a="1'), /line 1 .*label value is not closed/);
  assert.throws(() => parsePrometheusText('m twelve'), /line 1 .*'twelve' is not a number/);
  assert.throws(() => parsePrometheusText('m'), /line 1 .*expected a value/);
});

test('lookups by name and labels, sums, sorted buckets', () => {
  const set = new MetricSet(
    parsePrometheusText(
      [
        'r{api="Fetch",version="4"} 2',
        'r{api="Fetch",version="11"} 3',
        'r{api="Produce",version="9"} 7',
        'd_bucket{api="Fetch",le="+Inf"} 5',
        'd_bucket{api="Fetch",le="0.5"} 4',
        'd_bucket{api="Fetch",le="0.1"} 1',
      ].join('\n'),
    ),
  );
  assert.equal(set.sum('r', { api: 'Fetch' }), 5);
  assert.equal(set.sum('r'), 12);
  assert.equal(set.sum('absent'), 0);
  assert.equal(set.value('r', { api: 'Produce' }), 7);
  assert.equal(set.value('r', { api: 'Metadata' }), null);
  assert.deepEqual(set.buckets('d', { api: 'Fetch' }), [
    { le: 0.1, count: 1 },
    { le: 0.5, count: 4 },
    { le: Infinity, count: 5 },
  ]);
  assert.equal(set.samples.length, 6);
});

test('histogram quantiles interpolate inside the bucket, as Prometheus does', () => {
  const buckets = [
    { le: 1, count: 10 },
    { le: 2, count: 20 },
    { le: Infinity, count: 20 },
  ];
  assert.equal(histogramQuantile(0.5, buckets), 1); // rank 10: the top of the first bucket
  assert.equal(histogramQuantile(0.25, buckets), 0.5); // rank 5: halfway through [0, 1]
  assert.equal(histogramQuantile(0.75, buckets), 1.5); // rank 15: halfway through [1, 2]
  const withTail = [
    { le: 1, count: 1 },
    { le: Infinity, count: 4 },
  ];
  assert.equal(histogramQuantile(0.99, withTail), 1, 'a quantile in the +Inf bucket is the highest finite bound');
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }]), null);
  assert.equal(histogramQuantile(0.5, []), null);
});

test('the buckets between two scrapes hold only what was observed in between', () => {
  const earlier = [
    { le: 1, count: 10 },
    { le: Infinity, count: 12 },
  ];
  const later = [
    { le: 1, count: 10 },
    { le: Infinity, count: 15 },
  ];
  assert.deepEqual(bucketsBetween(earlier, later), [
    { le: 1, count: 0 },
    { le: Infinity, count: 3 },
  ]);
  assert.equal(histogramQuantile(0.5, bucketsBetween(earlier, later)), 1);
});

test('the admin address: host:port, a port, :port, or a URL; /metrics unless a path is given', () => {
  assert.equal(metricsUrl('127.0.0.1:9644').href, 'http://127.0.0.1:9644/metrics');
  assert.equal(metricsUrl('9644').href, 'http://127.0.0.1:9644/metrics');
  assert.equal(metricsUrl(':9644').href, 'http://127.0.0.1:9644/metrics');
  assert.equal(metricsUrl('broker.internal:80').href, 'http://broker.internal/metrics');
  assert.equal(metricsUrl('https://b.example/prom').href, 'https://b.example/prom');
  assert.equal(metricsUrl('9644/other').href, 'http://127.0.0.1:9644/other');
  assert.throws(() => metricsUrl('http://'), /invalid --admin "http:\/\/"/);
});

test('durations read as people read them', () => {
  assert.equal(formatSeconds(0.000421), '0.42 ms');
  assert.equal(formatSeconds(0.0125), '12.5 ms');
  assert.equal(formatSeconds(2.5), '2.50 s');
  assert.equal(formatSeconds(null), '-');
});
