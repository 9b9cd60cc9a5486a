/**
 * What the request path records: one call per request, a few additions into preallocated typed
 * arrays indexed by API key and version. No label hashing, no allocation, no per-record work: the
 * Prometheus metrics are built from these arrays only when /metrics is scraped (broker-metrics.ts).
 */

/** Request latency buckets, seconds: sub-millisecond produce acks up to long-polling fetches. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Kafka's API keys and versions stay below these (keys reach the 80s, versions the teens). */
export const API_KEY_SLOTS = 128;
export const VERSION_SLOTS = 64;

const BUCKET_SLOTS = REQUEST_DURATION_BUCKETS.length + 1; // the last one counts values above every bound

export class RequestMetrics {
  /** Requests answered (or taken, for acks=0), by apiKey * VERSION_SLOTS + version. */
  readonly requests = new Float64Array(API_KEY_SLOTS * VERSION_SLOTS);
  /** Bytes of request frames received, size prefix included, by API key. */
  readonly requestBytes = new Float64Array(API_KEY_SLOTS);
  /** Bytes of response frames sent, size prefix included, by API key. */
  readonly responseBytes = new Float64Array(API_KEY_SLOTS);
  /** Per API key, BUCKET_SLOTS counts of durations in (bound[i-1], bound[i]]; not cumulative. */
  readonly durationCounts = new Float64Array(API_KEY_SLOTS * BUCKET_SLOTS);
  readonly durationSums = new Float64Array(API_KEY_SLOTS);

  /**
   * Records one request. The dispatcher only calls it for API keys and versions the broker serves,
   * so the indexes are in range.
   */
  record(apiKey: number, version: number, requestBytes: number, responseBytes: number, seconds: number): void {
    this.requests[apiKey * VERSION_SLOTS + version]! += 1;
    this.requestBytes[apiKey]! += requestBytes;
    this.responseBytes[apiKey]! += responseBytes;
    let bucket = 0;
    while (bucket < REQUEST_DURATION_BUCKETS.length && seconds > REQUEST_DURATION_BUCKETS[bucket]!) bucket++;
    this.durationCounts[apiKey * BUCKET_SLOTS + bucket]! += 1;
    this.durationSums[apiKey]! += seconds;
  }

  /** The duration counts of one API key: per bucket (non-cumulative), then the overflow. */
  durationCountsOf(apiKey: number): Float64Array {
    return this.durationCounts.subarray(apiKey * BUCKET_SLOTS, (apiKey + 1) * BUCKET_SLOTS);
  }
}
