/** Runs the `tributary` command line as a child process, as a user would, for process-level tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The package's bin: the bundle that `npm run build` makes of src/cli/main.ts (tools/bundle). */
export const CLI_PATH = fileURLToPath(new URL('../../bundle/tributary.cjs', import.meta.url));

export interface CliBroker {
  child: ChildProcess;
  /** The one line the broker printed once it listened. */
  line: string;
  port: number;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then resolves once the process is gone. */
  kill(): Promise<void>;
}

/** Starts the CLI and resolves once it printed its listening line. */
export function startCliBroker(args: string[], env: Record<string, string> = {}): Promise<CliBroker> {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on ([^\s:]+):(\d+)/.exec(stdout);
      if (match === null || !stdout.includes('\n')) return;
      resolve({
        child,
        line: stdout.trim(),
        port: Number(match[2]),
        async stop() {
          child.kill('SIGTERM');
          const [code] = await exited;
          return code as number | null;
        },
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`CLI exited with ${code} before listening: ${stderr}`)));
  });
}
