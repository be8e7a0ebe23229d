/**
 * The packs runs may ask for: this process's own (its embedded engine's, or the manifests in
 * MODELS_DIR of an API instance) and those the engine workers advertise. `packs()` is
 * synchronous (translate validates against it); `refresh()` re-reads the worker registry.
 */
import type { PackInfo } from '../engine';
import type { WorkerRecord, WorkerRegistry } from '../runs';
import { isAlive } from '../runs';

export class PackCatalog {
  private advertised: PackInfo[] = [];
  private workers: WorkerRecord[] = [];

  constructor(private readonly local: readonly PackInfo[], private readonly registry: WorkerRegistry) {}

  packs(): PackInfo[] {
    const byName = new Map<string, PackInfo>();
    for (const p of this.advertised) byName.set(p.name, p);
    for (const p of this.local) byName.set(p.name, p);
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The workers as last read, and the packs some live one serves. */
  liveWorkers(aliveMs: number, now = new Date()): WorkerRecord[] {
    return this.workers.filter((w) => isAlive(w, aliveMs, now));
  }

  servedPacks(aliveMs: number, now = new Date()): Set<string> {
    return new Set(this.liveWorkers(aliveMs, now).flatMap((w) => w.packs.map((p) => p.name)));
  }

  allWorkers(): readonly WorkerRecord[] {
    return this.workers;
  }

  async refresh(): Promise<void> {
    this.workers = await this.registry.list();
    this.advertised = this.workers.flatMap((w) => w.packs);
  }
}
