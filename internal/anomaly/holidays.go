package anomaly

import "time"

// Bank holidays. ACH does not settle on the Federal Reserve's holidays, so
// payment traffic on them looks like a weekend's: the count baselines treat
// a holiday as a day off, compared with weekends and other holidays, and
// leave holidays out of a working day's samples. Without this, every bank
// holiday opened a volume-drop anomaly and the Monday after compared with it.

// IsBankHoliday reports whether the calendar date of t (in t's location) is
// a Federal Reserve Bank holiday: New Year's Day, Martin Luther King Jr.
// Day, Washington's Birthday, Memorial Day, Juneteenth (from 2022, the
// first year the Federal Reserve observed it), Independence Day, Labor Day,
// Columbus Day, Veterans Day, Thanksgiving and Christmas. A fixed-date
// holiday on a Sunday is observed the Monday after; on a Saturday the
// Federal Reserve Banks stay open the Friday before, so nothing is observed.
func IsBankHoliday(t time.Time) bool {
	y, m, d := t.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if date.Weekday() == time.Saturday || date.Weekday() == time.Sunday {
		return false // a weekend day is a day off already
	}
	for _, h := range bankHolidays(y) {
		if h.Equal(date) {
			return true
		}
	}
	// No observed date crosses a year boundary: a Sunday holiday moves to
	// the Monday after, and New Year's Day on a Saturday is not observed.
	return false
}

// bankHolidays lists year y's observed Federal Reserve holidays (midnight
// UTC dates).
func bankHolidays(y int) []time.Time {
	fixed := func(m time.Month, d int) time.Time {
		t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		if t.Weekday() == time.Sunday {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	out := []time.Time{
		fixed(time.January, 1),
		nthWeekday(y, time.January, time.Monday, 3),
		nthWeekday(y, time.February, time.Monday, 3),
		lastWeekday(y, time.May, time.Monday),
		fixed(time.July, 4),
		nthWeekday(y, time.September, time.Monday, 1),
		nthWeekday(y, time.October, time.Monday, 2),
		fixed(time.November, 11),
		nthWeekday(y, time.November, time.Thursday, 4),
		fixed(time.December, 25),
	}
	if y >= 2022 {
		out = append(out, fixed(time.June, 19))
	}
	return out
}

// nthWeekday is the n-th (from 1) weekday wd of month m in year y.
func nthWeekday(y int, m time.Month, wd time.Weekday, n int) time.Time {
	t := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	shift := (int(wd) - int(t.Weekday()) + 7) % 7
	return t.AddDate(0, 0, shift+7*(n-1))
}

// lastWeekday is the last weekday wd of month m in year y.
func lastWeekday(y int, m time.Month, wd time.Weekday) time.Time {
	t := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
	shift := (int(t.Weekday()) - int(wd) + 7) % 7
	return t.AddDate(0, 0, -shift)
}

// isDayOff reports whether t's calendar date is a weekend day or a bank
// holiday.
func isDayOff(t time.Time) bool { return isWeekend(t.Weekday()) || IsBankHoliday(t) }
