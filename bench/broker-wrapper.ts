/**
 * Runs the `tributary` CLI (the bundled bin) unchanged in this process, plus an event-loop delay histogram
 * (perf_hooks.monitorEventLoopDelay) that the benchmark reads over the IPC channel:
 * `{ eld: 'reset' }` clears it, `{ eld: 'report' }` answers with percentiles in milliseconds.
 * Arguments are the CLI's (`start --host ... --port ...`).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** The histogram records the interval between timer ticks: the delay is that minus the resolution. */
const RESOLUTION_MS = 2;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();

process.on('message', (message: { eld?: string }) => {
  if (message.eld === 'reset') {
    histogram.reset();
    process.send?.({ eld: 'reset' });
  } else if (message.eld === 'report') {
    const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
    process.send?.({
      eld: 'report',
      p50Ms: ms(histogram.percentile(50)),
      p99Ms: ms(histogram.percentile(99)),
      maxMs: ms(histogram.max),
      meanMs: ms(histogram.mean),
      resolutionMs: RESOLUTION_MS,
      samples: histogram.count,
    });
  }
});
// The IPC channel must not keep the broker alive after it closes.
process.channel?.unref();

// The package's bin, the bundle tools/bundle makes (a URL: tsc has no types for it).
await import(new URL('../bundle/tributary.cjs', import.meta.url).href);
