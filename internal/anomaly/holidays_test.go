package anomaly

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIsBankHoliday(t *testing.T) {
	t.Parallel()
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }
	for _, h := range []time.Time{
		day(2026, 1, 1), day(2026, 1, 19), day(2026, 2, 16), day(2026, 5, 25), day(2026, 6, 19),
		day(2026, 9, 7), day(2026, 10, 12), day(2026, 11, 11), day(2026, 11, 26), day(2026, 12, 25),
		day(2022, 12, 26), // Christmas on a Sunday: the Monday after
		day(2023, 1, 2),   // New Year's Day on a Sunday
		day(2022, 6, 20),  // Juneteenth on a Sunday, the first year it was observed
		day(2027, 7, 5),   // Independence Day on a Sunday
	} {
		require.True(t, IsBankHoliday(h), "%s is a bank holiday", h.Format("Mon 2 Jan 2006"))
		require.True(t, isDayOff(h))
	}
	for _, d := range []time.Time{
		day(2026, 7, 3),   // Independence Day on a Saturday: the Federal Reserve stays open the Friday
		day(2026, 7, 4),   // the Saturday itself is a weekend day, not a holiday
		day(2026, 11, 27), // the day after Thanksgiving
		day(2026, 10, 13),
		day(2021, 6, 18), day(2021, 6, 21), // before the Federal Reserve observed Juneteenth
		day(2026, 12, 24),
	} {
		require.False(t, IsBankHoliday(d), "%s is not a bank holiday", d.Format("Mon 2 Jan 2006"))
	}
	require.True(t, isDayOff(day(2026, 7, 4)), "a weekend day is a day off")
	require.False(t, isDayOff(day(2026, 7, 3)))

	// The date is the one in t's location.
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	lateThanksgiving := time.Date(2026, 11, 26, 23, 30, 0, 0, ny) // 04:30 UTC on the 27th
	require.True(t, IsBankHoliday(lateThanksgiving))
	require.False(t, IsBankHoliday(lateThanksgiving.UTC()))
}

// On a bank holiday the baseline is other days off (weekends, holidays),
// never the same weekday of past weeks; on a working day after one, the
// holiday a week back is left out.
func TestSeasonalLagsTreatBankHolidaysAsDaysOff(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	cfg := DefaultConfig().Seasonal
	dates := func(end time.Time, lags []int) []string {
		var out []string
		for _, l := range lags {
			out = append(out, end.Add(-time.Duration(l)*time.Minute).In(ny).Format("Mon Jan 2"))
		}
		return out
	}

	columbus := time.Date(2026, 10, 12, 10, 0, 0, 0, ny)
	lags := newSeasonalLags(columbus, ny, cfg)
	require.True(t, lags.dayOff)
	require.Empty(t, lags.weeks, "past Mondays were working days")
	require.Equal(t, []string{"Sun Oct 11", "Sat Oct 10", "Sun Oct 4", "Sat Oct 3", "Sun Sep 27"}, dates(columbus, lags.days))

	after := time.Date(2026, 10, 19, 10, 0, 0, 0, ny)
	lags = newSeasonalLags(after, ny, cfg)
	require.False(t, lags.dayOff)
	require.Equal(t, []string{"Mon Oct 5", "Mon Sep 28", "Mon Sep 21"}, dates(after, lags.weeks), "Columbus Day left out")
	require.Equal(t, []string{"Fri Oct 16", "Thu Oct 15", "Wed Oct 14", "Tue Oct 13", "Fri Oct 9"}, dates(after, lags.days))
}
