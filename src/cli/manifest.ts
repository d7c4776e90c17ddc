/** Catalog manifests as the server serves them (ebpf://catalog and ebpf://catalog/<name>). */
import type { Session } from './connection.js';
import { UsageError } from './errors.js';

/** One catalog entry in brief. */
export interface CatalogBrief {
  name: string;
  question: string;
}

/** A parameter's JSON Schema, as far as the CLI reads it. */
export interface ParameterSchema {
  type?: string | string[];
  description?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  anyOf?: ParameterSchema[];
}

/** One entry's manifest: what it answers, its parameters, and where its answer is read. */
export interface Manifest {
  name: string;
  object: string;
  question: string;
  parameters: { properties?: Record<string, ParameterSchema> };
  /** A ring buffer's name, or a map's name and the shape of its answer. */
  read: { buffer: string } | { map: string; shape: 'histogram' | 'counts' | 'stacks' };
  attach: string;
  how: string[];
}

/** Every entry in brief. */
export async function catalogList(session: Session): Promise<CatalogBrief[]> {
  return JSON.parse(await session.resource('ebpf://catalog')) as CatalogBrief[];
}

/** The manifest of entry `name`; a name the catalog does not have is a usage error listing those it has. */
export async function manifest(session: Session, name: string): Promise<Manifest> {
  const names = (await catalogList(session)).map((e) => e.name);
  if (!names.includes(name)) throw new UsageError(`no catalog entry ${JSON.stringify(name)}; entries: ${names.join(', ')}`);
  return JSON.parse(await session.resource(`ebpf://catalog/${name}`)) as Manifest;
}
