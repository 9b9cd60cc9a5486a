/**
 * `tributary storage inspect [TOPIC | TOPIC-PARTITION]`: reads a data directory directly (no broker
 * needed, and read-only, so it is safe next to a running one) and reports partitions, segments,
 * index files and an analysis: biggest topics, what retention would delete, codecs in use, logs
 * that do not end on a whole batch.
 */
import { Command } from 'commander';
import { DEFAULT_CONFIG } from '../../config.js';
import { InspectError, inspectDataDir, type DataDirReport, type PartitionReport, type SegmentReport } from '../../storage/file/inspect.js';
import { CliError, EXIT_CODES_HELP, ExitCode, action, formatBytes, formatTimestamp, print, printJson, renderFields, renderTable, usageExitCodes } from '../output.js';

interface InspectFlags {
  dataDir: string;
  segments?: boolean;
  verifyCrc?: boolean;
  json?: boolean;
}

const name = (p: PartitionReport) => `${p.topic}-${p.partition}`;

function percent(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${Math.round((part / whole) * 100)}%`;
}

/**
 * An index file's size, or why it is not usable. Until a segment is sealed its indexes live in the
 * broker's memory: the active segment's until the broker rolls or closes, a rolled one's until its
 * flush (log.roll.flush.delay.ms after the roll). Their absence there is normal while the broker
 * runs or after a crash (recovery rebuilds them).
 */
function indexText(report: SegmentReport['index'], sealed: boolean): string {
  if (report === null) return sealed ? 'missing' : 'in memory';
  return report.consistent ? formatBytes(report.bytes) : 'inconsistent';
}

function tailText(segment: SegmentReport): string {
  return segment.tail.outcome === 'end' ? 'ok' : `${segment.tail.outcome} at ${segment.tail.validBytes}`;
}

function retentionText(p: PartitionReport): string {
  const limits = [p.retention.retentionMs >= 0 ? `retention.ms=${p.retention.retentionMs}` : null, p.retention.retentionBytes >= 0 ? `retention.bytes=${p.retention.retentionBytes}` : null]
    .filter((x) => x !== null)
    .join(', ');
  return `${p.retention.eligibleSegments} segment${p.retention.eligibleSegments === 1 ? '' : 's'} of ${name(p)} (${formatBytes(p.retention.eligibleBytes)}) past ${limits}`;
}

function renderReport(report: DataDirReport, flags: InspectFlags, filtered: boolean): string {
  const { totals } = report;
  const sections: string[] = [];
  sections.push(
    renderFields([
      ['DATA DIRECTORY', report.dataDir],
      ['CLUSTER', report.clusterId],
      ['NODE', report.nodeId],
      [
        'SHUTDOWN',
        report.cleanShutdown
          ? 'clean (the broker is stopped)'
          : 'no clean-shutdown marker: the broker is running, or it stopped without closing (it recovers on its next start)',
      ],
      ['TOPICS', report.topics.length],
      ['PARTITIONS', totals.partitions],
      ['SEGMENTS', totals.segments],
      ['LOG SIZE', `${formatBytes(totals.sizeBytes)} (${totals.sizeBytes} bytes)`],
      ['RECORDS', totals.records],
    ]),
  );
  if (report.partitions.length > 0) {
    sections.push(
      renderTable(
        ['PARTITION', 'SEGMENTS', 'SIZE', 'LOG-START', 'LOG-END', 'RECORDS', 'FIRST-TIMESTAMP', 'LAST-TIMESTAMP'],
        report.partitions.map((p) => {
          const first = p.segments.find((s) => s.firstTimestamp !== null)?.firstTimestamp ?? null;
          const last = [...p.segments].reverse().find((s) => s.lastTimestamp !== null)?.lastTimestamp ?? null;
          return [name(p), p.segments.length, formatBytes(p.sizeBytes), p.logStartOffset, p.logEndOffset, p.records, formatTimestamp(first), formatTimestamp(last)];
        }),
      ),
    );
  }
  if (flags.segments || filtered) {
    for (const p of report.partitions) {
      sections.push(
        `SEGMENTS OF ${name(p)}\n` +
          renderTable(
            ['BASE-OFFSET', 'SIZE', 'BATCHES', 'RECORDS', 'LAST-OFFSET', 'FIRST-TIMESTAMP', 'LAST-TIMESTAMP', 'CODECS', 'INDEX', 'TIMEINDEX', 'TAIL'],
            p.segments.map((s) => [
              s.baseOffset,
              formatBytes(s.sizeBytes),
              s.batches,
              s.records,
              s.lastOffset,
              formatTimestamp(s.firstTimestamp),
              formatTimestamp(s.lastTimestamp),
              Object.keys(s.codecs).sort().join(','),
              indexText(s.index, s.sealed),
              indexText(s.timeIndex, s.sealed),
              tailText(s),
            ]),
          ),
      );
    }
  }

  const analysis: string[] = [];
  const topics = [...report.topics].sort((a, b) => b.sizeBytes - a.sizeBytes || (a.name < b.name ? -1 : 1));
  if (topics.length > 0) {
    analysis.push(
      `biggest topics: ${topics
        .slice(0, 5)
        .map((t) => `${t.name} ${formatBytes(t.sizeBytes)} (${percent(t.sizeBytes, totals.sizeBytes)})`)
        .join(', ')}`,
    );
  }
  const eligible = report.partitions.filter((p) => p.retention.eligibleSegments > 0);
  analysis.push(
    eligible.length === 0
      ? 'retention: no segment is past its topic\'s retention.ms / retention.bytes'
      : `retention: the next retention check deletes ${eligible.map(retentionText).join('; ')}`,
  );
  const codecs = Object.entries(report.codecs).sort(([a], [b]) => (a < b ? -1 : 1));
  analysis.push(codecs.length === 0 ? 'compression: no batches' : `compression: ${codecs.map(([codec, count]) => `${codec} ${count} batch${count === 1 ? '' : 'es'}`).join(', ')}`);
  const tails = report.partitions.flatMap((p) => p.segments.filter((s) => s.tail.outcome !== 'end').map((s) => ({ p, s })));
  analysis.push(
    tails.length === 0
      ? 'tails: every log ends on a whole batch'
      : `tails: ${tails
          .map(
            ({ p, s }) =>
              `${name(p)}/${s.file}: ${s.tail.reason} (${s.sizeBytes - s.tail.validBytes} bytes; a write in progress on a running broker, else cut off by recovery on the next start)`,
          )
          .join('; ')}`,
  );
  if (flags.verifyCrc) {
    const bad = report.partitions.flatMap((p) => p.segments.filter((s) => s.crcErrors > 0).map((s) => `${name(p)}/${s.file}: ${s.crcErrors}`));
    analysis.push(bad.length === 0 ? 'checksums: every batch CRC-32C matches' : `checksums: batches with a wrong CRC-32C in ${bad.join(', ')}`);
  }
  const unsealed = report.partitions.flatMap((p) => p.segments.slice(0, -1)).filter((s) => !s.sealed);
  if (unsealed.length > 0) {
    analysis.push(
      `flush: ${unsealed.length} rolled segment${unsealed.length === 1 ? ' waits' : 's wait'} for ${unsealed.length === 1 ? 'its' : 'their'} flush and index files ` +
        '(log.roll.flush.delay.ms after the roll on a running broker, else on the next start)',
    );
  }
  const missing = report.partitions
    .flatMap((p) => p.segments)
    .filter((s) => s.sealed && (s.index === null || s.timeIndex === null || !s.index.consistent || !s.timeIndex.consistent));
  if (missing.length > 0) analysis.push(`indexes: ${missing.length} sealed segment${missing.length === 1 ? ' has' : 's have'} missing or inconsistent index files (rebuilt by the broker when read)`);
  const unknown = report.partitions.filter((p) => !p.known);
  if (unknown.length > 0) analysis.push(`leftovers: ${unknown.map(name).join(', ')} belong to no topic in topics.json (the broker removes or replaces them)`);
  const recovering = report.partitions.filter((p) => p.recoveryNeeded);
  if (recovering.length > 0) analysis.push(`recovery: ${recovering.length} partition${recovering.length === 1 ? '' : 's'} will be checked batch by batch when next opened`);
  sections.push('ANALYSIS\n' + analysis.map((line) => `- ${line}`).join('\n'));
  return sections.join('\n\n');
}

async function runInspect(filter: string | undefined, flags: InspectFlags): Promise<void> {
  let report: DataDirReport;
  try {
    report = await inspectDataDir(flags.dataDir, { ...(filter === undefined ? {} : { filter }), verifyCrc: flags.verifyCrc });
  } catch (error) {
    if (error instanceof InspectError) throw new CliError(ExitCode.failed, error.message);
    throw error;
  }
  if (flags.json) {
    printJson(report);
    return;
  }
  print(renderReport(report, flags, filter !== undefined));
}

export function registerStorageCommand(program: Command): void {
  const storage = usageExitCodes(new Command('storage'))
    .description("inspect a broker's data directory (read-only, works with the broker stopped or running)")
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ tributary storage inspect --data-dir ./data
  $ tributary storage inspect orders              # one topic, with its segments
  $ tributary storage inspect orders-3 --verify-crc
${EXIT_CODES_HELP}`,
    );
  program.addCommand(storage);
  storage
    .command('inspect')
    .description('partitions, segments (sizes, batches, records, offsets, timestamps), index files, and an analysis')
    .argument('[topic[-partition]]', 'only this topic, or one partition of it (shows its segments)')
    .option('-d, --data-dir <dir>', 'the data directory', process.env.TRIBUTARY_DATA_DIR ?? DEFAULT_CONFIG.dataDir)
    .option('-s, --segments', 'list the segments of every partition')
    .option('--verify-crc', "also check every batch's CRC-32C (reads every byte)")
    .option('--json', 'print the report as JSON')
    .action(action(runInspect));
}
