/**
 * Kafka's retention rule, shared by every engine: how many of the oldest segments to delete. A
 * segment goes when its largest timestamp is older than retention.ms, or while the log, without
 * it, still holds at least retention.bytes. An empty last (active) segment is never counted; an
 * empty earlier one (the cleaner removed all it held) goes by its last modification time, like
 * any segment without timestamps. -1 disables a limit.
 */
export async function segmentsPastRetention<Segment extends { readonly size: number }>(
  segments: readonly Segment[],
  limits: { retentionMs: number; retentionBytes: number },
  nowMs: number,
  largestTimestampMs: (segment: Segment) => number | Promise<number>,
): Promise<number> {
  let count = 0;
  const counted = (index: number) => index < segments.length && (segments[index]!.size > 0 || index < segments.length - 1);
  if (limits.retentionMs >= 0) {
    while (counted(count)) {
      if (nowMs - (await largestTimestampMs(segments[count]!)) <= limits.retentionMs) break;
      count++;
    }
  }
  if (limits.retentionBytes >= 0) {
    let excess = -limits.retentionBytes;
    for (let i = count; i < segments.length; i++) excess += segments[i]!.size;
    while (counted(count) && excess - segments[count]!.size >= 0) {
      excess -= segments[count]!.size;
      count++;
    }
  }
  return count;
}
