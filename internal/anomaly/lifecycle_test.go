package anomaly_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/anomaly"
)

var t0 = time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)

func minuteAt(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }

// finding builds a finding for key type:subject at a severity and score.
func finding(typ anomaly.Type, sev anomaly.Severity, score float64) anomaly.Finding {
	return anomaly.Finding{
		Type: typ, Subject: "transfer", Key: anomaly.Key(typ, "transfer"), Severity: sev, Score: score,
		Explanation: fmt.Sprintf("%s %s z=%.1f", typ, sev, score),
	}
}

var (
	spike = func(sev anomaly.Severity, score float64) anomaly.Finding {
		return finding(anomaly.TypeVolumeSpike, sev, score)
	}
	drop = func(sev anomaly.Severity, score float64) anomaly.Finding {
		return finding(anomaly.TypeVolumeDrop, sev, score)
	}
	warn = anomaly.SeverityWarning
	crit = anomaly.SeverityCritical
	info = anomaly.SeverityInfo
)

// change is a transition seen at a minute.
type change struct {
	At   int
	Kind anomaly.ChangeKind
	Key  string
	Sev  anomaly.Severity
}

// every repeats findings at each minute in [from, to).
func every(from, to int, fs ...anomaly.Finding) map[int][]anomaly.Finding {
	out := map[int][]anomaly.Finding{}
	for m := from; m < to; m++ {
		out[m] = fs
	}
	return out
}

func merge(ms ...map[int][]anomaly.Finding) map[int][]anomaly.Finding {
	out := map[int][]anomaly.Finding{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = append(out[k], v...)
		}
	}
	return out
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	const spikeKey, dropKey = "volume_spike:transfer", "volume_drop:transfer"
	acked := anomaly.Anomaly{
		ID: 7, Key: spikeKey, Type: anomaly.TypeVolumeSpike, Subject: "transfer", Status: anomaly.StatusAcknowledged,
		Severity: warn, OpenedAt: minuteAt(-30), LastSeen: minuteAt(-5), Peak: spike(warn, 6), Latest: spike(warn, 6),
	}
	tests := []struct {
		name     string
		cfg      anomaly.LifecycleConfig
		start    []anomaly.Anomaly
		findings map[int][]anomaly.Finding
		minutes  int
		want     []change
		active   []string // keys still active at the end
		check    func(t *testing.T, active, resolved []anomaly.Anomaly)
	}{
		{
			name:     "a warning opens an anomaly",
			findings: map[int][]anomaly.Finding{0: {spike(warn, 5)}},
			minutes:  10,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}},
			active:   []string{spikeKey},
		},
		{
			name:     "info findings never open one",
			findings: every(0, 30, spike(info, 3)),
			minutes:  40,
		},
		{
			name:     "one open anomaly per key, however many findings",
			findings: merge(map[int][]anomaly.Finding{0: {spike(warn, 5), spike(crit, 9)}}, every(1, 10, spike(warn, 5))),
			minutes:  12,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, crit}},
			active:   []string{spikeKey},
		},
		{
			name:     "keys are independent",
			findings: map[int][]anomaly.Finding{0: {spike(warn, 5)}, 3: {drop(warn, -5)}},
			minutes:  10,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {3, anomaly.ChangeOpened, dropKey, warn}},
			active:   []string{dropKey, spikeKey},
		},
		{
			name:     "a critical finding escalates, and severity never drops",
			findings: merge(every(0, 3, spike(warn, 5)), every(3, 5, spike(crit, 9)), every(5, 20, spike(warn, 5))),
			minutes:  25,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {3, anomaly.ChangeEscalated, spikeKey, crit}},
			active:   []string{spikeKey},
			check: func(t *testing.T, active, _ []anomaly.Anomaly) {
				require.Equal(t, crit, active[0].Severity)
				require.Equal(t, 9.0, active[0].Peak.Score, "the peak is the largest score")
				require.Equal(t, 5.0, active[0].Latest.Score)
				require.Equal(t, minuteAt(19), active[0].LastSeen)
				require.Equal(t, 20, active[0].Minutes)
			},
		},
		{
			name:     "firing for EscalateAfter escalates",
			cfg:      anomaly.LifecycleConfig{EscalateAfter: time.Hour},
			findings: every(0, 70, spike(warn, 5)),
			minutes:  70,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {60, anomaly.ChangeEscalated, spikeKey, crit}},
			active:   []string{spikeKey},
		},
		{
			name:     "hovering at info does not escalate by time",
			cfg:      anomaly.LifecycleConfig{EscalateAfter: time.Hour},
			findings: merge(every(0, 1, spike(warn, 5)), every(1, 90, spike(info, 3))),
			minutes:  90,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}},
			active:   []string{spikeKey},
		},
		{
			name:     "auto-resolves once quiet for QuietFor",
			findings: every(0, 5, spike(warn, 5)),
			minutes:  30,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {19, anomaly.ChangeResolved, spikeKey, warn}},
			check: func(t *testing.T, _, resolved []anomaly.Anomaly) {
				require.Len(t, resolved, 1)
				require.Equal(t, anomaly.StatusResolved, resolved[0].Status)
				require.Equal(t, minuteAt(19), resolved[0].ResolvedAt)
				require.Equal(t, minuteAt(0), resolved[0].OpenedAt)
			},
		},
		{
			name:     "info findings hold it open: hysteresis",
			findings: merge(every(0, 5, spike(warn, 5)), every(5, 60, spike(info, 3))),
			minutes:  90,
			want:     []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {74, anomaly.ChangeResolved, spikeKey, warn}},
		},
		{
			name: "a signal flickering around the threshold does not flap",
			// Warning every ten minutes, nothing in between, for two hours.
			findings: func() map[int][]anomaly.Finding {
				m := map[int][]anomaly.Finding{}
				for i := 0; i <= 120; i += 10 {
					m[i] = []anomaly.Finding{spike(warn, 5)}
				}
				return m
			}(),
			minutes: 140,
			want:    []change{{0, anomaly.ChangeOpened, spikeKey, warn}, {135, anomaly.ChangeResolved, spikeKey, warn}},
		},
		{
			name:     "after resolving, a new episode opens a new anomaly",
			findings: merge(every(0, 2, spike(warn, 5)), every(40, 42, spike(warn, 5))),
			minutes:  45,
			want: []change{
				{0, anomaly.ChangeOpened, spikeKey, warn}, {16, anomaly.ChangeResolved, spikeKey, warn},
				{40, anomaly.ChangeOpened, spikeKey, warn},
			},
			active: []string{spikeKey},
		},
		{
			name:     "an acknowledged anomaly keeps its status and still auto-resolves",
			start:    []anomaly.Anomaly{acked},
			findings: every(0, 3, spike(crit, 10)),
			minutes:  20,
			want:     []change{{0, anomaly.ChangeEscalated, spikeKey, crit}, {17, anomaly.ChangeResolved, spikeKey, crit}},
			check: func(t *testing.T, _, resolved []anomaly.Anomaly) {
				require.Equal(t, int64(7), resolved[0].ID, "the caller's id is carried through")
				require.Equal(t, minuteAt(-30), resolved[0].OpenedAt)
			},
		},
		{
			name:    "an acknowledged anomaly with no signal resolves after the quiet period",
			start:   []anomaly.Anomaly{acked},
			minutes: 12,
			want:    []change{{10, anomaly.ChangeResolved, spikeKey, warn}},
		},
		{
			name: "duplicates in the store: the earliest wins, the others are left alone",
			start: []anomaly.Anomaly{
				{ID: 2, Key: spikeKey, Status: anomaly.StatusOpen, Severity: warn, OpenedAt: minuteAt(-10), LastSeen: minuteAt(-1)},
				{ID: 1, Key: spikeKey, Status: anomaly.StatusOpen, Severity: warn, OpenedAt: minuteAt(-20), LastSeen: minuteAt(-1)},
			},
			findings: every(0, 3, spike(warn, 5)),
			minutes:  3,
			active:   []string{spikeKey},
			check: func(t *testing.T, active, _ []anomaly.Anomaly) {
				require.Equal(t, int64(1), active[0].ID)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lc := anomaly.NewLifecycle(tt.cfg)
			active := tt.start
			var got []change
			var resolved []anomaly.Anomaly
			for m := range tt.minutes {
				res := lc.Step(minuteAt(m), active, tt.findings[m])
				for _, c := range res.Changes {
					got = append(got, change{m, c.Kind, c.Anomaly.Key, c.Anomaly.Severity})
				}
				resolved = append(resolved, res.Resolved...)
				active = res.Active
			}
			require.Equal(t, tt.want, got)
			var keys []string
			for _, a := range active {
				keys = append(keys, a.Key)
				require.NotEqual(t, anomaly.StatusResolved, a.Status)
			}
			require.Equal(t, tt.active, keys)
			if tt.check != nil {
				tt.check(t, active, resolved)
			}
		})
	}
}
