/** Test helpers: a real in-process broker on port 0 with a temporary data directory. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker, type StartBrokerOptions } from '../../src/index.js';

export async function makeTempDir(prefix = 'tributary-test-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface TestBroker extends RunningBroker {
  readonly bootstrap: string;
  readonly dataDir: string;
  /** Closes the broker and removes its data directory. */
  shutdown(): Promise<void>;
}

/** Starts a broker on 127.0.0.1:0 with a fresh temporary data directory (unless one is given). */
export async function startTestBroker(options: StartBrokerOptions = {}): Promise<TestBroker> {
  const temp = options.dataDir === undefined && options.storage !== 'memory' ? await makeTempDir() : null;
  const dataDir = options.dataDir ?? temp?.path ?? '';
  const broker = await startBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options, ...(dataDir ? { dataDir } : {}) });
  return {
    ...broker,
    bootstrap: `127.0.0.1:${broker.port}`,
    dataDir,
    async shutdown() {
      await broker.close();
      await temp?.remove();
    },
  };
}
