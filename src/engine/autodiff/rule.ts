/**
 * The one vocabulary of backward rules (after ONNX Runtime training's gradient builders):
 * a rule sees the forward node's inputs and outputs, the gradients of its outputs, and which
 * inputs need gradients; it returns the gradients of its inputs. A rule may return a gradient
 * shaped like a broadcast of the input: the framework reduces broadcasting in one place
 * (see unbroadcast in vjp.ts), so rules never do.
 */
import { GraphBuilder } from '../onnx/builder';
import { Node } from '../onnx/ir';
import { Dim } from '../onnx/dims';

export interface GradContext {
  readonly b: GraphBuilder;
  readonly node: Node;
  /** Forward input i (name). */
  input(i: number): string;
  /** Forward output i (name). */
  output(i: number): string;
  /** Gradient of output i, or null when no gradient flows into it (it is zero). */
  gradOutput(i: number): string | null;
  /** Gradient of output i, materialising zeros when none flows into it. */
  gradOutputOrZeros(i: number): string;
  /** Whether input i needs a gradient. */
  needsGrad(i: number): boolean;
  /** The forward node producing `name`, if any. */
  producer(name: string): Node | undefined;
  /** How many forward nodes read `name` (graph outputs count as readers). */
  readers(name: string): number;
  shape(name: string): Dim[];
  rank(name: string): number;
}

/** Gradients per forward input; null/undefined where none is needed or it is identically zero. */
export type GradResult = (string | null | undefined)[];

export type GradRule = (ctx: GradContext) => GradResult;

export type RuleFamily = Record<string, GradRule>;
