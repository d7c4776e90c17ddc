/**
 * Who pinned what, and when. bpffs keeps no such record, so the server keeps
 * one in /run (cleared at reboot, like the pins themselves): one file per
 * pin, named by the pin's path, kind and kernel id, so servers pinning at once
 * never write the same file and need no lock. Each is written under a unique
 * temporary name and renamed into place. An entry whose pin is gone is
 * dropped (claimed by a rename first, and put back if the pin is there again
 * after all); one whose pin now names another object is ignored.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the record lives; EBPF_MCP_PIN_RECORD names another directory. */
const PIN_RECORD_DIR = process.env.EBPF_MCP_PIN_RECORD ?? '/run/ebpf-mcp/pins.d';

/** One pin's record. */
export interface PinRecord {
  kind: 'program' | 'map' | 'link';
  id: number;
  session: string;
  pinned_at: string;
}

/** A record entry as stored: the pin's path with its record. */
interface Entry extends PinRecord {
  path: string;
}

/** The record of pins made through this server. */
export class PinRegistry {
  constructor(private readonly dir = PIN_RECORD_DIR) {}

  private fileOf(path: string, kind: PinRecord['kind'], id: number): string {
    return join(this.dir, `${createHash('sha256').update(path).digest('hex').slice(0, 40)}-${kind}-${id}.json`);
  }

  private temporary(): string {
    return join(this.dir, `.${process.pid}-${randomUUID()}.tmp`);
  }

  /** Records a pin just made. */
  add(path: string, record: PinRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = this.temporary();
    writeFileSync(tmp, JSON.stringify({ path, ...record }), { flag: 'wx', mode: 0o600 });
    try {
      renameSync(tmp, this.fileOf(path, record.kind, record.id));
    } catch (e) {
      rmSync(tmp, { force: true });
      throw e;
    }
  }

  /** Forgets a pin that was removed (kept if a pin of the same object is at `path` again). */
  remove(path: string, kind: PinRecord['kind'], id: number): void {
    this.dropIfGone(this.fileOf(path, kind, id), path);
  }

  /** Removes the entry in `file` unless a pin is at `path`: claimed by a rename, so a fresh entry written meanwhile survives. */
  private dropIfGone(file: string, path: string): void {
    const claimed = this.temporary();
    try {
      renameSync(file, claimed);
    } catch {
      return;
    }
    if (existsSync(path)) {
      try {
        linkSync(claimed, file);
      } catch {
        // A newer entry took the name meanwhile: it stands.
      }
    }
    rmSync(claimed, { force: true });
  }

  private entries(): Entry[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith('.json'));
    } catch {
      return [];
    }
    const out: Entry[] = [];
    for (const name of names) {
      let entry: Entry;
      try {
        entry = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as Entry;
      } catch {
        continue;
      }
      if (existsSync(entry.path)) out.push(entry);
      else this.dropIfGone(join(this.dir, name), entry.path);
    }
    return out;
  }

  /** A lookup over the record as it is now: a pin's entry, if it still names the same object. */
  snapshot(): (path: string, kind: PinRecord['kind'], id: number) => PinRecord | undefined {
    const all = new Map(this.entries().map((e) => [`${e.kind}:${e.id}:${e.path}`, e]));
    return (path, kind, id) => {
      const e = all.get(`${kind}:${id}:${path}`);
      return e && { kind: e.kind, id: e.id, session: e.session, pinned_at: e.pinned_at };
    };
  }
}
