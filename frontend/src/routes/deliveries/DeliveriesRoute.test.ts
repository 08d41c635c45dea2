import { describe, expect, it } from "vitest";
import { outcomeCountVariables } from "../../api/deliveries";
import { deliveryWhere, parseDeliveryFilters } from "./DeliveriesRoute";

describe("deliveries", () => {
  it("read filters from the URL, ignoring unknown outcomes", () => {
    expect(parseDeliveryFilters(new URLSearchParams("outcome=bad_signature&remote=10."))).toEqual({ outcome: "bad_signature", remote: "10." });
    expect(parseDeliveryFilters(new URLSearchParams("outcome=exploded")).outcome).toBe("");
  });

  it("count each outcome with the other filters", () => {
    const where = deliveryWhere({ outcome: "duplicate", remote: "10." }, { from: new Date(0), to: null });
    const vars = outcomeCountVariables(where);
    expect(vars.bad_signature).toEqual({ remoteAddrHasPrefix: "10.", receivedAtGTE: "1970-01-01T00:00:00.000Z", outcome: "bad_signature" });
    expect(Object.keys(vars)).toHaveLength(9);
  });
});
