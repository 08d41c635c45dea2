import type { CodegenConfig } from "@graphql-codegen/cli";

// Types for the dashboard's operations, generated from the server's schema
// files (not from a running server), so `make generate` is reproducible.
// CODEGEN_SCHEMA_DIR points at another copy of graph/ (e.g. the committed
// one while the working tree holds someone's unfinished schema change).
const schemaDir = process.env.CODEGEN_SCHEMA_DIR ?? "graph";

const config: CodegenConfig = {
  schema: [`${schemaDir}/*.graphqls`, `${schemaDir}/ent.graphql`],
  documents: ["frontend/src/**/*.{ts,tsx}", "!frontend/src/gql/**/*"],
  ignoreNoDocuments: false,
  generates: {
    "frontend/src/gql/": {
      preset: "client",
      presetConfig: {
        fragmentMasking: false,
      },
      config: {
        useTypeImports: true,
        namingConvention: "keep",
        enumsAsTypes: true,
        onlyOperationTypes: true,
        skipTypename: false,
        defaultScalarType: "unknown",
        strictScalars: true,
        scalars: {
          Time: "string",
          Cursor: "string",
          Map: "Record<string, unknown>",
        },
      },
    },
  },
  hooks: {},
};

export default config;
