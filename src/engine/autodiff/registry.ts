/**
 * All backward rules in one registry. Each family file holds rules for related ops.
 */
import { ruleRegistry } from '../../util/rule-registry';
import { GradRule, RuleFamily } from './rule';
import { elementwiseRules } from './rules/elementwise';
import { linalgRules } from './rules/linalg';
import { convRules } from './rules/conv';
import { normalizationRules } from './rules/normalization';
import { shapeRules } from './rules/shape';
import { reduceRules } from './rules/reduce';

const families: RuleFamily[] = [elementwiseRules, linalgRules, convRules, normalizationRules, shapeRules, reduceRules];

export const GRAD_RULES: ReadonlyMap<string, GradRule> = ruleRegistry('gradient', families);

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
