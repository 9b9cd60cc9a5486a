/** Summarises the requests the sniffing proxy saw: which API versions each client used. */
import { ApiKey } from '../../../src/protocol/generated/api-keys.js';
import { WireClient } from '../../helpers/wire-client.js';
import type { SeenRequest } from './sniff-proxy.js';

export const API_NAMES = new Map<number, string>(Object.entries(ApiKey).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));

export interface NegotiationSummary {
  /** client id -> API name -> versions used */
  byClient: Map<string, Map<string, Set<number>>>;
  lines: string[];
  outOfRange: string[];
}

export async function summariseNegotiation(seen: SeenRequest[], brokerPort: number): Promise<NegotiationSummary> {
  const wire = await WireClient.connect(brokerPort);
  let ranges: Map<number, { minVersion: number; maxVersion: number }>;
  try {
    const response = await wire.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'interop', clientSoftwareVersion: '1' });
    ranges = new Map(response.apiKeys.map((a: { apiKey: number; minVersion: number; maxVersion: number }) => [a.apiKey, a]));
  } finally {
    wire.close();
  }
  const byClient = new Map<string, Map<string, Set<number>>>();
  const outOfRange = new Set<string>();
  for (const request of seen) {
    const client = request.clientId ?? '(null client id)';
    const name = API_NAMES.get(request.apiKey) ?? `api${request.apiKey}`;
    const apis = byClient.get(client) ?? new Map<string, Set<number>>();
    byClient.set(client, apis);
    const versions = apis.get(name) ?? new Set<number>();
    versions.add(request.apiVersion);
    apis.set(name, versions);
    const range = ranges.get(request.apiKey);
    // An ApiVersions request above our range is allowed (KIP-511); anything else must fit.
    if (request.apiKey !== ApiKey.ApiVersions && (range === undefined || request.apiVersion < range.minVersion || request.apiVersion > range.maxVersion)) {
      outOfRange.add(`${client}: ${name} v${request.apiVersion}`);
    }
  }
  const lines = [...byClient]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([client, apis]) => `${client}: ${[...apis].map(([name, versions]) => `${name} v${[...versions].sort((a, b) => a - b).join('/')}`).join(', ')}`);
  return { byClient, lines, outOfRange: [...outOfRange] };
}
