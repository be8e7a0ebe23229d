/** One map op type -> rule from families of rules; an op claimed by two families is a programming error caught at load. */
export function ruleRegistry<R>(what: string, families: readonly Readonly<Record<string, R>>[]): ReadonlyMap<string, R> {
  const m = new Map<string, R>();
  for (const f of families) {
    for (const [op, rule] of Object.entries(f)) {
      if (m.has(op)) throw new Error(`duplicate ${what} rule for ${op}`);
      m.set(op, rule);
    }
  }
  return m;
}
