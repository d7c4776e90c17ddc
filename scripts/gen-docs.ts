/** Writes schemas/ and docs/TOOL_SPECS.md from the tool definitions with the default limits (`make schemas`). */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { allTools } from '../src/tools/registry.js';
import { renderSchemas, renderToolSpecs } from './tool-docs.js';

const schemaDir = join(PACKAGE_ROOT, 'schemas');
mkdirSync(schemaDir, { recursive: true });
const files = renderSchemas(allTools());
for (const stale of readdirSync(schemaDir)) if (!files.has(stale)) rmSync(join(schemaDir, stale));
for (const [name, text] of files) writeFileSync(join(schemaDir, name), text);
writeFileSync(join(PACKAGE_ROOT, 'docs', 'TOOL_SPECS.md'), renderToolSpecs(allTools()));
process.stderr.write(`wrote ${files.size} schemas and docs/TOOL_SPECS.md\n`);
