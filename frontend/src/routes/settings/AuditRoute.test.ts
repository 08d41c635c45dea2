import { describe, expect, it } from "vitest";
import { auditWhere } from "./AuditRoute";

describe("audit filters", () => {
  it("match the actor exactly and the action by prefix", () => {
    expect(auditWhere(new URLSearchParams("actor=ops&action=token."))).toEqual({ actor: "ops", actionHasPrefix: "token." });
    expect(auditWhere(new URLSearchParams(""))).toEqual({});
  });
});
