/**
 * GraphQL Code Generator (client preset): typed documents for the named operations of
 * client-examples/operations.graphql and of the web app (web/app/src/**\/*.graphql, if any),
 * against the committed schema/schema.graphql, into web/shared/gql/ (committed).
 *
 *   npm run codegen
 *
 * test/codegen.test.ts generates into a temp folder with {@link codegenConfig} and fails when the
 * committed output differs (the schema or an operation changed without `npm run codegen`).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

export const GENERATED_DIR = 'web/shared/gql/';

/**
 * The configuration, writing to `out` (a folder, ending in '/'); the inputs are read under `root`
 * (the repository root; default: the working directory, as for the CLI).
 */
export function codegenConfig(out: string = GENERATED_DIR, root = ''): CodegenConfig {
  const at = (p: string) => (root ? `${root.replace(/\/+$/, '')}/${p}` : p);
  return {
    overwrite: true,
    silent: true,
    schema: at('schema/schema.graphql'),
    documents: [at('client-examples/operations.graphql'), at('web/app/src/**/*.graphql')],
    // the web app may have no operations of its own yet
    ignoreNoDocuments: true,
    generates: {
      [out]: {
        preset: 'client',
        presetConfig: { fragmentMasking: false },
        config: {
          useTypeImports: true,
          enumsAsTypes: true,
          skipTypename: true,
          scalars: {
            DateTimeISO: 'string',
            // graphql-scalars parses a string or a number, and sends safe integers (every seed) as
            // JSON numbers, larger ones as strings
            BigInt: { input: 'string | number', output: 'number | string' },
            Upload: { input: 'File | Blob', output: 'never' },
          },
        },
      },
    },
  };
}

export default codegenConfig();
