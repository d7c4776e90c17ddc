/**
 * The server's MCP resources: documents a client may read without a tool
 * call. `ebpf://policy` is the policy in force for the session, the same as
 * info's `policy`; `ebpf://catalog` lists the catalog (info's `catalog`) and
 * `ebpf://catalog/<name>` is one entry's manifest (as inspect_state's `catalog`).
 */
import { ProtocolErrorCode, ResourceNotFoundError, type Server } from '@modelcontextprotocol/server';
import { CATALOG, type CatalogEntry } from '../catalog/index.js';
import type { Access } from '../policy/access.js';
import { policyView } from '../policy/policy-view.js';
import { catalogList, manifestOf } from '../tools/catalog-view.js';

/** One resource: its listing and how to read it now. */
interface Resource {
  uri: string;
  name: string;
  description: string;
  read: () => unknown;
}

/** Serves resources/list, resources/templates/list (none) and resources/read for `access`. */
export function serveResources(server: Server, access: Access): void {
  const resources: Resource[] = [
    {
      uri: 'ebpf://policy',
      name: 'policy',
      description: "This session's role, what it may and may not do, and the rules and limits in force",
      read: () => policyView(access),
    },
    {
      uri: 'ebpf://catalog',
      name: 'catalog',
      description: 'The bundled programs: each name and the question it answers',
      read: catalogList,
    },
    // Built when read: a manifest with variants says whether each one's hook works on this host now.
    ...(CATALOG as readonly CatalogEntry[]).map((e) => ({
      uri: `ebpf://catalog/${e.name}`,
      name: `catalog/${e.name}`,
      description: `${e.question}: its parameters and how to load and read it`,
      read: () => manifestOf(e),
    })),
  ];
  server.setRequestHandler('resources/list', async () => ({
    resources: resources.map(({ uri, name, description }) => ({ uri, name, description, mimeType: 'application/json' })),
  }));
  // Resources come with resources/templates/list; this server has no templates.
  server.setRequestHandler('resources/templates/list', async () => ({ resourceTemplates: [] }));
  server.setRequestHandler('resources/read', async (request) => {
    const resource = resources.find((r) => r.uri === request.params.uri);
    const uri = request.params.uri;
    // Invalid params with the URI asked for in `data.uri` (SEP-2164), on both protocol versions.
    if (!resource) throw new ResourceNotFoundError(uri.slice(0, 1024), `MCP error ${ProtocolErrorCode.InvalidParams}: no resource ${JSON.stringify(uri.slice(0, 200))}; resources: ${resources.map((r) => r.uri).join(', ')}`);
    return { contents: [{ uri: resource.uri, mimeType: 'application/json', text: JSON.stringify(resource.read(), null, 2) }] };
  });
}
