import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderSchemas, renderToolSpecs } from '../../scripts/tool-docs.js';
import { PACKAGE_ROOT } from '../../src/paths.js';
import { inputJsonSchema, outputJsonSchema } from '../../src/tools/json-schema.js';
import { allTools } from '../../src/tools/registry.js';

const ALL_TOOLS = allTools();

test('schemas/ matches the tool definitions (run `make schemas` after changing a tool)', () => {
  const expected = renderSchemas(ALL_TOOLS);
  const dir = join(PACKAGE_ROOT, 'schemas');
  assert.deepEqual(readdirSync(dir).sort(), [...expected.keys()].sort());
  for (const [name, text] of expected) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `schemas/${name} drifted`);
});

test('docs/TOOL_SPECS.md matches the tool definitions (run `make schemas`)', () => {
  assert.equal(readFileSync(join(PACKAGE_ROOT, 'docs', 'TOOL_SPECS.md'), 'utf8'), renderToolSpecs(ALL_TOOLS));
});

test('every input schema is a closed object and every output schema covers success and error', () => {
  for (const tool of ALL_TOOLS) {
    const input = inputJsonSchema(tool);
    assert.equal(input.type, 'object', tool.name);
    assert.equal(input.additionalProperties, false, `${tool.name} input must refuse unknown fields`);
    const output = outputJsonSchema(tool);
    assert.equal(output.type, 'object');
    const [ok, failed] = output.oneOf as Record<string, any>[];
    assert.deepEqual(ok?.properties.success, { type: 'boolean', const: true });
    assert.deepEqual(failed?.required, ['success', 'tool_version', 'error']);
    assert.ok(failed?.properties.error.properties.type.enum.includes('VERIFIER_ERROR'));
    assert.ok(tool.description.length > 120, `${tool.name} needs a description a model can act on`);
  }
});
