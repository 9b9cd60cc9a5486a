/** Self time per function of a V8 `.cpuprofile` (what `node --cpu-prof` writes). */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  /** file:line, relative to the project root where it is inside it. */
  location: string;
  selfMs: number;
  /** Share of the non-idle samples. */
  percentOfBusy: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  gcMs: number;
  top: FunctionTime[];
  /** Self time grouped by where the code lives: project files by directory, node internals, native. */
  byArea: Array<{ area: string; selfMs: number; percentOfBusy: number }>;
}

function areaOf(url: string, name: string, root: string): string {
  if (url === '') return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  if (path.includes('/node_modules/')) return `npm:${path.split('/node_modules/')[1]!.split('/').slice(0, path.includes('/node_modules/@') ? 2 : 1).join('/')}`;
  const inside = relative(root, path);
  const parts = inside.split('/');
  return parts.slice(0, Math.min(parts.length - 1, 3)).join('/') || inside;
}

export function summarizeProfile(file: string, root: string, topCount = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const functions = new Map<string, { name: string; location: string; us: number }>();
  const areas = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gcUs += us;
    const path = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
    const location = frame.url === '' ? '' : `${path.startsWith(root) ? relative(root, path) : path}:${frame.lineNumber + 1}`;
    const name = frame.functionName || '(anonymous)';
    const key = `${name}@${location}`;
    const entry = functions.get(key) ?? { name, location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
    const area = areaOf(frame.url, frame.functionName, root);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const percent = (us: number) => (busyUs > 0 ? (100 * us) / busyUs : 0);
  return {
    file,
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    gcMs: gcUs / 1000,
    top: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topCount)
      .map((entry) => ({ name: entry.name, location: entry.location, selfMs: entry.us / 1000, percentOfBusy: percent(entry.us) })),
    byArea: [...areas.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([area, us]) => ({ area, selfMs: us / 1000, percentOfBusy: percent(us) })),
  };
}
