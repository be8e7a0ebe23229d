/**
 * A validation rule limiting selection depth (fragments followed), used on HTTP and WebSocket
 * operations alike.
 */
import { ASTVisitor, FragmentDefinitionNode, GraphQLError, Kind, SelectionSetNode, ValidationContext } from 'graphql';

export function depthLimit(max: number) {
  return (ctx: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of ctx.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const depthOf = (set: SelectionSetNode | undefined, depth: number, seen: Set<string>): number => {
      if (!set) return depth;
      let m = depth;
      for (const s of set.selections) {
        if (s.kind === Kind.FIELD) m = Math.max(m, depthOf(s.selectionSet, depth + 1, seen));
        else if (s.kind === Kind.INLINE_FRAGMENT) m = Math.max(m, depthOf(s.selectionSet, depth, seen));
        else {
          const f = fragments.get(s.name.value);
          if (f && !seen.has(f.name.value)) m = Math.max(m, depthOf(f.selectionSet, depth, new Set([...seen, f.name.value])));
        }
      }
      return m;
    };
    return {
      OperationDefinition(node) {
        const d = depthOf(node.selectionSet, 0, new Set());
        if (d > max) ctx.reportError(new GraphQLError(`query depth ${d} exceeds the limit of ${max}`, { nodes: [node] }));
      },
    };
  };
}
