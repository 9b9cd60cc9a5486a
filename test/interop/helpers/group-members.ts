/**
 * Consumer-group members in their own processes, as the tests see them: a Node member
 * (helpers/group-member.ts: KafkaJS, @platformatic/kafka, confluent-kafka-javascript), a Python one
 * (python/group_member.py: kafka-python, confluent-kafka), or any command printing nothing in that
 * format (kcat -G). Every JSON line a member prints is kept with the time it arrived, so tests can
 * wait for conditions (never for fixed durations) and explain failures with the member's history.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './clients.js';
import { tail } from './process.js';
import type { MemberSpec } from './group-member.js';

const NODE_MEMBER = fileURLToPath(new URL('./group-member.js', import.meta.url));
const PYTHON_MEMBER = fileURLToPath(new URL('../../../../test/interop/python/group_member.py', import.meta.url));

export type MemberClient = MemberSpec['client'] | 'kafka-python' | 'confluent-python';

export interface MemberEvent {
  ev: 'started' | 'assigned' | 'revoked' | 'lost' | 'rebalancing' | 'record' | 'committed' | 'commitFailed' | 'dropped' | 'stale' | 'error' | 'closed';
  partitions?: number[];
  /** What the member owns after an assigned/revoked/lost event. */
  assignment?: number[];
  p?: number;
  o?: number;
  v?: string | null;
  error?: string;
  message?: string;
  info?: Record<string, unknown>;
  /** When the test received the line (ms since the epoch). */
  at: number;
  [key: string]: unknown;
}

export interface MemberOptions {
  client: MemberClient;
  /** Also the client.id: how the broker (and the failure messages) name this member. */
  name: string;
  bootstrap: string;
  group: string;
  topic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs?: number;
  strategy?: string;
  groupInstanceId?: string;
}

export class GroupMember {
  readonly name: string;
  readonly client: MemberClient;
  readonly child: ChildProcess;
  readonly events: MemberEvent[] = [];
  /** Resolves once the process exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private stdoutRest = '';
  private stderrText = '';

  constructor(options: MemberOptions) {
    this.name = options.name;
    this.client = options.client;
    const spec = {
      bootstrap: options.bootstrap,
      group: options.group,
      topic: options.topic,
      clientId: options.name,
      sessionTimeoutMs: options.sessionTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs ?? Math.min(1000, Math.floor(options.sessionTimeoutMs / 3)),
      ...(options.strategy !== undefined ? { strategy: options.strategy } : {}),
      ...(options.groupInstanceId !== undefined ? { groupInstanceId: options.groupInstanceId } : {}),
    };
    if (options.client === 'kafka-python' || options.client === 'confluent-python') {
      this.child = spawn(PYTHON, [PYTHON_MEMBER], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child.stdin!.end(JSON.stringify({ ...spec, client: options.client === 'kafka-python' ? 'kafka-python' : 'confluent' }));
    } else {
      this.child = spawn(process.execPath, [NODE_MEMBER, JSON.stringify({ ...spec, client: options.client })], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => this.onStdout(chunk));
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrText += chunk;
      if (this.stderrText.length > 200_000) this.stderrText = this.stderrText.slice(-100_000);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  private onStdout(chunk: string): void {
    const lines = (this.stdoutRest + chunk).split('\n');
    this.stdoutRest = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      let event: MemberEvent;
      try {
        event = { ...(JSON.parse(line) as Omit<MemberEvent, 'at'>), at: Date.now() } as MemberEvent;
      } catch {
        event = { ev: 'error', message: `not JSON: ${line.slice(0, 300)}`, at: Date.now() };
      }
      this.events.push(event);
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The partitions the member owns according to its last rebalance callback. */
  get assignment(): number[] {
    for (let i = this.events.length - 1; i >= 0; i--) {
      const event = this.events[i]!;
      if (event.assignment !== undefined && (event.ev === 'assigned' || event.ev === 'revoked' || event.ev === 'lost')) return event.assignment;
    }
    return [];
  }

  eventsOf(...kinds: MemberEvent['ev'][]): MemberEvent[] {
    return this.events.filter((e) => kinds.includes(e.ev));
  }

  /** Rebalance callbacks, for failure messages: `assigned [0,1] -> [0,1]`. */
  rebalanceHistory(): string {
    return this.eventsOf('assigned', 'revoked', 'lost')
      .map((e) => `${e.ev} [${e.partitions?.join(',')}] -> [${e.assignment?.join(',')}]`)
      .join('; ');
  }

  /** The highest offset whose commit the member reported, per partition. */
  committed(): Map<number, number> {
    const committed = new Map<number, number>();
    for (const e of this.eventsOf('committed')) committed.set(e.p!, Math.max(committed.get(e.p!) ?? 0, e.o!));
    return committed;
  }

  describe(): string {
    const errors = this.eventsOf('error', 'commitFailed').slice(-5).map((e) => `${e.ev}: ${e.message ?? e.error}`);
    return [
      `${this.name} (${this.client}, ${this.running ? 'running' : `exited ${this.child.exitCode ?? this.child.signalCode}`}): owns [${this.assignment.join(',')}], ` +
        `${this.eventsOf('record').length} records processed`,
      `  rebalances: ${this.rebalanceHistory() || 'none'}`,
      ...(errors.length > 0 ? [`  ${errors.join('\n  ')}`] : []),
      ...(this.stderrText.trim() !== '' ? [`  stderr: ${tail(this.stderrText, 8, 1500).replace(/\n/g, '\n  ')}`] : []),
    ].join('\n');
  }

  /** SIGTERM: the member finishes the record in hand, commits, closes (leaving the group), exits. */
  async stop(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL: no commit, no LeaveGroup; the broker notices when the session times out. */
  async kill(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Polls `condition` until it holds; on timeout throws an error with `explain()`'s text. */
export async function waitUntil(what: string, condition: () => boolean, timeoutMs: number, explain: () => string = () => ''): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${explain()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return Date.now() - started;
}
