package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// bodyEncodingsKey records in hooklens_meta every encoding event bodies
// may be stored with, so that a start can tell which keys the stored data
// needs without reading every event (a GROUP BY over ten million rows took
// seconds of every start).
const bodyEncodingsKey = "body_encodings"

// EncodingCount is how many event bodies are stored with one encoding.
type EncodingCount struct {
	Encoding string
	Count    int
}

// CountBodyEncodings counts event bodies per encoding, reading every
// event, and records the encodings found as the exact set (see
// BodyEncodings). For `hooklens keys status` and after a rotation, not for
// a start.
func (db *DB) CountBodyEncodings(ctx context.Context) ([]EncodingCount, error) {
	rows, err := db.Read.QueryContext(ctx, "SELECT body_encoding, COUNT(*) FROM webhook_events GROUP BY body_encoding ORDER BY body_encoding")
	if err != nil {
		return nil, fmt.Errorf("counting event bodies by encoding: %w", err)
	}
	defer rows.Close()
	var out []EncodingCount
	var set []string
	for rows.Next() {
		var c EncodingCount
		var enc sql.NullString
		if err := rows.Scan(&enc, &c.Count); err != nil {
			return nil, fmt.Errorf("counting event bodies by encoding: %w", err)
		}
		c.Encoding = enc.String
		if c.Encoding == "" {
			c.Encoding = "identity"
		}
		out = append(out, c)
		set = append(set, c.Encoding)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting event bodies by encoding: %w", err)
	}
	return out, db.setBodyEncodings(ctx, set)
}

// BodyEncodings returns the encodings event bodies may be stored with:
// those recorded by NoteBodyEncoding and CountBodyEncodings. A database
// that never recorded them is counted once.
func (db *DB) BodyEncodings(ctx context.Context) ([]string, error) {
	v, err := db.Meta(ctx, bodyEncodingsKey)
	if errors.Is(err, sql.ErrNoRows) {
		counts, err := db.CountBodyEncodings(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(counts))
		for i, c := range counts {
			out[i] = c.Encoding
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the body encodings in use: %w", err)
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("reading the body encodings in use: %w", err)
	}
	return out, nil
}

// NoteBodyEncoding records that new bodies are stored with enc from now
// on. Call it before storing with a new encoding (at start, with the
// active key).
func (db *DB) NoteBodyEncoding(ctx context.Context, enc string) error {
	have, err := db.BodyEncodings(ctx)
	if err != nil {
		return err
	}
	for _, e := range have {
		if e == enc {
			return nil
		}
	}
	return db.setBodyEncodings(ctx, append(have, enc))
}

func (db *DB) setBodyEncodings(ctx context.Context, set []string) error {
	sort.Strings(set)
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return db.SetMeta(ctx, bodyEncodingsKey, string(b))
}
