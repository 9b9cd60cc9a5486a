/**
 * `npm run codegen`: regenerates src/protocol/generated from Kafka's message schemas.
 *
 * Usage: node dist/tools/codegen/main.js [schemaDir]
 * The schema folder defaults to `<repo>/../shared/kafka-protocol`. Files in the output folder that the
 * generator no longer produces are removed, so the folder always equals `generate()`'s result.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from './generate.js';

// Compiled to <repo>/dist/tools/codegen/main.js.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const schemaDir = resolve(process.argv[2] ?? join(repoRoot, '..', 'shared', 'kafka-protocol'));
const outputDir = join(repoRoot, 'src', 'protocol', 'generated');

const files = generate(schemaDir);
mkdirSync(outputDir, { recursive: true });
let written = 0;
for (const [name, content] of files) {
  const path = join(outputDir, name);
  let current: string | null = null;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = null;
  }
  if (current !== content) {
    writeFileSync(path, content);
    written++;
  }
}
let removed = 0;
for (const name of readdirSync(outputDir)) {
  if (!files.has(name)) {
    rmSync(join(outputDir, name), { recursive: true, force: true });
    removed++;
  }
}
console.log(`codegen: ${files.size} files from ${schemaDir} -> ${outputDir} (${written} written, ${removed} removed)`);
