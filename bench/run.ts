/**
 * `npm run bench`: Tributary against same-run baselines and a peer broker, interleaved, repeated;
 * prints a table (median [range], ratio, target, pass/miss) and writes bench/results/latest.json.
 * `npm run bench -- --profile`: CPU profiles of the broker under the main loads instead.
 *
 * Every server (broker, baseline, peer) and every load generator is its own process, so CPU is
 * attributed per process (/proc/<pid>/stat for servers, getrusage/cpuUsage for the generators), over
 * the same measured window (after a warm-up). See bench/README.md for what each row compares.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { batchOfOneRecord, batchOfSmallRecords, createTopic, produceFrame } from './lib/kafka.js';
import { allProcessCpu, parentPid, cpuSeconds, machineBusySeconds, topOtherProcesses, lastJson, rssMiB, runProcess, sleep, startProcess, stopProcess, type Started } from './lib/proc.js';
import { formatNumber, formatSpread, renderTable, spread, type Spread } from './lib/stats.js';
import { summarizeProfile, type ProfileSummary } from './lib/cpu-profile.js';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '../..');
const BENCH = join(ROOT, 'bench');
const BUILD = join(BENCH, '.build');
const RESULTS = join(BENCH, 'results');
const RAW = join(RESULTS, 'raw');
const CLI = join(ROOT, 'dist/bundle/tributary.cjs');
const WRAPPER = join(here, 'broker-wrapper.js');
const BASELINE = join(here, 'baseline.js');
const NODE_CLIENT = join(here, 'node-client.js');
const HOST = '127.0.0.1';
/** The page-cache fill's size: a fixed amount, not a time, so a fast disk does not write tens of GiB. */
const PAGE_CACHE_FILL_MIB = 1024;

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    process.stderr.write(`bench: ${name} must be a positive number, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

const GROUPS = ['produce', 'durable', 'kcat', 'node', 'fetch', 'latency', 'e2e', 'startup'] as const;
type Group = (typeof GROUPS)[number];

const settings = {
  seconds: numberFromEnv('BENCH_SECONDS', 5),
  warmup: numberFromEnv('BENCH_WARMUP', 1),
  reps: Math.round(numberFromEnv('BENCH_REPS', 3)),
  fetchMiB: Math.round(numberFromEnv('BENCH_FETCH_MIB', 512)),
  startupSamples: Math.round(numberFromEnv('BENCH_STARTUP_SAMPLES', 5)),
  maxOtherCpu: numberFromEnv('BENCH_MAX_OTHER_CPU', 20),
  batchBytes: 16 * 1024,
  recordBytes: 100,
  /** The kcat load of the issue: linger.ms=5, batch.num.messages=10000. */
  kcatConf: ['linger.ms=5', 'batch.num.messages=10000'],
  groups: (process.env.BENCH_ONLY ?? GROUPS.join(',')).split(',').map((group) => group.trim()) as Group[],
  profile: process.argv.includes('--profile') || process.env.BENCH_PROFILE === '1',
};
for (const group of settings.groups) {
  if (!GROUPS.includes(group)) {
    process.stderr.write(`bench: BENCH_ONLY names unknown group ${group}; groups: ${GROUPS.join(', ')}\n`);
    process.exit(2);
  }
}
const selected = (group: Group) => settings.groups.includes(group);

// ---------------------------------------------------------------------------------------------
// Tools: C programs compiled on first use into bench/.build.

interface Tools {
  framegen: string;
  rdkload: string | null;
  mockBroker: string | null;
  librdkafka: string | null;
  notes: string[];
}

async function compile(name: string, libraries: string[]): Promise<string> {
  const source = join(BENCH, 'c', `${name}.c`);
  const binary = join(BUILD, name);
  if (!existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs) {
    mkdirSync(BUILD, { recursive: true });
    await runProcess(process.env.CC ?? 'cc', ['-O2', '-Wall', '-o', binary, source, ...libraries]);
  }
  return binary;
}

async function prepareTools(): Promise<Tools> {
  const notes: string[] = [];
  const framegen = await compile('framegen', []);
  let rdkload: string | null = null;
  let mockBroker: string | null = null;
  let librdkafka: string | null = null;
  if (existsSync('/usr/include/librdkafka/rdkafka_mock.h')) {
    rdkload = await compile('rdkload', ['-lrdkafka', '-lpthread']);
    mockBroker = await compile('mock-broker', ['-lrdkafka', '-lpthread']);
    librdkafka = (await runProcess('pkg-config', ['--modversion', 'rdkafka']).catch(() => ({ stdout: 'unknown' }))).stdout.trim();
  } else {
    notes.push('librdkafka-dev is not installed (apt-get install -y librdkafka-dev): the librdkafka load, the mock-broker peer and the e2e rows are skipped');
  }
  return { framegen, rdkload, mockBroker, librdkafka, notes };
}

// ---------------------------------------------------------------------------------------------
// Servers under test.

interface EventLoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

interface Server {
  name: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Present for Tributary (the wrapper answers over IPC). */
  eld?: { reset(): Promise<void>; report(): Promise<EventLoopDelay> };
  stop(): Promise<void>;
}

let scratch = '';

function freshDirectory(prefix: string): string {
  return mkdtempSync(join(scratch, `${prefix}-`));
}

/**
 * Deletes a run's data directory, then has the file system free its blocks before the next run.
 * On a disk mounted with `discard` the freed blocks are discarded at the next journal commit, and
 * every write that needs the journal waits for that commit: deleting gigabytes stalled the next
 * run's appends and the baseline's writes alike (first-second p99s of 100-200 ms). `sync` forces
 * the commit now, between the runs.
 */
function removeRunDirectory(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
  spawnSync('sync');
}

function ipcRequest<T>(child: ChildProcess, message: { eld: string }): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('broker wrapper did not answer')), 5000);
    const onMessage = (reply: { eld?: string }) => {
      if (reply.eld !== message.eld) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(reply as T);
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

async function startTributary(options: { profileDir?: string } = {}): Promise<Server> {
  const dataDir = freshDirectory('tributary');
  const execArgs = options.profileDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', options.profileDir];
  const started: Started = await startProcess(
    process.execPath,
    [...execArgs, WRAPPER, 'start', '--host', HOST, '--port', '0', '--data-dir', dataDir, '--log-level', 'warn'],
    /listening on [^ ]+:\d+/,
    { stdio: ['pipe', 'pipe', 'pipe', 'ipc'], cwd: ROOT },
  );
  const port = Number(/listening on [^ ]+:(\d+)/.exec(started.line)![1]);
  const child = started.child;
  return {
    name: 'tributary',
    port,
    pid: child.pid!,
    child,
    eld: {
      reset: async () => void (await ipcRequest(child, { eld: 'reset' })),
      report: () => ipcRequest<EventLoopDelay>(child, { eld: 'report' }),
    },
    stop: async () => {
      // The data is thrown away: SIGKILL spares the final fsync of gigabytes of page cache (which
      // no baseline pays either). Profiling needs a clean exit to write the profile.
      if (options.profileDir === undefined) {
        child.kill('SIGKILL');
        await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
      } else {
        await stopProcess(child, 120_000);
      }
      removeRunDirectory(dataDir);
    },
  };
}

async function startBaselineServer(mode: 'frames' | 'chunks', argument?: string): Promise<Server> {
  const directory = mode === 'frames' ? freshDirectory('baseline-a') : '';
  const started = await startProcess(process.execPath, [BASELINE, mode, argument ?? directory], /^listening \d+/, { cwd: ROOT });
  const child = started.child;
  return {
    name: mode === 'frames' ? 'baseline (a)' : 'baseline (b)',
    port: Number(started.line.split(' ')[1]),
    pid: child.pid!,
    child,
    stop: async () => {
      child.kill('SIGKILL');
      await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve)));
      if (directory !== '') removeRunDirectory(directory);
    },
  };
}

async function startMock(tools: Tools, topics: string[]): Promise<Server> {
  const started = await startProcess(tools.mockBroker!, topics, /^[^ ]+:\d+$/, {});
  const child = started.child;
  return {
    name: 'librdkafka mock',
    port: Number(started.line.split(':').pop()),
    pid: child.pid!,
    child,
    stop: async () => {
      await stopProcess(child, 5000);
    },
  };
}

async function withServer<T>(start: () => Promise<Server>, use: (server: Server) => Promise<T>): Promise<T> {
  const server = await start();
  try {
    return await use(server);
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring a window: server CPU and memory, sampled at the load generator's window edges.

interface Window<T> {
  result: T;
  serverCpuPercent: number;
  serverRssMaxMiB: number;
  /** CPU used by the whole machine over the window, % of one core. */
  machineCpuPercent: number;
  /** The busiest other processes over the window (kernel threads included), for diagnosis. */
  others: string;
  eld: EventLoopDelay | null;
}

async function measured<T>(server: Server, job: () => Promise<T>): Promise<Window<T>> {
  const warmupMs = settings.warmup * 1000;
  const windowMs = settings.seconds * 1000;
  let cpuStart = Number.NaN;
  let cpuEnd = Number.NaN;
  let machineStart = Number.NaN;
  let machineEnd = Number.NaN;
  let processesStart = new Map<number, { name: string; seconds: number }>();
  let others = '';
  let rssMax = Number.NaN;
  let eld: EventLoopDelay | null = null;
  const timers: NodeJS.Timeout[] = [];
  const edges: Promise<void>[] = [];
  const at = (ms: number, action: () => Promise<void> | void) =>
    edges.push(
      new Promise<void>((resolve) =>
        timers.push(
          setTimeout(() => {
            Promise.resolve(action())
              .catch(() => undefined)
              .finally(resolve);
          }, ms),
        ),
      ),
    );
  at(warmupMs, async () => {
    cpuStart = cpuSeconds(server.pid);
    machineStart = machineBusySeconds();
    processesStart = allProcessCpu();
    await server.eld?.reset();
  });
  for (let ms = warmupMs + 250; ms < warmupMs + windowMs; ms += 250) {
    at(ms, () => {
      rssMax = Math.max(Number.isNaN(rssMax) ? 0 : rssMax, rssMiB(server.pid));
    });
  }
  at(warmupMs + windowMs, async () => {
    cpuEnd = cpuSeconds(server.pid);
    machineEnd = machineBusySeconds();
    // Everything but the server, this orchestrator and the load generators it started.
    const mine = new Set([server.pid, process.pid]);
    const end = allProcessCpu();
    for (const [pid] of end) if (parentPid(pid) === process.pid) mine.add(pid);
    others = topOtherProcesses(processesStart, end, mine, settings.seconds);
    lastOthers = others;
    rssMax = Math.max(Number.isNaN(rssMax) ? 0 : rssMax, rssMiB(server.pid));
    if (server.eld !== undefined) eld = await server.eld.report();
  });
  let result: T;
  try {
    result = await job();
  } catch (error) {
    for (const timer of timers) clearTimeout(timer);
    throw error;
  }
  await Promise.all(edges);
  return {
    result,
    serverCpuPercent: ((cpuEnd - cpuStart) / settings.seconds) * 100,
    serverRssMaxMiB: rssMax,
    machineCpuPercent: ((machineEnd - machineStart) / settings.seconds) * 100,
    others,
    eld,
  };
}

// ---------------------------------------------------------------------------------------------
// Load generators.

interface SendResult {
  requests: number;
  requestsPerSec: number;
  mbPerSec: number;
  cpuSeconds: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

interface FetchResult {
  mbPerSec: number;
  recordsPerSec: number;
  responses: number;
  cpuSeconds: number;
  p50Us: number;
  p99Us: number;
}

interface ClientResult {
  records: number;
  recordsPerSec: number;
  mbPerSec: number;
  cpuSeconds: number;
  seconds: number;
  failed?: number;
  firstError?: string;
  errors?: number;
}

interface E2eResult {
  rate: number;
  measured: number;
  failed: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  cpuSeconds: number;
}

const timing = () => ['-d', String(settings.seconds), '-w', String(settings.warmup)];
const runTimeout = () => (settings.warmup + settings.seconds) * 1000 + 60_000;

async function framegenSend(tools: Tools, port: number, frames: string, inflight: number, rate = 0): Promise<SendResult> {
  const args = ['send', '-h', HOST, '-p', String(port), '-f', frames, '-n', String(inflight), ...timing()];
  if (rate > 0) args.push('-r', rate.toFixed(1));
  return lastJson<SendResult>((await runProcess(tools.framegen, args, { timeoutMs: runTimeout() })).stdout);
}

async function framegenFill(tools: Tools, port: number, frames: string, count: number): Promise<void> {
  await runProcess(tools.framegen, ['send', '-h', HOST, '-p', String(port), '-f', frames, '-n', '64', '-d', '600', '-w', '0', '-c', String(count)], {
    timeoutMs: 600_000,
  });
}

async function framegenFetch(tools: Tools, port: number, topic: string | null): Promise<FetchResult> {
  const args = ['fetch', '-h', HOST, '-p', String(port), '-m', String(1024 * 1024), ...timing()];
  if (topic === null) args.push('-R');
  else args.push('-t', topic);
  return lastJson<FetchResult>((await runProcess(tools.framegen, args, { timeoutMs: runTimeout() })).stdout);
}

async function rdkload(tools: Tools, mode: 'produce' | 'consume' | 'e2e', port: number, topic: string, extra: string[], conf: string[]): Promise<unknown> {
  const args = [mode, '-b', `${HOST}:${port}`, '-t', topic, '-s', String(settings.recordBytes), ...timing(), ...extra, ...conf.flatMap((entry) => ['-X', entry])];
  const { stdout } = await runProcess(tools.rdkload!, args, { timeoutMs: runTimeout() });
  return lastJson(stdout);
}

async function nodeClient(mode: 'produce' | 'consume', port: number, topic: string, acks = 1): Promise<ClientResult> {
  const args =
    mode === 'produce'
      ? [NODE_CLIENT, 'produce', `${HOST}:${port}`, topic, String(settings.recordBytes), String(settings.seconds), String(settings.warmup), String(acks)]
      : [NODE_CLIENT, 'consume', `${HOST}:${port}`, topic, String(settings.seconds), String(settings.warmup)];
  return lastJson<ClientResult>((await runProcess(process.execPath, args, { timeoutMs: runTimeout(), cwd: ROOT })).stdout);
}

// ---------------------------------------------------------------------------------------------
// Samples.

interface Sample {
  key: string;
  rep: number;
  values: Record<string, number>;
  /** The busiest other processes during the window. */
  others?: string;
  error?: string;
}

const samples: Sample[] = [];
/** Set by `measured` for the run being recorded. */
let lastOthers = '';
const log = (message: string) => process.stderr.write(`${message}\n`);

function record(key: string, rep: number, values: Record<string, number>): Record<string, number> {
  samples.push({ key, rep, values, others: lastOthers });
  const shown = Object.entries(values)
    .filter(([name]) => ['mbPerSec', 'recordsPerSec', 'p99Us', 'ms', 'importMs', 'startBrokerMs', 'serverCpu', 'clientCpu', 'rssMiB'].includes(name))
    .map(([name, value]) => `${name}=${formatNumber(value)}`)
    .join(' ');
  log(`  rep ${rep} ${key.padEnd(18)} ${shown}`);
  return values;
}

/**
 * Runs one measurement. A run during which other processes kept the machine busy (more than
 * BENCH_MAX_OTHER_CPU % of a core, default 20) is repeated, up to twice; the last one is kept.
 */
async function attempt(key: string, rep: number, run: () => Promise<Record<string, number>>): Promise<Record<string, number> | null> {
  try {
    lastOthers = '';
    let values = await run();
    for (let retry = 1; retry <= 2 && (values.otherCpu ?? 0) > settings.maxOtherCpu; retry++) {
      log(`  rep ${rep} ${key.padEnd(18)} other processes used ${formatNumber(values.otherCpu!)}% CPU (${lastOthers || 'kernel'}): repeating (${retry}/2)`);
      lastOthers = '';
      values = await run();
    }
    return record(key, rep, values);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    samples.push({ key, rep, values: {}, error: message });
    log(`  rep ${rep} ${key.padEnd(18)} FAILED: ${message.split('\n')[0]}`);
    return null;
  }
}

const percent = (cpu: number) => (cpu / settings.seconds) * 100;

function sendValues(window: Window<SendResult>): Record<string, number> {
  const r = window.result;
  return {
    mbPerSec: r.mbPerSec,
    requestsPerSec: r.requestsPerSec,
    p50Us: r.p50Us,
    p99Us: r.p99Us,
    p999Us: r.p999Us,
    clientCpu: percent(r.cpuSeconds),
    serverCpu: window.serverCpuPercent,
    rssMiB: window.serverRssMaxMiB,
    otherCpu: otherCpu(window, percent(r.cpuSeconds)),
    ...eldValues(window.eld),
  };
}

/** CPU the machine spent on anything but this server and its load generator (foreign load). */
function otherCpu(window: Window<unknown>, clientCpu: number): number {
  return Math.max(0, window.machineCpuPercent - window.serverCpuPercent - clientCpu);
}

function eldValues(eld: EventLoopDelay | null): Record<string, number> {
  return eld === null ? {} : { eldP50Ms: eld.p50Ms, eldP99Ms: eld.p99Ms, eldMaxMs: eld.maxMs };
}

function clientValues(window: Window<ClientResult>): Record<string, number> {
  const r = window.result;
  if ((r.failed ?? 0) > 0) throw new Error(`${r.failed} records failed: ${r.firstError ?? ''}`);
  return {
    recordsPerSec: r.recordsPerSec,
    mbPerSec: r.mbPerSec,
    clientCpu: (r.cpuSeconds / (r.seconds || settings.seconds)) * 100,
    serverCpu: window.serverCpuPercent,
    rssMiB: window.serverRssMaxMiB,
    otherCpu: otherCpu(window, (r.cpuSeconds / (r.seconds || settings.seconds)) * 100),
    ...eldValues(window.eld),
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios, one repetition at a time; baseline and broker runs alternate (A B A B ...).

interface Frames {
  acks1: string;
  /** Produce frames for the topic `warm` (see `rollWarmTopic`). */
  warmRoll: string;
  acksAll: string;
  oneRecord: string;
  acks1Six: string;
  acksAllSix: string;
  batchBytes: number;
  recordsPerBatch: number;
}

function writeFrames(): Frames {
  const directory = join(scratch, 'frames');
  mkdirSync(directory, { recursive: true });
  const small = batchOfSmallRecords(settings.batchBytes, settings.recordBytes);
  const one = batchOfOneRecord(small.length);
  const file = (name: string, frame: Buffer) => {
    const path = join(directory, name);
    writeFileSync(path, frame);
    return path;
  };
  return {
    acks1: file('acks1.bin', produceFrame('bench', 1, small, 1)),
    warmRoll: file('warm-roll.bin', produceFrame('warm', 1, small, 1)),
    acksAll: file('acksall.bin', produceFrame('bench', 1, small, -1)),
    oneRecord: file('one-record.bin', produceFrame('bench', 1, one, 1)),
    acks1Six: file('acks1-6.bin', produceFrame('bench6', 6, small, 1)),
    acksAllSix: file('acksall-6.bin', produceFrame('bench6', 6, small, -1)),
    batchBytes: small.length,
    recordsPerBatch: small.readInt32BE(57),
  };
}

/** `benchConfigs`: topic configs for `bench` (the latency runs size its segments). */
async function tributaryTopics(server: Server, benchConfigs: Record<string, string> = {}): Promise<void> {
  await createTopic(HOST, server.port, 'bench', 1, benchConfigs);
  await createTopic(HOST, server.port, 'bench6', 6);
}

/**
 * Takes a running broker past its first segment rolls, on a topic of its own: `warm`, with 1 MiB
 * segments, gets 3 MiB. The first roll of a process is followed by some 200 ms of slower requests
 * (V8 deoptimizes code of the append path that had never run, and takes that long to compile it
 * again); later rolls are not (bench/README.md, "Where the half-load p99 comes from").
 */
async function rollWarmTopic(tools: Tools, server: Server, frames: Frames): Promise<void> {
  await createTopic(HOST, server.port, 'warm', 1, { 'segment.bytes': String(1024 * 1024) });
  await framegenFill(tools, server.port, frames.warmRoll, Math.ceil((3 * 1024 * 1024) / frames.batchBytes));
}

interface SendOptions {
  /** Requests per second (open loop); 0 or absent: as fast as `inflight` allows. */
  rate?: number;
  /** Topic configs for `bench`. */
  benchConfigs?: Record<string, string>;
  /** Runs once the topics exist, before the load. */
  prepare?: (server: Server) => Promise<void>;
}

/** `recordsPerRequest` turns requests/s into records/s. */
async function tributarySend(tools: Tools, frames: string, inflight: number, recordsPerRequest: number, options: SendOptions = {}): Promise<Record<string, number>> {
  const { rate = 0, benchConfigs = {}, prepare } = options;
  return withServer(startTributary, async (server) => {
    await tributaryTopics(server, benchConfigs);
    await prepare?.(server);
    const values = sendValues(await measured(server, () => framegenSend(tools, server.port, frames, inflight, rate)));
    return { ...values, recordsPerSec: values.requestsPerSec! * recordsPerRequest };
  });
}

async function baselineSend(tools: Tools, frames: string, inflight: number, rate = 0): Promise<Record<string, number>> {
  return withServer(
    () => startBaselineServer('frames'),
    async (server) => sendValues(await measured(server, () => framegenSend(tools, server.port, frames, inflight, rate))),
  );
}

/** Runs one of baseline.ts's one-shot modes in a fresh directory; returns the JSON line it prints. */
async function baselineOnce<T>(mode: 'fsync' | 'pagecache', args: string[]): Promise<T> {
  const directory = freshDirectory(`baseline-${mode}`);
  try {
    const { stdout } = await runProcess(process.execPath, [BASELINE, mode, directory, ...args], { timeoutMs: runTimeout() });
    return lastJson<T>(stdout);
  } finally {
    removeRunDirectory(directory);
  }
}

async function fsyncBaseline(): Promise<Record<string, number>> {
  const r = await baselineOnce<{ mbPerSec: number; syncsPerSec: number; p50Us: number; p99Us: number; cpuSeconds: number }>('fsync', [
    String(settings.seconds),
    String(settings.warmup),
  ]);
  return { mbPerSec: r.mbPerSec, syncsPerSec: r.syncsPerSec, p50Us: r.p50Us, p99Us: r.p99Us, serverCpu: percent(r.cpuSeconds) };
}

/** How fast this machine puts fresh bytes into the page cache (baseline.ts, `pagecache`). */
async function pageCacheFill(): Promise<Record<string, number>> {
  const r = await baselineOnce<{ mbPerSec: number; seconds: number; userSeconds: number; systemSeconds: number }>('pagecache', [String(PAGE_CACHE_FILL_MIB)]);
  return {
    mbPerSec: r.mbPerSec,
    serverCpu: ((r.userSeconds + r.systemSeconds) / r.seconds) * 100,
    systemCpu: (r.systemSeconds / r.seconds) * 100,
  };
}

async function kcatLoad(tools: Tools, peer: 'mock' | 'tributary', acks: '1' | 'all'): Promise<Record<string, number>> {
  const conf = [...settings.kcatConf, `acks=${acks}`];
  const start = peer === 'mock' ? () => startMock(tools, ['bench:1']) : startTributary;
  return withServer(start, async (server) => {
    if (peer === 'tributary') await createTopic(HOST, server.port, 'bench', 1);
    return clientValues(await measured(server, async () => (await rdkload(tools, 'produce', server.port, 'bench', [], conf)) as ClientResult));
  });
}

/** Fills a fresh broker's log, then runs the fetch loads against it (the log stays in page cache). */
async function fetchScenarios(tools: Tools, frames: Frames, rep: number, chunkFile: string): Promise<void> {
  await attempt('b', rep, () =>
    withServer(
      () => startBaselineServer('chunks', chunkFile),
      async (server) => {
        const window = await measured(server, () => framegenFetch(tools, server.port, null));
        const clientCpu = percent(window.result.cpuSeconds);
        return { mbPerSec: window.result.mbPerSec, p50Us: window.result.p50Us, p99Us: window.result.p99Us, clientCpu, serverCpu: window.serverCpuPercent, rssMiB: window.serverRssMaxMiB, otherCpu: otherCpu(window, clientCpu) };
      },
    ),
  );
  const server = await startTributary();
  try {
    await createTopic(HOST, server.port, 'bench', 1);
    const batches = Math.ceil((settings.fetchMiB * 1024 * 1024) / frames.batchBytes);
    const filled = await attempt('fetch-fill', rep, async () => {
      const began = performance.now();
      await framegenFill(tools, server.port, frames.acks1, batches);
      return { seconds: (performance.now() - began) / 1000 };
    });
    if (filled === null) return;
    await attempt('tfetch', rep, async () => {
      const window = await measured(server, () => framegenFetch(tools, server.port, 'bench'));
      const r = window.result;
      const clientCpu = percent(r.cpuSeconds);
      return { mbPerSec: r.mbPerSec, recordsPerSec: r.recordsPerSec, p50Us: r.p50Us, p99Us: r.p99Us, clientCpu, serverCpu: window.serverCpuPercent, rssMiB: window.serverRssMaxMiB, otherCpu: otherCpu(window, clientCpu), ...eldValues(window.eld) };
    });
    if (tools.rdkload !== null) {
      await attempt('rdk-consume', rep, async () => clientValues(await measured(server, async () => (await rdkload(tools, 'consume', server.port, 'bench', [], [])) as ClientResult)));
    }
    await attempt('pk-consume', rep, async () => clientValues(await measured(server, () => nodeClient('consume', server.port, 'bench'))));
  } finally {
    await server.stop();
  }
}

/**
 * Produce → consume latency through Tributary. (The mock broker is no peer here: it answers fetches
 * only at fetch.wait.max.ms, never woken by appends, and keeps only its last 5 MB per partition.)
 */
async function e2e(tools: Tools, rate: number): Promise<Record<string, number>> {
  return withServer(startTributary, async (server) => {
    await createTopic(HOST, server.port, 'e2e', 1);
    const window = await measured(server, async () => (await rdkload(tools, 'e2e', server.port, 'e2e', ['-r', String(Math.round(rate))], [...settings.kcatConf, 'acks=1', 'fetch.wait.max.ms=100'])) as E2eResult);
    const r = window.result;
    if (r.measured === 0) throw new Error('no record came back');
    const clientCpu = percent(r.cpuSeconds);
    return { rate: r.rate, p50Us: r.p50Us, p99Us: r.p99Us, p999Us: r.p999Us, maxUs: r.maxUs, clientCpu, serverCpu: window.serverCpuPercent, otherCpu: otherCpu(window, clientCpu), ...eldValues(window.eld) };
  });
}

// ---- start-up ----

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Milliseconds from spawn to the first accepted TCP connection. */
async function timeToFirstConnection(command: string, args: string[]): Promise<{ ms: number; child: ChildProcess }> {
  const port = await freePort();
  const { spawn } = await import('node:child_process');
  const begin = performance.now();
  const child = spawn(command, args.map((arg) => arg.replace('{port}', String(port))), { stdio: 'ignore', cwd: ROOT });
  const deadline = begin + 10_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode} before accepting a connection`);
    if (await tryConnect(port)) return { ms: performance.now() - begin, child };
    await sleep(1);
  }
  child.kill('SIGKILL');
  throw new Error(`${command} accepted no connection within 10 s`);
}

/**
 * The in-process mode a test suite uses: a fresh Node process imports the package and calls
 * startBroker({ port: 0, storage: 'memory' }); reports both steps, measured inside that process.
 */
async function inProcessStartup(): Promise<Record<string, number>> {
  // What `import 'tributary'` resolves to (package.json exports): the bundle of tools/bundle.
  const library = pathToFileURL(join(ROOT, 'dist/bundle/index.js')).href;
  const script = [
    'const begin = performance.now();',
    `const { startBroker } = await import(${JSON.stringify(library)});`,
    'const imported = performance.now();',
    "const broker = await startBroker({ port: 0, storage: 'memory', logLevel: 'silent' });",
    'const started = performance.now();',
    'await broker.close();',
    'console.log(JSON.stringify({ importMs: imported - begin, startBrokerMs: started - imported }));',
  ].join('\n');
  const { stdout } = await runProcess(process.execPath, ['--input-type=module', '-e', script], { timeoutMs: 30_000 });
  return lastJson<Record<string, number>>(stdout);
}

async function startupScenarios(rep: number): Promise<void> {
  const bareNode = ["-e", "require('node:net').createServer().listen({{port}}, '127.0.0.1')".replace('{{port}}', '{port}')];
  for (let i = 0; i < settings.startupSamples; i++) {
    await attempt('startup-node', rep, async () => {
      const { ms, child } = await timeToFirstConnection(process.execPath, bareNode);
      child.kill('SIGKILL');
      return { ms };
    });
    await attempt('startup-tributary', rep, async () => {
      const dataDir = freshDirectory('startup');
      const { ms, child } = await timeToFirstConnection(process.execPath, [CLI, 'start', '--host', HOST, '--port', '{port}', '--data-dir', dataDir, '--log-level', 'warn']);
      const values: Record<string, number> = { ms };
      if (i === 0) {
        // Idle resident memory: a second after start-up, no client connected.
        await sleep(1000);
        values.rssIdleMiB = rssMiB(child.pid!);
      }
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
      return values;
    });
    await attempt('startup-inprocess', rep, inProcessStartup);
  }
}

// ---------------------------------------------------------------------------------------------

function valueOf(key: string, rep: number, field: string): number {
  return samples.find((sample) => sample.key === key && sample.rep === rep)?.values[field] ?? Number.NaN;
}

async function runRepetition(tools: Tools, frames: Frames, rep: number, chunkFile: string): Promise<void> {
  log(`repetition ${rep}/${settings.reps}`);
  const small = frames.recordsPerBatch;
  if (selected('produce')) {
    await attempt('a5', rep, () => baselineSend(tools, frames.acks1, 5));
    await attempt('t5', rep, () => tributarySend(tools, frames.acks1, 5, small));
    await attempt('a64', rep, () => baselineSend(tools, frames.acks1, 64));
    await attempt('t64', rep, () => tributarySend(tools, frames.acks1, 64, small));
    await attempt('t64-one', rep, () => tributarySend(tools, frames.oneRecord, 64, 1));
    await attempt('t64-p6', rep, () => tributarySend(tools, frames.acks1Six, 64, 6 * small));
  }
  if (selected('durable')) {
    await attempt('c', rep, fsyncBaseline);
    await attempt('tall', rep, () => tributarySend(tools, frames.acksAll, 64, small));
    await attempt('tall-p6', rep, () => tributarySend(tools, frames.acksAllSix, 64, 6 * small));
  }
  if (selected('kcat') && tools.rdkload !== null) {
    await attempt('pagecache', rep, pageCacheFill);
    await attempt('mock-acks1', rep, () => kcatLoad(tools, 'mock', '1'));
    await attempt('rdk-acks1', rep, () => kcatLoad(tools, 'tributary', '1'));
    await attempt('mock-acksall', rep, () => kcatLoad(tools, 'mock', 'all'));
    await attempt('rdk-acksall', rep, () => kcatLoad(tools, 'tributary', 'all'));
  }
  if (selected('node')) {
    await attempt('pk-produce', rep, () =>
      withServer(startTributary, async (server) => {
        await createTopic(HOST, server.port, 'bench', 1);
        return clientValues(await measured(server, () => nodeClient('produce', server.port, 'bench', 1)));
      }),
    );
  }
  if (selected('fetch')) await fetchScenarios(tools, frames, rep, chunkFile);
  if (selected('latency')) {
    // 50% of this repetition's maximum produce rate (16 KiB batches, acks=1, 64 in flight), of
    // whichever of broker and baseline (a) is slower: half of the faster one's maximum would load
    // the other beyond half its capacity, where its p99 grows with queueing (baseline (a) at half
    // of a broker 1.3x faster had a p99 of 38-94 ms) and the ratio would flatter the faster one.
    const maximum = async (key: string, run: () => Promise<Record<string, number>>): Promise<number> => {
      const measured = valueOf(key, rep, 'requestsPerSec');
      return Number.isFinite(measured) ? measured : ((await attempt(key, rep, run))?.requestsPerSec ?? Number.NaN);
    };
    const max = Math.min(
      await maximum('t64', () => tributarySend(tools, frames.acks1, 64, small)),
      await maximum('a64', () => baselineSend(tools, frames.acks1, 64)),
    );
    if (Number.isFinite(max)) {
      const rate = max / 2;
      // One roll in the middle of every measured window, whatever this host's rate: a broker rolls
      // its 1 GiB segments every 4-6 s at these rates, so with the default size a 5 s window held
      // a roll on some hosts and not on others, and the p99 followed.
      const benchConfigs = { 'segment.bytes': String(Math.round(rate * frames.batchBytes * (settings.warmup + settings.seconds / 2))) };
      // Alternate which goes first: the first inherits the state the scenario before left behind
      // (pages under writeback), the second the other's.
      const baselineHalf = () => attempt('a-half', rep, () => baselineSend(tools, frames.acks1, 64, rate));
      // The first roll of a fresh process, where V8 recompiles the append path.
      const tributaryHalf = () => attempt('t-half', rep, () => tributarySend(tools, frames.acks1, 64, small, { rate, benchConfigs }));
      // A broker past its first roll (the steady state): the roll in the window is not its first.
      const tributaryHalfRolled = () =>
        attempt('t-half-rolled', rep, () => tributarySend(tools, frames.acks1, 64, small, { rate, benchConfigs, prepare: (server) => rollWarmTopic(tools, server, frames) }));
      if (rep % 2 === 1) {
        await baselineHalf();
        await tributaryHalf();
        await tributaryHalfRolled();
      } else {
        await tributaryHalfRolled();
        await tributaryHalf();
        await baselineHalf();
      }
    }
  }
  if (selected('e2e') && tools.rdkload !== null) {
    let max = valueOf('rdk-acks1', rep, 'recordsPerSec');
    if (!Number.isFinite(max)) max = (await attempt('rdk-acks1', rep, () => kcatLoad(tools, 'tributary', '1')))?.recordsPerSec ?? Number.NaN;
    if (Number.isFinite(max)) {
      await attempt('t-e2e', rep, () => e2e(tools, max / 2));
    }
  }
  if (selected('startup')) await startupScenarios(rep);
}

// ---------------------------------------------------------------------------------------------
// The table.

interface RowSpec {
  id: string;
  group: Group;
  metric: string;
  unit: string;
  key: string;
  field: string;
  baseline?: { label: string; key: string; field: string };
  /** ratio >= x, ratio <= x, value < x. */
  target?: { kind: 'ratio>=' | 'ratio<=' | 'value<'; threshold: number; text: string };
}

const ROWS: RowSpec[] = [
  { id: 'produce-acks1-inflight5', group: 'produce', metric: 'Produce acks=1, 16 KiB batches of 100 B records, 1 partition, 5 in flight', unit: 'MB/s', key: 't5', field: 'mbPerSec', baseline: { label: '(a) Node TCP+writev, 5 in flight', key: 'a5', field: 'mbPerSec' }, target: { kind: 'ratio>=', threshold: 0.85, text: '≥ 0.85x (a)' } },
  { id: 'produce-acks1-inflight64', group: 'produce', metric: 'Produce acks=1, 16 KiB batches of 100 B records, 1 partition, 64 in flight', unit: 'MB/s', key: 't64', field: 'mbPerSec', baseline: { label: '(a) Node TCP+writev, 64 in flight', key: 'a64', field: 'mbPerSec' }, target: { kind: 'ratio>=', threshold: 0.85, text: '≥ 0.85x (a)' } },
  { id: 'produce-small-vs-one-record', group: 'produce', metric: 'Produce acks=1, 100 B records vs one record per 16 KiB batch, 64 in flight', unit: 'MB/s', key: 't64', field: 'mbPerSec', baseline: { label: 'Tributary, one record per batch', key: 't64-one', field: 'mbPerSec' }, target: { kind: 'ratio>=', threshold: 0.9, text: '≥ 0.9x' } },
  { id: 'produce-acks1-6p', group: 'produce', metric: 'Produce acks=1, 6 partitions (6 × 16 KiB per request), 64 in flight', unit: 'MB/s', key: 't64-p6', field: 'mbPerSec', baseline: { label: '(a) Node TCP+writev, 64 in flight', key: 'a64', field: 'mbPerSec' } },
  { id: 'produce-acksall', group: 'durable', metric: 'Produce acks=all, 16 KiB batches of 100 B records, 1 partition, 64 in flight', unit: 'MB/s', key: 'tall', field: 'mbPerSec', baseline: { label: '(c) 1 MiB append + fdatasync', key: 'c', field: 'mbPerSec' }, target: { kind: 'ratio>=', threshold: 0.6, text: '≥ 0.6x (c)' } },
  { id: 'produce-acksall-6p', group: 'durable', metric: 'Produce acks=all, 6 partitions (6 × 16 KiB per request), 64 in flight', unit: 'MB/s', key: 'tall-p6', field: 'mbPerSec', baseline: { label: '(c) 1 MiB append + fdatasync', key: 'c', field: 'mbPerSec' } },
  { id: 'kcat-acks1', group: 'kcat', metric: 'librdkafka producer (kcat load: 100 B, linger.ms=5, batch.num.messages=10000), acks=1', unit: 'records/s', key: 'rdk-acks1', field: 'recordsPerSec', baseline: { label: 'librdkafka mock broker, same load', key: 'mock-acks1', field: 'recordsPerSec' }, target: { kind: 'ratio>=', threshold: 0.8, text: '≥ 0.8x mock' } },
  { id: 'kcat-acksall', group: 'kcat', metric: 'librdkafka producer (kcat load), acks=all', unit: 'records/s', key: 'rdk-acksall', field: 'recordsPerSec', baseline: { label: 'librdkafka mock broker, same load', key: 'mock-acksall', field: 'recordsPerSec' }, target: { kind: 'ratio>=', threshold: 0.6, text: '≥ 0.6x mock' } },
  { id: 'page-cache-fill', group: 'kcat', metric: 'The machine: 1 GiB into the page cache of a new file, 1 MiB writeSync calls, no fsync (what produce pays and the mock does not)', unit: 'MB/s', key: 'pagecache', field: 'mbPerSec' },
  { id: 'node-produce', group: 'node', metric: '@platformatic/kafka producer, 100 B records, send() of 1000 × 8 in flight, acks=1', unit: 'records/s', key: 'pk-produce', field: 'recordsPerSec', baseline: { label: 'librdkafka producer vs Tributary', key: 'rdk-acks1', field: 'recordsPerSec' } },
  { id: 'fetch', group: 'fetch', metric: 'Fetch from page cache, 1 MiB per request, 1 in flight', unit: 'MB/s', key: 'tfetch', field: 'mbPerSec', baseline: { label: '(b) Node fs.read 1 MiB → socket', key: 'b', field: 'mbPerSec' }, target: { kind: 'ratio>=', threshold: 0.8, text: '≥ 0.8x (b)' } },
  { id: 'consume-librdkafka', group: 'fetch', metric: 'librdkafka consumer (no group), 100 B records from page cache', unit: 'records/s', key: 'rdk-consume', field: 'recordsPerSec' },
  { id: 'consume-node', group: 'fetch', metric: '@platformatic/kafka Consumer.fetch() loop, 100 B records from page cache', unit: 'records/s', key: 'pk-consume', field: 'recordsPerSec' },
  { id: 'produce-p99-half-load', group: 'latency', metric: 'Produce p99 at 50% of max rate (16 KiB, acks=1), a segment roll in the window, broker past its first roll', unit: 'µs', key: 't-half-rolled', field: 'p99Us', baseline: { label: '(a) p99 at the same rate', key: 'a-half', field: 'p99Us' }, target: { kind: 'ratio<=', threshold: 2, text: '≤ 2x (a)' } },
  { id: 'produce-p99-half-load-first-roll', group: 'latency', metric: 'Same p99, the roll in the window being a fresh process\'s first', unit: 'µs', key: 't-half', field: 'p99Us', baseline: { label: '(a) p99 at the same rate', key: 'a-half', field: 'p99Us' } },
  { id: 'produce-p50-half-load', group: 'latency', metric: 'Produce p50 at 50% of max rate (16 KiB, acks=1)', unit: 'µs', key: 't-half-rolled', field: 'p50Us', baseline: { label: '(a) p50 at the same rate', key: 'a-half', field: 'p50Us' } },
  { id: 'produce-p999-half-load', group: 'latency', metric: 'Produce p99.9 at 50% of max rate (16 KiB, acks=1)', unit: 'µs', key: 't-half-rolled', field: 'p999Us', baseline: { label: '(a) p99.9 at the same rate', key: 'a-half', field: 'p999Us' } },
  { id: 'e2e-p50', group: 'e2e', metric: 'End-to-end p50, librdkafka produce → consume at 50% of max records/s', unit: 'µs', key: 't-e2e', field: 'p50Us' },
  { id: 'e2e-p99', group: 'e2e', metric: 'End-to-end p99, same', unit: 'µs', key: 't-e2e', field: 'p99Us' },
  { id: 'e2e-p999', group: 'e2e', metric: 'End-to-end p99.9, same', unit: 'µs', key: 't-e2e', field: 'p999Us' },
  { id: 'startup', group: 'startup', metric: 'Start-up: spawn of the CLI → first accepted connection', unit: 'ms', key: 'startup-tributary', field: 'ms', baseline: { label: 'bare `node -e` TCP server', key: 'startup-node', field: 'ms' }, target: { kind: 'value<', threshold: 100, text: '< 100 ms' } },
  { id: 'startup-inprocess', group: 'startup', metric: 'In-process: startBroker({ port: 0, storage: memory }) once the library is loaded', unit: 'ms', key: 'startup-inprocess', field: 'startBrokerMs' },
  { id: 'import-library', group: 'startup', metric: 'In-process: loading the library (import, once per process)', unit: 'ms', key: 'startup-inprocess', field: 'importMs' },
  { id: 'rss-idle', group: 'startup', metric: 'RSS idle (1 s after start-up)', unit: 'MiB', key: 'startup-tributary', field: 'rssIdleMiB', target: { kind: 'value<', threshold: 80, text: '< 80 MiB' } },
  { id: 'rss-produce', group: 'produce', metric: 'RSS under load (max, produce acks=1, 64 in flight)', unit: 'MiB', key: 't64', field: 'rssMiB' },
  { id: 'rss-fetch', group: 'fetch', metric: 'RSS under load (max, fetch)', unit: 'MiB', key: 'tfetch', field: 'rssMiB' },
  { id: 'eld-produce', group: 'produce', metric: 'Event-loop delay p99 under produce load (acks=1, 64 in flight)', unit: 'ms', key: 't64', field: 'eldP99Ms' },
  { id: 'eld-fetch', group: 'fetch', metric: 'Event-loop delay p99 under fetch load', unit: 'ms', key: 'tfetch', field: 'eldP99Ms' },
];

interface RowResult {
  id: string;
  metric: string;
  unit: string;
  value: Spread | null;
  baseline: (Spread & { label: string }) | null;
  ratio: Spread | null;
  target: string | null;
  pass: boolean | null;
}

/** All values of a key's field, one per sample (start-up has several per repetition). */
function valuesOf(key: string, field: string): number[] {
  return samples.filter((sample) => sample.key === key).map((sample) => sample.values[field] ?? Number.NaN);
}

/** Per-repetition ratios: each repetition's median over its baseline's median in that repetition. */
function ratiosOf(spec: RowSpec): number[] {
  const ratios: number[] = [];
  for (let rep = 1; rep <= settings.reps; rep++) {
    const value = spread(samples.filter((s) => s.key === spec.key && s.rep === rep).map((s) => s.values[spec.field] ?? Number.NaN));
    const base = spread(samples.filter((s) => s.key === spec.baseline!.key && s.rep === rep).map((s) => s.values[spec.baseline!.field] ?? Number.NaN));
    if (value !== null && base !== null && base.median !== 0) ratios.push(value.median / base.median);
  }
  return ratios;
}

function evaluate(spec: RowSpec): RowResult {
  const value = spread(valuesOf(spec.key, spec.field));
  const base = spec.baseline === undefined ? null : spread(valuesOf(spec.baseline.key, spec.baseline.field));
  const ratio = spec.baseline === undefined ? null : spread(ratiosOf(spec));
  let pass: boolean | null = null;
  if (spec.target !== undefined) {
    if (spec.target.kind === 'value<') pass = value === null ? null : value.median < spec.target.threshold;
    else if (ratio !== null) pass = spec.target.kind === 'ratio>=' ? ratio.median >= spec.target.threshold : ratio.median <= spec.target.threshold;
  }
  return {
    id: spec.id,
    metric: spec.metric,
    unit: spec.unit,
    value,
    baseline: base === null || spec.baseline === undefined ? null : { ...base, label: spec.baseline.label },
    ratio,
    target: spec.target?.text ?? null,
    pass,
  };
}

function ratioText(ratio: Spread | null): string {
  if (ratio === null) return '-';
  const show = (x: number) => `${x.toFixed(2)}x`;
  return ratio.n === 1 || ratio.min === ratio.max ? show(ratio.median) : `${show(ratio.median)} [${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}]`;
}

/** CPU, memory and event-loop delay per scenario. */
const SCENARIOS: Array<{ key: string; label: string; throughput: 'mbPerSec' | 'recordsPerSec' | 'rate' }> = [
  { key: 'a5', label: '(a) baseline, 5 in flight', throughput: 'mbPerSec' },
  { key: 't5', label: 'Tributary produce acks=1, 5 in flight', throughput: 'mbPerSec' },
  { key: 'a64', label: '(a) baseline, 64 in flight', throughput: 'mbPerSec' },
  { key: 't64', label: 'Tributary produce acks=1, 64 in flight', throughput: 'mbPerSec' },
  { key: 't64-one', label: 'Tributary produce acks=1, one record per batch', throughput: 'mbPerSec' },
  { key: 't64-p6', label: 'Tributary produce acks=1, 6 partitions', throughput: 'mbPerSec' },
  { key: 'c', label: '(c) baseline 1 MiB + fdatasync', throughput: 'mbPerSec' },
  { key: 'tall', label: 'Tributary produce acks=all', throughput: 'mbPerSec' },
  { key: 'tall-p6', label: 'Tributary produce acks=all, 6 partitions', throughput: 'mbPerSec' },
  { key: 'pagecache', label: 'page-cache fill, 1 GiB (CPU: one thread)', throughput: 'mbPerSec' },
  { key: 'mock-acks1', label: 'mock broker, kcat load acks=1', throughput: 'recordsPerSec' },
  { key: 'rdk-acks1', label: 'Tributary, kcat load acks=1', throughput: 'recordsPerSec' },
  { key: 'mock-acksall', label: 'mock broker, kcat load acks=all', throughput: 'recordsPerSec' },
  { key: 'rdk-acksall', label: 'Tributary, kcat load acks=all', throughput: 'recordsPerSec' },
  { key: 'pk-produce', label: 'Tributary, @platformatic/kafka producer', throughput: 'recordsPerSec' },
  { key: 'b', label: '(b) baseline fs.read → socket', throughput: 'mbPerSec' },
  { key: 'tfetch', label: 'Tributary fetch (raw, 1 MiB)', throughput: 'mbPerSec' },
  { key: 'rdk-consume', label: 'Tributary, librdkafka consumer', throughput: 'recordsPerSec' },
  { key: 'pk-consume', label: 'Tributary, @platformatic/kafka fetch loop', throughput: 'recordsPerSec' },
  { key: 'a-half', label: '(a) baseline at 50% rate', throughput: 'mbPerSec' },
  { key: 't-half', label: 'Tributary at 50% rate, its first roll in the window', throughput: 'mbPerSec' },
  { key: 't-half-rolled', label: 'Tributary at 50% rate, a later roll in the window', throughput: 'mbPerSec' },
  { key: 't-e2e', label: 'Tributary e2e at 50% rate', throughput: 'rate' },
];

function scenarioTable(): { headers: string[]; rows: string[][]; json: Array<Record<string, unknown>> } {
  const headers = ['scenario', 'throughput', 'server CPU %', 'client CPU %', 'other CPU %', 'server RSS MiB', 'event-loop p99 ms'];
  const rows: string[][] = [];
  const json: Array<Record<string, unknown>> = [];
  for (const scenario of SCENARIOS) {
    if (!samples.some((sample) => sample.key === scenario.key && sample.error === undefined)) continue;
    const field = (name: string) => spread(valuesOf(scenario.key, name));
    const throughputValue = field(scenario.throughput);
    const records = scenario.throughput === 'mbPerSec' ? field('recordsPerSec') : null;
    const throughput =
      throughputValue === null
        ? '-'
        : `${formatNumber(throughputValue.median)} ${scenario.throughput === 'mbPerSec' ? 'MB/s' : 'records/s'}` +
          (records === null ? '' : `, ${formatNumber(records.median)} records/s`);
    const row = [scenario.label, throughput, formatSpread(field('serverCpu')), formatSpread(field('clientCpu')), formatSpread(field('otherCpu')), formatSpread(field('rssMiB')), formatSpread(field('eldP99Ms'))];
    rows.push(row);
    json.push({
      key: scenario.key,
      label: scenario.label,
      throughput: throughputValue,
      throughputUnit: scenario.throughput === 'mbPerSec' ? 'MB/s' : 'records/s',
      serverCpuPercent: field('serverCpu'),
      clientCpuPercent: field('clientCpu'),
      otherCpuPercent: field('otherCpu'),
      rssMiB: field('rssMiB'),
      eventLoopP99Ms: field('eldP99Ms'),
    });
  }
  return { headers, rows, json };
}

/** Other processes busy during the windows make every number here unreliable: say so. */
function foreignLoadWarning(): string[] {
  const busy = samples.filter((sample) => (sample.values.otherCpu ?? 0) > settings.maxOtherCpu);
  if (busy.length === 0) return [];
  return [
    `warning: other processes used more than ${settings.maxOtherCpu}% of a core during ${busy.length} measured run(s) even after repeating them ` +
      `(${busy.map((sample) => `${sample.key} rep ${sample.rep}: ${formatNumber(sample.values.otherCpu!)}% (${sample.others || '?'})`).join('; ')}); rerun on a quiet machine`,
  ];
}

async function machineFacts(tools: Tools): Promise<Record<string, unknown>> {
  const fsType = await runProcess('findmnt', ['-no', 'FSTYPE', '-T', scratch])
    .catch(() => runProcess('stat', ['-f', '-c', '%T', scratch]))
    .then((r) => r.stdout.trim(), () => 'unknown');
  const model = cpus()[0]?.model ?? 'unknown';
  return {
    cpu: `${model} × ${cpus().length}`,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    librdkafka: tools.librdkafka,
    scratchDirectory: scratch,
    scratchFilesystem: fsType,
    virtualMachine: /\bhypervisor\b/.test(await readFile('/proc/cpuinfo', 'utf8').catch(() => '')),
  };
}

async function makeChunkFile(): Promise<string> {
  // Baseline (b) reads a file of the same size as the broker's filled log; written here, so it is
  // in page cache.
  const path = join(scratch, 'chunks.dat');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1024 * 1024, 'c');
  for (let i = 0; i < settings.fetchMiB; i++) writeSync(fd, block);
  closeSync(fd);
  return path;
}

// ---------------------------------------------------------------------------------------------
// Profiles (`--profile`).

async function profileRuns(tools: Tools, frames: Frames): Promise<void> {
  const directory = join(RAW, `profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(directory, { recursive: true });
  const summaries: Record<string, ProfileSummary> = {};
  const profiled = async (name: string, load: (server: Server) => Promise<unknown>) => {
    const profileDir = join(directory, name);
    mkdirSync(profileDir, { recursive: true });
    log(`profiling: ${name}`);
    const server = await startTributary({ profileDir });
    try {
      await tributaryTopics(server);
      await load(server);
    } finally {
      await server.stop();
    }
    const file = readdirSync(profileDir).find((entry) => entry.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error(`no profile written for ${name}`);
    summaries[name] = { ...summarizeProfile(join(profileDir, file), ROOT), file: relative(ROOT, join(profileDir, file)) };
  };
  let maxRequestsPerSec = 0;
  await profiled('produce-acks1', async (server) => {
    maxRequestsPerSec = (await framegenSend(tools, server.port, frames.acks1, 64)).requestsPerSec;
  });
  // The p99 row's load: where the broker's CPU per request, not its ceiling, decides the tail.
  await profiled('produce-acks1-half-rate', (server) => framegenSend(tools, server.port, frames.acks1, 64, maxRequestsPerSec / 2));
  await profiled('produce-acks1-inflight5', (server) => framegenSend(tools, server.port, frames.acks1, 5));
  await profiled('produce-acksall', (server) => framegenSend(tools, server.port, frames.acksAll, 64));
  await profiled('fetch', async (server) => {
    await framegenFill(tools, server.port, frames.acks1, Math.ceil((settings.fetchMiB * 1024 * 1024) / frames.batchBytes));
    await framegenFetch(tools, server.port, 'bench');
  });
  if (tools.rdkload !== null) {
    await profiled('kcat-acks1', (server) => rdkload(tools, 'produce', server.port, 'bench', [], [...settings.kcatConf, 'acks=1']));
  }
  for (const [name, summary] of Object.entries(summaries)) {
    process.stdout.write(`\n## ${name}: busy ${formatNumber(summary.busyMs)} ms of ${formatNumber(summary.wallMs)} ms (GC ${formatNumber(summary.gcMs)} ms)\n\n`);
    process.stdout.write(
      renderTable(
        ['self ms', '% busy', 'function', 'where'],
        summary.top.slice(0, 20).map((entry) => [formatNumber(entry.selfMs), entry.percentOfBusy.toFixed(1), entry.name, entry.location]),
      ) + '\n\n',
    );
    process.stdout.write(
      renderTable(
        ['self ms', '% busy', 'area'],
        summary.byArea.slice(0, 12).map((entry) => [formatNumber(entry.selfMs), entry.percentOfBusy.toFixed(1), entry.area]),
      ) + '\n',
    );
  }
  writeFileSync(join(RESULTS, 'profile.json'), JSON.stringify({ date: new Date().toISOString(), settings, profiles: summaries }, null, 2) + '\n');
  process.stdout.write(`\nProfiles in ${directory}; summary in bench/results/profile.json\n`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  if (!existsSync(CLI) || !existsSync(WRAPPER)) {
    process.stderr.write('bench: build first (npm run build)\n');
    process.exit(2);
  }
  scratch = mkdtempSync(join(process.env.BENCH_TMPDIR ?? tmpdir(), 'tributary-bench-'));
  mkdirSync(RAW, { recursive: true });
  const tools = await prepareTools();
  for (const note of tools.notes) log(`note: ${note}`);
  const frames = writeFrames();
  try {
    if (settings.profile) {
      await profileRuns(tools, frames);
      return;
    }
    const chunkFile = selected('fetch') ? await makeChunkFile() : '';
    log(
      `bench: ${settings.reps} repetitions, ${settings.seconds} s windows after ${settings.warmup} s warm-up; groups ${settings.groups.join(',')}; ` +
        `batches of ${frames.batchBytes} B (${frames.recordsPerBatch} records of ${settings.recordBytes} B)`,
    );
    for (let rep = 1; rep <= settings.reps; rep++) await runRepetition(tools, frames, rep, chunkFile);

    const rows = ROWS.filter((spec) => selected(spec.group) && samples.some((sample) => sample.key === spec.key)).map(evaluate);
    const scenarios = scenarioTable();
    const elapsedSeconds = (performance.now() - began) / 1000;
    const machine = await machineFacts(tools);
    const failures = samples.filter((sample) => sample.error !== undefined).map((sample) => ({ key: sample.key, rep: sample.rep, error: sample.error }));

    const table = renderTable(
      ['metric', 'Tributary', 'baseline', 'ratio', 'target', 'result'],
      rows.map((row) => [
        row.metric,
        formatSpread(row.value, row.unit),
        row.baseline === null ? '-' : `${formatSpread(row.baseline, row.unit)} — ${row.baseline.label}`,
        ratioText(row.ratio),
        row.target ?? '-',
        row.pass === null ? (row.target === null ? '' : 'n/a') : row.pass ? 'pass' : 'MISS',
      ]),
    );
    const output = [
      '',
      `Tributary benchmark — ${new Date().toISOString()} — ${machine.cpu}, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}, librdkafka ${machine.librdkafka ?? 'absent'}, ${machine.scratchFilesystem} scratch`,
      `${settings.reps} repetitions × ${settings.seconds} s (after ${settings.warmup} s warm-up), interleaved; median [min–max]; ratio = median of per-repetition ratios`,
      '',
      table,
      '',
      renderTable(scenarios.headers, scenarios.rows),
      '',
      ...foreignLoadWarning(),
      ...tools.notes.map((note) => `note: ${note}`),
      ...failures.map((failure) => `failed: rep ${failure.rep} ${failure.key}: ${failure.error?.split('\n')[0]}`),
      `took ${formatNumber(elapsedSeconds)} s`,
      '',
    ].join('\n');
    process.stdout.write(output);

    const summary = {
      date: new Date().toISOString(),
      machine,
      settings: { ...settings, batchBytes: frames.batchBytes, recordsPerBatch: frames.recordsPerBatch },
      elapsedSeconds,
      rows,
      scenarios: scenarios.json,
      failures,
      notes: tools.notes,
    };
    const partial = settings.groups.length !== GROUPS.length;
    const name = partial ? `partial-${settings.groups.join('+')}.json` : 'latest.json';
    writeFileSync(join(partial ? RAW : RESULTS, name), JSON.stringify(summary, null, 2) + '\n');
    writeFileSync(join(RAW, `run-${summary.date.replace(/[:.]/g, '-')}.json`), JSON.stringify({ ...summary, samples }, null, 2) + '\n');
    log(`wrote ${partial ? `bench/results/raw/${name}` : 'bench/results/latest.json'} and raw samples in bench/results/raw/`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
