/**
 * The broker as a user runs it: the package's bin (`node dist/bundle/tributary.cjs start ...`) in a
 * child process. Start-up is judged by the one line the CLI prints on stdout once it listens;
 * shutdown by its exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH } from '../../helpers/cli-process.js';

export const LISTENING_LINE = /^Tributary (\S+) listening on (\S+):(\d+) \(advertised as (\S+):(\d+)[,)]/;

export interface CliBrokerOptions {
  dataDir: string;
  port?: number;
  advertisedPort?: number;
  extraArgs?: string[];
  logLevel?: string;
  startTimeoutMs?: number;
  /** Options for the node process itself, e.g. a heap limit. */
  nodeArgs?: string[];
}

export interface CliBroker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly advertisedPort: number;
  readonly version: string;
  /** Everything the process printed on stdout (normally exactly the listening line). */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then waits for the exit (SIGKILL after `timeoutMs`). */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL: no flush, no clean-shutdown marker. */
  kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startCliBroker(options: CliBrokerOptions): Promise<CliBroker> {
  const args = [...(options.nodeArgs ?? []), CLI_PATH, 'start', '--host', '127.0.0.1', '--port', String(options.port ?? 0), '--data-dir', options.dataDir];
  args.push('--log-level', options.logLevel ?? 'warn');
  if (options.advertisedPort !== undefined) args.push('--advertised-port', String(options.advertisedPort));
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 1_000_000) stderr = stderr.slice(-500_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );

  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the broker printed no listening line within ${options.startTimeoutMs ?? 15_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.startTimeoutMs ?? 15_000);
    child.stdout!.on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(stdout.slice(0, newline));
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the broker exited (code ${code}, signal ${signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
  const match = LISTENING_LINE.exec(line);
  if (match === null) {
    child.kill('SIGKILL');
    throw new Error(`unexpected first stdout line from the broker: ${JSON.stringify(line)}`);
  }

  const waitExit = async (timeoutMs: number) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    child,
    pid: child.pid!,
    port: Number(match[3]),
    advertisedPort: Number(match[5]),
    version: match[1]!,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop(timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return waitExit(timeoutMs);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return waitExit(5_000);
    },
  };
}
