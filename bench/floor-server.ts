/**
 * The footprint benchmark's floor: an MCP server over stdio with nothing of
 * ours, only Node, the MCP SDK and zod (which the SDK imports), answering
 * initialize and an empty tools/list. `make bench-build` bundles it the way
 * the real server is bundled, so the two start alike up to our code.
 */
import { Server } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';

serveStdio(() => {
  const server = new Server({ name: 'floor', version: '0.0.0' }, { capabilities: { tools: { listChanged: false } } });
  server.setRequestHandler('tools/list', async () => ({ tools: [] }));
  return server;
});
