/**
 * The query limits, one list for both transports: Apollo's validationRules (HTTP) and graphql-ws's
 * `validate` (WebSocket) run the same {@link queryLimitRules}; the token limit runs before any
 * parse on both ({@link tokenLimitError}: {@link tokenLimitMiddleware} before Apollo, graphql-ws's
 * onSubscribe).
 *
 * - tokens (MAX_QUERY_TOKENS): lexical tokens of the document, counted while lexing and stopped at
 *   the first one over the limit, so a huge document is refused before any AST is built;
 * - aliases (MAX_ALIASES), depth (MAX_QUERY_DEPTH), directives (MAX_DIRECTIVES): GraphQL Armor's
 *   rules, with their refusal turned into our code;
 * - cost (MAX_QUERY_COST): {@link costLimitRule}, every field 1, list fields weighted by their
 *   page size;
 * - introspection (INTROSPECTION=0): {@link noIntrospectionRule}.
 *
 * Every refusal is a GraphQL error with extensions { code: 'query/too_complex' (or
 * 'query/introspection_disabled'), limit, max, found } and a message naming the limit, the numbers
 * and the variable that sets it. __schema and __type count for neither depth nor cost (the
 * standard introspection query is 15 deep): while introspection is off they are refused anyway,
 * while it is on graphql-js's own MaxIntrospectionDepthRule (a specified rule, run on both
 * transports) bounds their fan-out and the token limit their size.
 */
import {
  ASTVisitor,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLError,
  GraphQLFormattedError,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  Kind,
  Lexer,
  SelectionSetNode,
  Source,
  TokenKind,
  ValidationContext,
  ValidationRule,
  getNamedType,
  getNullableType,
  isInterfaceType,
  isListType,
  isObjectType,
  valueFromAST,
} from 'graphql';
import type express from 'express';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { ErrorCode } from '../errors';
import { INTROSPECTION_DISABLED_MESSAGE } from '../resolvers/errors';
import { sendGraphQLError } from './request-errors';

export const TOO_COMPLEX: ErrorCode = 'query/too_complex';
export const INTROSPECTION_DISABLED: ErrorCode = 'query/introspection_disabled';

export interface QueryLimits {
  maxAliases: number;
  maxDepth: number;
  maxCost: number;
  maxTokens: number;
  maxDirectives: number;
  introspection: boolean;
  /** the largest page a list argument (first/last) may ask for: what a variable page size counts as */
  maxPageSize: number;
}

type Limit = 'tokens' | 'aliases' | 'depth' | 'cost' | 'directives';

const VARIABLE: Record<Limit, string> = {
  tokens: 'MAX_QUERY_TOKENS',
  aliases: 'MAX_ALIASES',
  depth: 'MAX_QUERY_DEPTH',
  cost: 'MAX_QUERY_COST',
  directives: 'MAX_DIRECTIVES',
};

const NOUN: Record<Limit, (n: string) => string> = {
  tokens: (n) => `${n} tokens`,
  aliases: (n) => `${n} aliases`,
  depth: (n) => `depth ${n}`,
  cost: (n) => `cost ${n}`,
  directives: (n) => `${n} directives`,
};

/** The refusal of one limit: code query/too_complex, the numbers in the message and in the extensions. */
export function tooComplex(limit: Limit, max: number, found: number | undefined): GraphQLError {
  const what = NOUN[limit](found === undefined ? `more than ${max}` : `${found}`);
  const hint = limit === 'cost' ? '; every field costs 1, a list field once per item of its page (first/last; a variable counts as the largest page)' : '';
  return new GraphQLError(`query too complex: ${what}, the limit is ${max} (${VARIABLE[limit]}${hint})`, {
    extensions: { code: TOO_COMPLEX, limit, max, ...(found === undefined ? {} : { found }) },
  });
}

/**
 * The token limit, before parsing: lexes at most max + 1 tokens (graphql's lexer, the parser's
 * count: comments excluded). A document the lexer cannot read is left to the parser's own error.
 */
export function tokenLimitError(source: string, max: number): GraphQLError | undefined {
  const lexer = new Lexer(new Source(source));
  let n = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++n > max) return tooComplex('tokens', max, undefined);
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Armor's rules report here instead of throwing: one coded error per refused operation. */
function armorReport(limit: Limit, max: number) {
  return {
    propagateOnRejection: false,
    exposeLimits: true,
    onReject: [
      (ctx: ValidationContext | null, err: GraphQLError) => {
        const found = /found (\d+)/.exec(err.message);
        ctx?.reportError(tooComplex(limit, max, found ? Number(found[1]) : undefined));
      },
    ],
  };
}

/** __schema and __type are refused while introspection is off; __typename stays allowed. */
export function noIntrospectionRule(ctx: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        ctx.reportError(
          new GraphQLError(INTROSPECTION_DISABLED_MESSAGE, {
            nodes: [node],
            extensions: { code: INTROSPECTION_DISABLED },
          }),
        );
      }
    },
  };
}

const PAGE_ARGS = ['first', 'last'];
/** what a list field without a page-size argument counts as (packs, workers: a handful each) */
export const UNPAGED_LIST_WEIGHT = 10;

/**
 * The cost of an operation: every field costs 1, plus its selection; a list field counts its
 * selection once per item: the page size asked for by its own or its parent's `first`/`last`
 * argument (a connection's `edges`), a literal or the argument's default; a variable counts as
 * the largest page (the value is not known while validating, and validation is cached per
 * document); a list without a page-size argument counts UNPAGED_LIST_WEIGHT items. Fragments are
 * followed (memoised per fragment, so spreading a fragment many times costs no extra time here).
 */
export function costLimitRule(maxCost: number, opts: { maxPageSize: number; ignoreIntrospection: boolean }): ValidationRule {
  return (ctx: ValidationContext): ASTVisitor => {
    const schema = ctx.getSchema();
    const memo = new Map<string, number>();
    const pageSizeOf = (node: FieldNode, def: GraphQLField<unknown, unknown>): number | undefined => {
      for (const name of PAGE_ARGS) {
        const argDef = def.args.find((a) => a.name === name);
        if (!argDef) continue;
        const arg = node.arguments?.find((a) => a.name.value === name);
        let n: unknown;
        if (!arg) n = argDef.defaultValue;
        else if (arg.value.kind === Kind.VARIABLE) n = opts.maxPageSize;
        else n = valueFromAST(arg.value, argDef.type);
        if (typeof n === 'number' && Number.isFinite(n)) return Math.min(Math.max(1, Math.floor(n)), opts.maxPageSize);
        return undefined;
      }
      return undefined;
    };
    const setCost = (set: SelectionSetNode, parent: GraphQLNamedType | undefined, pageSize: number | undefined, path: Set<string>): number => {
      let total = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          total += fieldCost(sel, parent, pageSize, path);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const t = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) ?? undefined : parent;
          total += setCost(sel.selectionSet, t, pageSize, path);
        } else {
          const name = sel.name.value;
          const key = `${name}:${pageSize ?? ''}`;
          if (path.has(name)) continue; // a cycle: NoFragmentCyclesRule reports it
          let c = memo.get(key);
          if (c === undefined) {
            const f: FragmentDefinitionNode | undefined | null = ctx.getFragment(name);
            c = f ? setCost(f.selectionSet, schema.getType(f.typeCondition.name.value) ?? undefined, pageSize, new Set([...path, name])) : 0;
            memo.set(key, c);
          }
          total += c;
        }
      }
      return total;
    };
    const fieldCost = (node: FieldNode, parent: GraphQLNamedType | undefined, parentPageSize: number | undefined, path: Set<string>): number => {
      const name = node.name.value;
      if (opts.ignoreIntrospection && (name === '__schema' || name === '__type')) return 0;
      const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
      if (!def) return 1; // __typename, or an unknown field (FieldsOnCorrectTypeRule reports it)
      const own = pageSizeOf(node, def);
      const isList = isListType(getNullableType(def.type));
      const items = isList ? (own ?? parentPageSize ?? UNPAGED_LIST_WEIGHT) : 1;
      const children = node.selectionSet ? setCost(node.selectionSet, getNamedType(def.type), isList ? undefined : own, path) : 0;
      return 1 + items * children + (isList && !node.selectionSet ? items - 1 : 0);
    };
    return {
      OperationDefinition(node) {
        const root = rootType(schema, node.operation);
        const cost = Math.ceil(setCost(node.selectionSet, root, undefined, new Set()));
        if (cost > maxCost) ctx.reportError(tooComplex('cost', maxCost, cost));
      },
    };
  };
}

function rootType(schema: GraphQLSchema, op: 'query' | 'mutation' | 'subscription'): GraphQLNamedType | undefined {
  return (op === 'query' ? schema.getQueryType() : op === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType()) ?? undefined;
}

/** The one list of validation rules both transports run (beyond graphql's specified rules). */
export function queryLimitRules(l: QueryLimits): ValidationRule[] {
  return [
    ...(l.introspection ? [] : [noIntrospectionRule]),
    maxAliasesRule({ n: l.maxAliases, ...armorReport('aliases', l.maxAliases) }) as unknown as ValidationRule,
    maxDepthRule({ n: l.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...armorReport('depth', l.maxDepth) }) as unknown as ValidationRule,
    maxDirectivesRule({ n: l.maxDirectives, ...armorReport('directives', l.maxDirectives) }) as unknown as ValidationRule,
    costLimitRule(l.maxCost, { maxPageSize: l.maxPageSize, ignoreIntrospection: true }),
  ];
}

const LIMIT_CODES: readonly unknown[] = [TOO_COMPLEX, INTROSPECTION_DISABLED];

/**
 * A limit's refusal first, on both transports (graphql's specified rules run before ours, and a
 * query over a limit may break one of them too, e.g. 16 aliased subscription fields).
 */
export function limitsFirst<E extends { extensions?: { code?: unknown } }>(errors: readonly E[]): E[] {
  const isLimit = (e: E) => LIMIT_CODES.includes(e.extensions?.code);
  return [...errors.filter(isLimit), ...errors.filter((e) => !isLimit(e))];
}

/** "Did you mean ...?" names schema members: dropped while introspection is off (as Apollo's hideSchemaDetailsFromClientErrors does). */
export function withoutSuggestions(message: string): string {
  return message.replace(/ ?Did you mean(.+?)\?$/, '');
}

/**
 * The token limit on HTTP, before Apollo parses: the query of a JSON or multipart POST body, or of
 * a GET's search string (Apollo's parseOptions.maxTokens is the same number, a backstop; an
 * error a plugin throws before parsing would reach the client as an internal error).
 */
export function tokenLimitMiddleware(maxTokens: number): express.RequestHandler {
  return (req, res, next) => {
    const body: unknown = req.body;
    const query = req.method === 'GET' ? req.query.query : body && typeof body === 'object' && !Array.isArray(body) ? (body as { query?: unknown }).query : undefined;
    const e = typeof query === 'string' ? tokenLimitError(query, maxTokens) : undefined;
    if (!e) return next();
    sendGraphQLError(res, 400, TOO_COMPLEX, e.message, { limit: 'tokens', max: maxTokens });
  };
}

/**
 * The part of Apollo's plugin API used here, written out: http/ does not import @apollo/server
 * (the layer lint's `server` pattern takes it for src/server.ts). app.ts hands it to Apollo,
 * which checks it against ApolloServerPlugin.
 */
export interface ApolloPluginPart {
  requestDidStart(): Promise<{
    didResolveOperation(rc: { operation?: { operation: string } | null }): Promise<void>;
    willSendResponse(rc: { response: { body: { kind: 'single'; singleResult: { errors?: readonly GraphQLFormattedError[] } } | { kind: 'incremental' } } }): Promise<void>;
  }>;
}

/**
 * Apollo's side of the limits: subscriptions refused with query/wrong_transport (they go over
 * WebSocket), and identical errors reported once (Apollo's own introspection rule and ours both
 * refuse __schema while introspection is off).
 */
export function queryLimitsPlugin(): ApolloPluginPart {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(rc) {
          if (rc.operation?.operation === 'subscription') {
            throw new GraphQLError('subscriptions run over WebSocket (graphql-ws, the same /graphql path), not over HTTP', {
              extensions: { code: 'query/wrong_transport', http: { status: 400 } },
            });
          }
        },
        async willSendResponse(rc) {
          const body = rc.response.body;
          if (body.kind !== 'single' || !body.singleResult.errors) return;
          const seen = new Set<string>();
          const errors = limitsFirst(body.singleResult.errors).filter((e) => {
            const k = JSON.stringify([e.message, e.extensions?.code, e.locations]);
            if (seen.has(k)) return false;
            seen.add(k);
            return true;
          });
          body.singleResult = { ...body.singleResult, errors };
        },
      };
    },
  };
}
