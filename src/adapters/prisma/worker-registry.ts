/** The worker registry on Prisma (the Worker table): one row per worker process, upserted by its heartbeat. */
import type { PrismaClient } from '../../db/client';
import { CodedError } from '../../errors';
import type { ExecutionProvider, PackInfo } from '../../engine';
import type { WorkerInfo, WorkerRecord, WorkerRegistry } from '../../runs';

export class PrismaWorkerRegistry implements WorkerRegistry {
  constructor(private readonly prisma: PrismaClient, private readonly now: () => Date = () => new Date()) {}

  private async guard<T>(what: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw new CodedError('db/failed', `Database error in ${what}: ${(e as Error)?.message ?? String(e)}`);
    }
  }

  heartbeat(info: WorkerInfo, activeRuns: number): Promise<void> {
    const row = { host: info.host, pid: info.pid, provider: info.provider, packs: JSON.stringify(info.packs), capacity: info.capacity, activeRuns, heartbeatAt: this.now() };
    return this.guard('heartbeat', async () => {
      await this.prisma.worker.upsert({ where: { id: info.id }, create: { id: info.id, ...row, startedAt: row.heartbeatAt }, update: row });
    });
  }

  list(since?: Date): Promise<WorkerRecord[]> {
    return this.guard('list workers', async () => {
      const rows = await this.prisma.worker.findMany({ where: since ? { heartbeatAt: { gte: since } } : {}, orderBy: [{ startedAt: 'asc' }, { id: 'asc' }] });
      return rows.map((r) => ({
        id: r.id,
        host: r.host,
        pid: r.pid,
        provider: r.provider as ExecutionProvider,
        packs: JSON.parse(r.packs) as PackInfo[],
        capacity: r.capacity,
        activeRuns: r.activeRuns,
        startedAt: r.startedAt,
        heartbeatAt: r.heartbeatAt,
      }));
    });
  }

  remove(id: string): Promise<void> {
    return this.guard('remove worker', async () => {
      await this.prisma.worker.deleteMany({ where: { id } });
    });
  }

  prune(before: Date): Promise<number> {
    return this.guard('prune workers', async () => (await this.prisma.worker.deleteMany({ where: { heartbeatAt: { lt: before } } })).count);
  }
}
