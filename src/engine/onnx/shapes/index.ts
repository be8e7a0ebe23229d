/**
 * All shape rules in one registry, op type -> rule. Each family file holds the rules of related
 * ops; an op claimed by two families is a programming error caught at load.
 */
import { ruleRegistry } from '../../../util/rule-registry';
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

export const SHAPE_RULES: ReadonlyMap<string, ShapeRule> = ruleRegistry('shape', families);
