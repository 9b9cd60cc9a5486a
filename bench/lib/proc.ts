/** Child processes for the benchmark: start, wait for a line, attribute CPU and memory via /proc. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** Kernel clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on Linux x86-64). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process so far (its own threads; not its children). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Resident set size in MiB (VmRSS), NaN when the process is gone. */
export function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match === null ? Number.NaN : Number(match[1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

export interface Started {
  child: ChildProcess;
  /** The first line printed on stdout that matched. */
  line: string;
  /** Milliseconds from spawn to that line. */
  ms: number;
  stderr: () => string;
}

/**
 * Spawns a process and resolves when a stdout line matches `ready` (rejects when it exits first
 * or `timeoutMs` passes). Later stdout lines go to `onLine`.
 */
export function startProcess(
  command: string,
  args: string[],
  ready: RegExp,
  options: SpawnOptions & { timeoutMs?: number; onLine?: (line: string) => void } = {},
): Promise<Started> {
  const started = performance.now();
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 64 * 1024) stderr = stderr.slice(-32 * 1024);
  });
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: not ready after ${options.timeoutMs ?? 15_000} ms\n${stderr}`));
    }, options.timeoutMs ?? 15_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (!done && ready.test(line)) {
        done = true;
        clearTimeout(timer);
        resolve({ child, line, ms: performance.now() - started, stderr: () => stderr });
      } else {
        options.onLine?.(line);
      }
    });
    child.on('exit', (code, signal) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready\n${stderr}`));
    });
  });
}

/** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`). */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

/** Runs a process to completion and returns its stdout (rejects on a non-zero exit). */
export function runProcess(command: string, args: string[], options: SpawnOptions & { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string; pid: number; child: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr, pid: child.pid ?? 0, child });
      else reject(new Error(`${command} ${args.join(' ')} failed (${code ?? signal}): ${stderr.trim() || stdout.trim()}`));
    });
  });
}

/** Parses the last line of `stdout` that is a JSON object. */
export function lastJson<T = Record<string, unknown>>(stdout: string): T {
  const lines = stdout.trim().split('\n').reverse();
  for (const line of lines) {
    if (line.startsWith('{')) return JSON.parse(line) as T;
  }
  throw new Error(`no JSON result in: ${stdout.slice(0, 500)}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** CPU seconds the whole machine spent busy so far (all cores; /proc/stat), for spotting foreign load. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of every process on the machine, by pid, with its command name. */
export function allProcessCpu(): Map<number, { name: string; seconds: number }> {
  const result = new Map<number, { name: string; seconds: number }>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return result;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(Number(entry), { name, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // The process ended meanwhile.
    }
  }
  return result;
}

/** The processes that used the most CPU between two `allProcessCpu` snapshots, excluding `pids`. */
export function topOtherProcesses(
  before: Map<number, { name: string; seconds: number }>,
  after: Map<number, { name: string; seconds: number }>,
  exclude: Set<number>,
  windowSeconds: number,
  count = 3,
): string {
  const used: Array<{ label: string; percent: number }> = [];
  for (const [pid, end] of after) {
    if (exclude.has(pid)) continue;
    const start = before.get(pid)?.seconds ?? 0;
    const percent = ((end.seconds - start) / windowSeconds) * 100;
    if (percent >= 1) used.push({ label: `${end.name}[${pid}]`, percent });
  }
  return used
    .sort((a, b) => b.percent - a.percent)
    .slice(0, count)
    .map((entry) => `${entry.label} ${entry.percent.toFixed(0)}%`)
    .join(', ');
}

/** Parent pid of a process, NaN when it is gone. */
export function parentPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return Number.NaN;
  }
}
