import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { JsonTree } from "./JsonTree";

describe("JsonTree", () => {
  it("shows keys and values, with nested branches collapsible", () => {
    const { container } = render(
      <JsonTree label="Payload" value={{ id: "abc", n: 3, ok: true, none: null, _links: { self: { href: "https://x" } }, list: [1, 2] }} />,
    );
    expect(screen.getByRole("group", { name: "Payload" })).toBeTruthy();
    expect(container.textContent).toContain('"id": "abc"');
    expect(container.textContent).toContain('"href": "https://x"');
    expect(container.textContent).toContain("2 items");
    const branches = container.querySelectorAll("details");
    expect(branches.length).toBe(4);
    expect(Array.from(branches).every((d) => d.open)).toBe(true);
  });

  it("collapses deep levels by default", () => {
    const { container } = render(<JsonTree label="Deep" value={{ a: { b: { c: { d: 1 } } } }} />);
    const closed = Array.from(container.querySelectorAll("details")).filter((d) => !d.open);
    expect(closed).toHaveLength(1);
  });
});
