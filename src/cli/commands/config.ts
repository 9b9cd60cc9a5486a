/**
 * `tributary config print [--config FILE] [--json] [setting flags]`: the configuration `start` would
 * run with, given the same flags, environment and file, with where each value came from. The text
 * form is itself a valid configuration file (sources are comments); `--json` is for programs.
 */
import type { Command } from 'commander';
import { SETTINGS, describeSource, settingText, type ResolvedConfig } from '../../config.js';
import { escapePropertyValue } from '../../util/properties.js';
import { VERSION } from '../../version.js';
import { addSettingFlags, resolveCommandLineConfig } from './start.js';

/** The text form: for each setting a comment naming its source, then `name=value`. */
export function formatConfigText(resolved: ResolvedConfig): string {
  const lines = [`# Effective configuration of Tributary ${VERSION} (precedence: flag > environment > file > default)`];
  for (const setting of SETTINGS) {
    const source = resolved.sources[setting.key];
    const value = settingText(setting, resolved.config);
    const computed = source.kind === 'default' && setting.default === null && setting.defaultText !== undefined;
    const via = source.kind === 'file' && source.name !== setting.name ? ` (as ${source.name})` : '';
    lines.push(`# ${describeSource(source)}${via}${computed ? `: ${setting.defaultText}` : ''}`);
    lines.push(value === null ? `#${setting.name}=` : `${setting.name}=${escapePropertyValue(value)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The JSON form: `{ version, settings: { name: { value, source } } }` in table order. */
export function formatConfigJson(resolved: ResolvedConfig): string {
  const settings = Object.fromEntries(
    SETTINGS.map((setting) => [setting.name, { value: resolved.config[setting.key], source: describeSource(resolved.sources[setting.key]) }]),
  );
  return `${JSON.stringify({ version: VERSION, settings }, null, 2)}\n`;
}

export function registerConfigCommand(program: Command): void {
  const config = program.command('config').description('show the configuration');
  const print = config
    .command('print')
    .description('print the effective configuration (flags, environment, --config file, defaults) with the source of each value')
    .option('--json', 'print JSON instead of a configuration file');
  addSettingFlags(print).action(async (flags: { json?: boolean }, self: Command) => {
    const resolved = await resolveCommandLineConfig(self);
    for (const warning of resolved.warnings) process.stderr.write(`tributary: warning: ${warning}\n`);
    process.stdout.write(flags.json === true ? formatConfigJson(resolved) : formatConfigText(resolved));
  });
}
