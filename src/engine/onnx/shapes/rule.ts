/**
 * The one vocabulary of shape rules (the forward twin of autodiff/rule.ts): a rule sees the node
 * and its inputs' facts through a ShapeContext and returns the facts of the node's outputs, in
 * output order. Dims may be symbolic (see ../dims.ts); small integer tensors carry their values
 * so that shape arithmetic (Shape -> Gather -> Mul -> Concat -> Reshape) stays known.
 */
import { Node } from '../ir';
import { DType } from '../tensor';
import { Dim } from '../dims';

export interface ValueFacts {
  dtype: DType;
  shape: Dim[] | null;
  /** Flattened element values of a small integer tensor, when known (dims may be symbolic). */
  value?: Dim[];
}

export type FactsMap = Map<string, ValueFacts>;

export interface ShapeContext {
  readonly node: Node;
  readonly opset: number;
  /** Facts of input i; undefined when the input is omitted ('') or unknown. */
  input(i: number): ValueFacts | undefined;
  /** Facts of input i; fails (engine/invalid_graph) when they are not known. */
  req(i: number): ValueFacts;
  /** Shape of input i (null: unknown rank); the input itself must be known. */
  shape(i: number): Dim[] | null;
  /** Rank of input i; fails when it is unknown. */
  rank(i: number): number;
  /** Values of input i when it is a small integer tensor with all values static. */
  constInts(i: number): number[] | undefined;
  /** Values of input i when it is a small constant float tensor (initializer or Constant). */
  constFloats(i: number): number[] | undefined;
}

export type ShapeRule = (ctx: ShapeContext) => ValueFacts[];

export type ShapeRuleFamily = Record<string, ShapeRule>;
