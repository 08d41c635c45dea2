import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { emptyEventFilters } from "../../lib/eventFilters";
import { EventFiltersForm, topicPrefixes } from "./EventFiltersForm";

const topics = [
  { name: "customer_created", family: "customer", seen: 2, known: true },
  { name: "customer_transfer_completed", family: "transfer", seen: 5, known: true },
  { name: "brand_new_topic", family: "", seen: 1, known: false },
];

describe("EventFiltersForm", () => {
  it("applies a topic at once, grouped by family with counts", async () => {
    const onChange = vi.fn();
    render(<EventFiltersForm filters={emptyEventFilters} topics={topics} onChange={onChange} onClear={vi.fn()} />);
    expect(screen.getByRole("option", { name: "customer_transfer_completed (5)" })).toBeTruthy();
    expect(screen.getByRole("group", { name: "unknown topics" })).toBeTruthy();
    await userEvent.selectOptions(screen.getByLabelText("Topic"), "customer_created");
    expect(onChange).toHaveBeenLastCalledWith({ ...emptyEventFilters, topic: "customer_created" });
  });

  it("applies text filters on submit, trimmed", async () => {
    const onChange = vi.fn();
    render(<EventFiltersForm filters={emptyEventFilters} topics={topics} onChange={onChange} onClear={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Resource id"), "  abc  ");
    await userEvent.type(screen.getByLabelText("Search"), "513e{Enter}");
    expect(onChange).toHaveBeenLastCalledWith({ ...emptyEventFilters, resourceID: "abc", q: "513e" });
  });

  it("keeps a topic from the URL that the catalogue does not list yet", () => {
    render(<EventFiltersForm filters={{ ...emptyEventFilters, topic: "future_topic" }} topics={[]} onChange={vi.fn()} onClear={vi.fn()} />);
    expect(screen.getByLabelText<HTMLSelectElement>("Topic").value).toBe("future_topic");
  });

  it("offers prefixes derived from the topics", () => {
    expect(topicPrefixes(topics)).toEqual(["brand_", "brand_new_", "customer_", "customer_transfer_"]);
  });
});
