/**
 * Runs one `tributary` operator command as a child process, as a user would, and collects its exit
 * code, stdout and stderr. The environment is the test's, without TRIBUTARY_* variables, so a
 * developer's settings cannot leak into expected output.
 */
import { spawn } from 'node:child_process';
import { CLI_PATH } from './cli-process.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunCliOptions {
  /** Written to stdin, which is then closed (stdin is always closed, so `produce` never waits). */
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Kill the process after this long (default 20 s) and fail. */
  timeoutMs?: number;
}

export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TRIBUTARY_')) env[key] = value;
  }
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tributary ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a command and returns the child, for commands that run until signalled. */
export function startCli(args: string[]): { child: ReturnType<typeof spawn>; output: () => CliResult; exited: Promise<number | null> } {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('TRIBUTARY_')) env[key] = value;
  }
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => ({ code: child.exitCode, stdout, stderr }), exited };
}
