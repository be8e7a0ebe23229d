/**
 * All backward rules in one registry. Each family file holds rules for related ops.
 */
import { GradRule, RuleFamily } from './rule';
import { elementwiseRules } from './rules/elementwise';
import { linalgRules } from './rules/linalg';
import { convRules } from './rules/conv';
import { normalizationRules } from './rules/normalization';
import { shapeRules } from './rules/shape';
import { reduceRules } from './rules/reduce';

const families: RuleFamily[] = [elementwiseRules, linalgRules, convRules, normalizationRules, shapeRules, reduceRules];

export const GRAD_RULES: ReadonlyMap<string, GradRule> = (() => {
  const m = new Map<string, GradRule>();
  for (const f of families) {
    for (const [op, rule] of Object.entries(f)) {
      if (m.has(op)) throw new Error(`duplicate gradient rule for ${op}`);
      m.set(op, rule);
    }
  }
  return m;
})();

/**
 * Ops whose outputs carry no gradient (integer or boolean results, piecewise-constant functions):
 * activity stops at them, so a model's shape arithmetic never enters the backward pass.
 */
export const NON_DIFFERENTIABLE_OPS: ReadonlySet<string> = new Set([
  'Shape', 'Size', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor',
  'ArgMax', 'ArgMin', 'NonZero', 'ConstantOfShape', 'Constant', 'Range', 'Floor', 'Ceil', 'Round', 'Sign', 'IsNaN',
  'RandomNormal', 'RandomNormalLike', 'RandomUniform', 'RandomUniformLike', 'EyeLike',
]);

export function supportedOps(): string[] {
  return [...GRAD_RULES.keys()].sort();
}
