// The schema GraphiQL shows, built from the same schema files the server
// was built from (the dashboard is embedded in that binary), so the
// playground needs no introspection query: the server's depth limit (12)
// refuses GraphiQL's standard one.
import { buildSchema, type GraphQLSchema } from "graphql";

const files = import.meta.glob<string>(["../../../../graph/*.graphqls", "../../../../graph/ent.graphql"], {
  query: "?raw",
  import: "default",
  eager: true,
});

/** The SDL of every schema file, in a stable order. */
export function schemaSDL(): string {
  return Object.keys(files)
    .sort()
    .map((name) => files[name] ?? "")
    .join("\n");
}

let cached: GraphQLSchema | null = null;

export function playgroundSchema(): GraphQLSchema {
  cached ??= buildSchema(schemaSDL(), { assumeValidSDL: true });
  return cached;
}
