package alert

import (
	"fmt"
	"strings"
)

// SlackMessage is the body a slack channel receives: Slack's incoming
// webhook format, which Mattermost, Rocket.Chat and Discord's /slack
// endpoints also accept. Text is the fallback (notifications, clients
// without blocks); Blocks are the rich layout.
type SlackMessage struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks"`
}

// Slack's limits: a header's text, a section's text.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
)

func slackMessage(p Payload) SlackMessage {
	label, emoji := "FIRING", ":large_orange_circle:"
	switch {
	case p.Event == EventTest:
		label, emoji = "TEST", ":test_tube:"
	case p.Status == "resolved":
		label, emoji = "RESOLVED", ":white_check_mark:"
	case p.Severity == "critical":
		emoji = ":red_circle:"
	case p.Severity == "info":
		emoji = ":large_blue_circle:"
	}
	if p.Event == EventRenotified {
		label = "STILL FIRING"
	}
	header := fmt.Sprintf("%s %s: %s", emoji, label, p.Title)

	facts := []string{"*Severity:* " + p.Severity, "*Rule:* " + slackEscape(p.RuleName)}
	if p.Value != nil {
		v := "*Value:* " + fmtValue(p.Condition, *p.Value)
		if p.Threshold != nil {
			v += " (threshold " + fmtValue(p.Condition, *p.Threshold) + ")"
		}
		facts = append(facts, v)
	}
	facts = append(facts, fmt.Sprintf("*Since:* <!date^%d^{date_short_pretty} {time}|%s>",
		p.StartedAt.Unix(), p.StartedAt.Format("2006-01-02 15:04 UTC")))
	if p.AcknowledgedBy != "" {
		facts = append(facts, "*Acknowledged by:* "+slackEscape(p.AcknowledgedBy))
	}

	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": clip(header, slackHeaderMax), "emoji": true}},
		{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": clip(slackEscape(p.Message), slackSectionMax)}},
		{"type": "context", "elements": []map[string]any{{"type": "mrkdwn", "text": strings.Join(facts, "  ·  ")}}},
	}
	if p.URL != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open in hooklens"}, "url": p.URL,
		}}})
	}
	text := fmt.Sprintf("[%s] %s — %s", label, p.Title, p.Message)
	if p.URL != "" {
		text += "\n" + p.URL
	}
	return SlackMessage{Text: clip(slackEscape(text), slackSectionMax), Blocks: blocks}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves, so a
// message cannot mention @channel or forge links.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
