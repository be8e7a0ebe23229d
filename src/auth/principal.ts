/**
 * Who is calling: an API key's holder, the operator's environment key (API_TOKEN), or, while no
 * key was ever created, the anonymous local user of the open embedded default.
 */
export interface KeyLimits {
  /** translations per minute (token bucket refill) */
  readonly ratePerMinute: number;
  /** token bucket size */
  readonly burst: number;
  /** queued + running runs at once */
  readonly maxActive: number;
}

export interface Principal {
  /** 'key': a key from the database; 'operator': API_TOKEN; 'open': no key is configured */
  readonly kind: 'key' | 'operator' | 'open';
  /** the owner id runs are stored under: the key's id; null for the operator and the open mode */
  readonly ownerId: string | null;
  readonly name: string;
  /** sees and manages every run */
  readonly admin: boolean;
  readonly limits: KeyLimits;
}

/** Runs a principal may see: all for admins, else its own. */
export function canSee(p: Principal, run: { ownerId: string | null }): boolean {
  return p.admin || (p.ownerId !== null && run.ownerId === p.ownerId);
}

/** Turns a credential (an `Authorization` header value, or WebSocket connectionParams.authorization) into a principal. */
export interface Authenticator {
  /** throws CodedError 'auth/unauthenticated' for a missing, unknown or revoked key while keys are required */
  authenticate(authorization: unknown): Promise<Principal>;
  /** true while no key was ever created and no API_TOKEN is set: everyone is the open principal */
  isOpen(): Promise<boolean>;
}

/** In-process callers (tests, benches, the CLI): an admin without rate or active limits. */
export const SYSTEM_PRINCIPAL: Principal = {
  kind: 'operator',
  ownerId: null,
  name: 'system',
  admin: true,
  limits: { ratePerMinute: Infinity, burst: Infinity, maxActive: Infinity },
};
