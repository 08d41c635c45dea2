import { describe, expect, it } from "vitest";
import { newDefinitionTemplate, parseDefinitionInput, specToInputText } from "./DefinitionEditor";

describe("definition editor", () => {
  it("drops the server-kept version from the spec", () => {
    expect(JSON.parse(specToInputText({ key: "k", version: 3 }))).toEqual({ key: "k" });
  });

  it("accepts the template and explains what is wrong otherwise", () => {
    expect("input" in parseDefinitionInput(newDefinitionTemplate)).toBe(true);
    expect(parseDefinitionInput("{")).toMatchObject({ error: expect.stringContaining("Not valid JSON") as unknown });
    expect(parseDefinitionInput("[]")).toEqual({ error: "The definition must be a JSON object." });
    expect(parseDefinitionInput('{"key":"a","name":"b","abandonAfter":"1d"}')).toEqual({ error: '"steps" must be a list.' });
  });
});
