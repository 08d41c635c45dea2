import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/errors";
import { EmptyState, ErrorState, Loading } from "./States";

describe("states", () => {
  it("shows the server's message, code and request id, and retries", async () => {
    const retry = vi.fn();
    render(<ErrorState error={new ApiError("internal error", { status: 500, code: "INTERNAL", requestId: "req-9" })} onRetry={retry} />);
    expect(screen.getByRole("alert").textContent).toContain("internal error");
    expect(screen.getByTestId("request-id").textContent).toBe("req-9");
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));
    expect(retry).toHaveBeenCalledOnce();
  });

  it("announces loading and shows empty states", () => {
    render(
      <>
        <Loading label="Loading events…" />
        <EmptyState title="Nothing here." />
      </>,
    );
    expect(screen.getByRole("status").textContent).toContain("Loading events…");
    expect(screen.getByText("Nothing here.")).toBeTruthy();
  });
});
