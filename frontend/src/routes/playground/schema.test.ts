import { describe, expect, it } from "vitest";
import { playgroundSchema, schemaSDL } from "./schema";

describe("playground schema", () => {
  it("is built from every schema file, extensions included", () => {
    expect(schemaSDL()).toContain("type Subscription");
    const schema = playgroundSchema();
    expect(schema.getQueryType()?.getFields().events).toBeTruthy();
    expect(schema.getQueryType()?.getFields().topics).toBeTruthy();
    expect(schema.getSubscriptionType()?.getFields().eventReceived).toBeTruthy();
    expect(schema.getMutationType()?.getFields().createAPIToken).toBeTruthy();
  });
});
