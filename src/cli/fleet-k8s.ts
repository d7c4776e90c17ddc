/**
 * A fleet's nodes from Kubernetes (--k8s-service NAMESPACE/NAME): the ready
 * endpoints of the DaemonSet's headless Service, read from its EndpointSlices
 * with @kubernetes/client-node, from the in-cluster service account or
 * KUBECONFIG (~/.kube/config). Each endpoint is one pod: its address and the
 * slice's port named "mcp" make the URL, its nodeName the node's name. This
 * module is loaded only in this mode (the client is large).
 */
import { DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { ConnectionError, UsageError } from './errors.js';
import type { FleetNode } from './fleet.js';

/** The port of the Service (and so of its EndpointSlices) the server listens on. */
export const MCP_PORT_NAME = 'mcp';

/** A DNS label or subdomain as Kubernetes names namespaces and Services. */
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The namespace and name of `NAMESPACE/NAME`. */
export function serviceRef(spec: string): { namespace: string; name: string } {
  const [namespace, name, ...more] = spec.split('/');
  if (!namespace || !name || more.length || !NAME.test(namespace) || !NAME.test(name)) {
    throw new UsageError(`--k8s-service takes NAMESPACE/NAME (a headless Service), not ${JSON.stringify(spec)}`);
  }
  return { namespace, name };
}

/** An address in a URL: IPv6 in brackets. */
const host = (address: string): string => (address.includes(':') ? `[${address}]` : address);

/** The ready endpoints of the Service `spec` as fleet nodes, in the order of their node names. */
export async function serviceNodes(spec: string, signal: AbortSignal): Promise<FleetNode[]> {
  const { namespace, name } = serviceRef(spec);
  const config = new KubeConfig();
  try {
    config.loadFromDefault();
  } catch (e) {
    throw new UsageError(`--k8s-service: no Kubernetes configuration (in-cluster or KUBECONFIG): ${(e as Error).message}`);
  }
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new UsageError('--k8s-service: no Kubernetes cluster configured (in-cluster or KUBECONFIG)');
  const api = config.makeApiClient(DiscoveryV1Api);
  let slices;
  try {
    slices = await Promise.race([
      api.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` }),
      new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true })),
    ]);
  } catch (e) {
    const code = (e as { code?: number }).code;
    const why = typeof code === 'number' ? `HTTP ${code}` : ((e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message);
    throw new ConnectionError(`--k8s-service ${namespace}/${name}: cannot list its EndpointSlices at ${cluster.server}: ${why}`);
  }
  const nodes = new Map<string, FleetNode>();
  for (const slice of slices.items) {
    const port = slice.ports?.find((p) => p.name === MCP_PORT_NAME)?.port;
    if (port === undefined || port === null) continue;
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      for (const address of ep.addresses) {
        const url = `http://${host(address)}:${port}/mcp`;
        nodes.set(url, { name: ep.nodeName ?? ep.targetRef?.name ?? address, url });
      }
    }
  }
  if (nodes.size === 0) throw new ConnectionError(`--k8s-service ${namespace}/${name}: no ready endpoint with a port named "${MCP_PORT_NAME}"`);
  return [...nodes.values()].sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
}
