/**
 * `tributary cluster info`: cluster id, controller, brokers, topic and partition counts, and with
 * --api-versions the APIs the bootstrap broker offers next to the versions this client would use.
 */
import { Command } from 'commander';
import { apiDefinition } from '../../protocol/generated/api-keys.js';
import { CLIENT_APIS } from '../../client/apis.js';
import { describeCluster } from '../../client/admin.js';
import { addConnectionOptions, withClient, type ConnectionFlags } from '../brokers.js';
import { EXIT_CODES_HELP, action, print, printJson, renderFields, renderTable, usageExitCodes } from '../output.js';

interface InfoFlags extends ConnectionFlags {
  apiVersions?: boolean;
  json?: boolean;
}

async function runInfo(flags: InfoFlags): Promise<void> {
  await withClient(flags, async (client) => {
    const cluster = await describeCluster(client);
    const metadata = await client.retry('listing topics', () => client.refreshMetadata(null));
    const topics = [...metadata.topics.values()];
    const internal = topics.filter((t) => t.isInternal).length;
    const partitions = topics.reduce((sum, t) => sum + t.partitions.length, 0);
    const connection = await client.anyConnection();
    const clientApis = new Map(CLIENT_APIS.map((api) => [api.apiKey, api]));
    const apis = [...connection.apiVersions]
      .sort(([a], [b]) => a - b)
      .map(([apiKey, range]) => {
        const ours = clientApis.get(apiKey);
        let used: number | null = null;
        if (ours !== undefined && connection.supports(ours)) used = connection.versionFor(ours);
        return {
          apiKey,
          name: apiDefinition(apiKey)?.name ?? `api-${apiKey}`,
          minVersion: range.min,
          maxVersion: range.max,
          clientVersions: ours === undefined ? null : `${ours.minVersion}-${ours.maxVersion}`,
          usedVersion: used,
        };
      });
    if (flags.json) {
      printJson({
        clusterId: cluster.clusterId,
        controllerId: cluster.controllerId,
        brokers: cluster.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
        topics: topics.length - internal,
        internalTopics: internal,
        partitions,
        ...(flags.apiVersions ? { bootstrapBroker: connection.label, apiVersions: apis } : {}),
      });
      return;
    }
    const sections = [
      renderFields([
        ['CLUSTER', cluster.clusterId ?? '-'],
        ['CONTROLLER', cluster.controllerId < 0 ? '-' : cluster.controllerId],
        ['BROKERS', cluster.brokers.length],
        ['TOPICS', `${topics.length - internal}${internal > 0 ? ` (+${internal} internal)` : ''}`],
        ['PARTITIONS', partitions],
      ]),
      renderTable(
        ['ID', 'HOST', 'PORT', 'RACK'],
        cluster.brokers.map((b) => [`${b.nodeId}${b.nodeId === cluster.controllerId ? '*' : ''}`, b.host, b.port, b.rack]),
      ),
    ];
    if (flags.apiVersions) {
      sections.push(
        `API versions of ${connection.label} (USED: the version tributary speaks to it):\n` +
          renderTable(
            ['KEY', 'API', 'BROKER', 'CLIENT', 'USED'],
            apis.map((a) => [a.apiKey, a.name, `${a.minVersion}-${a.maxVersion}`, a.clientVersions, a.usedVersion]),
          ),
      );
    }
    print(sections.join('\n\n'));
  });
}

export function registerClusterCommand(program: Command): void {
  const cluster = usageExitCodes(new Command('cluster'))
    .description('show the cluster: id, controller, brokers, topics, API versions')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\nExamples:\n  $ tributary cluster info\n  $ tributary cluster info --api-versions\n${EXIT_CODES_HELP}`);
  program.addCommand(cluster);
  addConnectionOptions(
    cluster
      .command('info')
      .description('cluster id, controller (*), brokers, topic and partition counts')
      .option('--api-versions', "also list the bootstrap broker's API versions")
      .option('--json', 'print the information as JSON'),
  ).action(action(runInfo));
}
