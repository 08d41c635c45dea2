package store

import (
	"database/sql"
	"fmt"
	"time"
)

// DecodeBody returns the raw body of an event stored in the clear. It knows
// only the identity encoding: sealed bodies are opened by the vault.
//
// Deprecated: use (*vault.Keyring).Open, which opens identity and sealed
// bodies alike (and works on a nil keyring).
func DecodeBody(encoding string, stored []byte) ([]byte, error) {
	switch encoding {
	case "", "identity":
		return stored, nil
	}
	return nil, fmt.Errorf("event body stored with unknown encoding %q", encoding)
}

// ScanTime converts an aggregate's time value, which SQLite returns as text
// and PostgreSQL as a time, into a time.Time. NULL gives the zero time.
func ScanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return t.UTC(), nil
	case string:
		return parseSQLiteTime(t)
	case []byte:
		return parseSQLiteTime(string(t))
	case sql.NullTime:
		return t.Time.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("cannot read %T as a time", v)
}

func parseSQLiteTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q", s)
}
