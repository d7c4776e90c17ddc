/**
 * The kernel memory a map may take, estimated from its spec before it is
 * created. Maps made by root are charged to no memory limit, and the kernel
 * allocates array and preallocated hash maps whole at creation (a huge one
 * stalls the CPU for minutes), so the policy bounds this estimate first.
 */
import { possibleCpus } from './cpus.js';

/** What the estimate needs of a map. */
export interface MapShape {
  typeName: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

/** Per-CPU map types: one value slot per possible CPU. */
const PER_CPU = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
/** Map types whose max_entries is a size in bytes (ring buffers) or in pages (arena). */
const BYTES = new Set(['ringbuf', 'user_ringbuf']);
const PAGES = new Set(['arena']);
/** Local-storage types: allocated per owning object, never up front; max_entries must be 0. */
const LOCAL_STORAGE = new Set(['sk_storage', 'inode_storage', 'task_storage', 'cgrp_storage']);

const round8 = (n: number): number => Math.ceil(n / 8) * 8;

/** Upper estimate of the bytes a map takes once full (a float: hostile specs can pass 2^53). */
export function mapMemoryBytes(map: MapShape): number {
  if (BYTES.has(map.typeName)) return map.maxEntries;
  if (PAGES.has(map.typeName)) return map.maxEntries * 4096;
  if (LOCAL_STORAGE.has(map.typeName)) return 0;
  const slots = PER_CPU.has(map.typeName) ? possibleCpus().length : 1;
  return map.maxEntries * (round8(map.keySize) + round8(map.valueSize) * slots);
}
