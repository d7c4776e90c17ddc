/**
 * Who pinned what, and when. bpffs keeps no such record, so the server keeps
 * one in /run (cleared at reboot, like the pins themselves). Entries whose
 * pin is gone are dropped at the next write; one whose pin now names another
 * object is ignored.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where the record lives. */
const PIN_REGISTRY = '/run/ebpf-mcp/pins.json';

/** One pin's record. */
export interface PinRecord {
  kind: 'program' | 'map' | 'link';
  id: number;
  session: string;
  pinned_at: string;
}

function read(file: string): Record<string, PinRecord> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, PinRecord>;
  } catch {
    return {};
  }
}

/** The record of pins made through this server. */
export class PinRegistry {
  constructor(private readonly file = PIN_REGISTRY) {}

  /** Records a pin just made. */
  add(path: string, record: PinRecord): void {
    this.write({ ...read(this.file), [path]: record });
  }

  /** Forgets a pin that was removed. */
  remove(path: string): void {
    const all = read(this.file);
    delete all[path];
    this.write(all);
  }

  /** Writes the record atomically, keeping only pins that still exist. */
  private write(all: Record<string, PinRecord>): void {
    const live = Object.fromEntries(Object.entries(all).filter(([path]) => existsSync(path)));
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    writeFileSync(this.file + '.tmp', JSON.stringify(live, null, 1));
    renameSync(this.file + '.tmp', this.file);
  }

  /** A lookup over the record as it is now: a pin's entry, if it still names the same object. */
  snapshot(): (path: string, kind: PinRecord['kind'], id: number) => PinRecord | undefined {
    const all = read(this.file);
    return (path, kind, id) => {
      const r = all[path];
      return r && r.kind === kind && r.id === id ? r : undefined;
    };
  }
}
