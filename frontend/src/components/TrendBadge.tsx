// A figure's change against the previous period: arrow, text and colour,
// with the sentence spelled out for screen readers.
import { arrow, type Trend } from "../lib/trend";

export function TrendBadge({ trend, testId }: { trend: Trend; testId?: string }) {
  return (
    <span className={`trend trend-${trend.tone}`} data-testid={testId} data-direction={trend.direction} title={trend.description}>
      <span aria-hidden="true">
        {arrow(trend.direction)} {trend.text}
      </span>
      <span className="visually-hidden">{trend.description}</span>
    </span>
  );
}
