/**
 * Admission control for translate, checked in this order before anything is written:
 *   quota/too_many_steps   steps x repeats over MAX_TOTAL_STEPS
 *   server/queue_full      MAX_QUEUED runs are queued service-wide
 *   quota/too_many_active  the key has maxActive runs queued or running
 *   quota/rate_limited     the key's token bucket is empty (details.retryAfterSeconds)
 * The rate limit is taken last, so a request refused for another reason costs no token. Keys'
 * buckets live in the database (shared by every instance); the open mode's in this process. The
 * operator's key (API_TOKEN) has no rate or active limit. Admission and the run's insert are
 * serialised per key in this process, so a burst cannot overshoot maxActive here.
 */
import { CodedError } from '../errors';
import type { Principal } from '../auth/principal';
import { type ApiKeyStore, refill } from '../auth/keys';
import type { RunStore } from '../runs';
import { KeyedMutex } from '../util/keyed-mutex';

export interface AdmissionLimits {
  maxTotalSteps: number;
  maxQueued: number;
}

export class Admission {
  private readonly mutex = new KeyedMutex();
  private openBucket: { tokens: number | null; refilledAt: Date | null } = { tokens: null, refilledAt: null };

  constructor(
    private readonly store: RunStore,
    private readonly keys: ApiKeyStore,
    private readonly limits: AdmissionLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The first check, before the image is even decoded. */
  checkSteps(totalSteps: number): void {
    if (totalSteps > this.limits.maxTotalSteps) {
      throw new CodedError('quota/too_many_steps', `steps x repeats = ${totalSteps} exceeds the limit of ${this.limits.maxTotalSteps} steps per run`, { totalSteps, limit: this.limits.maxTotalSteps });
    }
  }

  /** Refuses with the codes above, else runs `admitted` (the run's insert) under the key's lock. */
  async admit<T>(p: Principal, totalSteps: number, admitted: () => Promise<T>): Promise<T> {
    this.checkSteps(totalSteps);
    return this.mutex.run(p.ownerId ?? p.kind, async () => {
      const counts = await this.store.countsByStatus();
      if (counts.QUEUED >= this.limits.maxQueued) {
        throw new CodedError('server/queue_full', `the service has ${counts.QUEUED} queued runs (the limit is ${this.limits.maxQueued}); retry later`, { queued: counts.QUEUED, limit: this.limits.maxQueued });
      }
      if (p.kind !== 'operator') {
        const active = await this.store.countActive(p.ownerId);
        if (active >= p.limits.maxActive) {
          throw new CodedError('quota/too_many_active', `this key has ${active} runs queued or running (the limit is ${p.limits.maxActive}); wait for one to finish or cancel one`, { active, limit: p.limits.maxActive });
        }
        const take = await this.takeToken(p);
        if (!take.ok) {
          throw new CodedError('quota/rate_limited', `too many translations: at most ${p.limits.ratePerMinute} per minute (bursts of ${p.limits.burst}); retry in ${take.retryAfterSeconds} s`, {
            retryAfterSeconds: take.retryAfterSeconds,
            ratePerMinute: p.limits.ratePerMinute,
          });
        }
      }
      return admitted();
    });
  }

  private async takeToken(p: Principal) {
    if (p.kind === 'key' && p.ownerId) return this.keys.takeToken(p.ownerId, p.limits.ratePerMinute, p.limits.burst);
    const now = this.now();
    const { tokens, take } = refill(this.openBucket, p.limits.ratePerMinute, p.limits.burst, now);
    this.openBucket = { tokens, refilledAt: now };
    return take;
  }
}
