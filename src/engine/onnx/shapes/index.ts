/**
 * All shape rules in one registry, op type -> rule. Each family file holds the rules of related
 * ops; an op claimed by two families is a programming error caught at load.
 */
import { ShapeRule, ShapeRuleFamily } from './rule';
import { elementwiseRules } from './elementwise';
import { normalizationRules } from './normalization';
import { constantRules } from './constant';
import { shapeRules } from './shape';
import { linalgRules } from './linalg';
import { convRules } from './conv';
import { reduceRules } from './reduce';
import { resizeRules } from './resize';

const families: ShapeRuleFamily[] = [elementwiseRules, normalizationRules, constantRules, shapeRules, linalgRules, convRules, reduceRules, resizeRules];

export const SHAPE_RULES: ReadonlyMap<string, ShapeRule> = (() => {
  const m = new Map<string, ShapeRule>();
  for (const f of families) {
    for (const [op, rule] of Object.entries(f)) {
      if (m.has(op)) throw new Error(`duplicate shape rule for ${op}`);
      m.set(op, rule);
    }
  }
  return m;
})();
