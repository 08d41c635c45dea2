package dwolla

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Capture is one recorded webhook from Dwolla's sandbox transfer-workflow
// captures (testdata/captures): the topic label, which side of the transfer
// received it, and the exact payload.
type Capture struct {
	File             string
	Leg              int // 1-based leg of the transfer
	Topic            string
	SenderOrReceiver string
	Payload          json.RawMessage
}

// LoadCaptures reads every capture file in dir, in file order, legs in order.
// Test and simulator code uses it; the server never does.
func LoadCaptures(dir string) ([]Capture, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Capture
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			WebhooksArray []struct {
				Set []struct {
					WebhookTopic     string          `json:"webhookTopic"`
					SenderOrReceiver string          `json:"senderOrReceiver"`
					WebhookPayload   json.RawMessage `json:"webhookPayload"`
				} `json:"set"`
			} `json:"webhooksArray"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for leg, step := range doc.WebhooksArray {
			for _, s := range step.Set {
				out = append(out, Capture{
					File: filepath.Base(f), Leg: leg + 1, Topic: s.WebhookTopic,
					SenderOrReceiver: s.SenderOrReceiver, Payload: s.WebhookPayload,
				})
			}
		}
	}
	return out, nil
}
