import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider, useLocation } from "react-router";
import { describe, expect, it } from "vitest";
import { TimeRangePicker } from "./TimeRangePicker";

function Search() {
  return <output data-testid="search">{useLocation().search}</output>;
}

function setup(url: string) {
  const router = createMemoryRouter(
    [
      {
        path: "/events",
        element: (
          <>
            <TimeRangePicker />
            <Search />
          </>
        ),
      },
    ],
    { initialEntries: [url] },
  );
  render(<RouterProvider router={router} />);
}

describe("TimeRangePicker", () => {
  it("shows the range from the URL and writes a new one, keeping other parameters", async () => {
    setup("/events?range=7d&topic=customer_created");
    const select = screen.getByRole<HTMLSelectElement>("combobox", { name: "Time range" });
    expect(select.value).toBe("7d");
    await userEvent.selectOptions(select, "1h");
    expect(screen.getByTestId("search").textContent).toBe("?topic=customer_created&range=1h");
  });

  it("applies a custom range as from and to", async () => {
    setup("/events");
    await userEvent.selectOptions(screen.getByRole("combobox", { name: "Time range" }), "custom");
    const from = screen.getByLabelText<HTMLInputElement>("From");
    const to = screen.getByLabelText<HTMLInputElement>("To");
    await userEvent.clear(from);
    await userEvent.type(from, "2026-01-01T00:00");
    await userEvent.clear(to);
    await userEvent.type(to, "2026-01-02T00:00");
    await userEvent.click(screen.getByRole("button", { name: "Apply" }));
    const params = new URLSearchParams(screen.getByTestId("search").textContent ?? "");
    expect(new Date(params.get("from") ?? "").getTime()).toBe(new Date("2026-01-01T00:00").getTime());
    expect(new Date(params.get("to") ?? "").getTime()).toBe(new Date("2026-01-02T00:00").getTime());
    expect(params.has("range")).toBe(false);
  });
});
