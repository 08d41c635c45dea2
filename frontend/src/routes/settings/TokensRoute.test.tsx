import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { SessionContext } from "../../api/sessionContext";
import { tokenStatus, TokensRoute } from "./TokensRoute";

describe("tokens", () => {
  it("derives a token's status", () => {
    const now = new Date("2026-06-01T00:00:00Z");
    expect(tokenStatus({ revokedAt: null, expiresAt: null }, now)).toBe("active");
    expect(tokenStatus({ revokedAt: "2026-01-01T00:00:00Z", expiresAt: null }, now)).toBe("revoked");
    expect(tokenStatus({ revokedAt: null, expiresAt: "2026-05-01T00:00:00Z" }, now)).toBe("expired");
  });

  it("shows viewers no controls", () => {
    render(
      <SessionContext.Provider value={{ name: "grafana", role: "viewer", csrfToken: "" }}>
        <TokensRoute />
      </SessionContext.Provider>,
    );
    expect(screen.getByText("Only admins manage API tokens.")).toBeTruthy();
    expect(screen.queryByRole("button")).toBeNull();
  });
});
