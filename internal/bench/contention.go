package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/bulkgen"
	"github.com/hooklens/hooklens/internal/simulate"
	"github.com/hooklens/hooklens/internal/store"
)

// ContentionConfig is the SQLite ingest-under-contention scenario: webhooks
// at a moderate rate to hooklens on SQLite while its pipeline runs, a bulk
// replay of every stored event is started, a rollup rebuild runs, and
// burner processes keep the machine's cores busy. Ingest must not wait
// behind any of it for the single writer.
type ContentionConfig struct {
	Name string
	// Binary is the hooklens executable (serves, rebuilds and burns).
	Binary     string
	ServerArgs []string
	// Prefill is how many events internal/bulkgen writes first (default
	// 100,000): what the replay and the rebuild work through.
	Prefill int
	// Rate and Duration are the webhook traffic (default 200/s for 30 s),
	// steady open loop with 2% duplicates.
	Rate     float64
	Duration time.Duration
	// BurnThreads spinning threads run in a separate process for the whole
	// load (default: one per core).
	BurnThreads int
	// StartAfter is when, into the load, the replay and the rebuild start
	// (default 1 s).
	StartAfter time.Duration
	Seed       uint64
	Dir        string
	Progress   io.Writer
	Command    string
}

// ContentionReport is what the scenario saw.
type ContentionReport struct {
	Prefilled int     `json:"prefilledEvents"`
	PrefillS  float64 `json:"prefillSeconds"`
	// Load is the webhook traffic's result; its ack latency is the figure.
	Load         *LoadResult `json:"load"`
	BurnThreads  int         `json:"burnThreads"`
	MachineCores float64     `json:"machineCores"`
	// Replay is the bulk replay job as it stood when the load ended.
	ReplayJob    string `json:"replayJob,omitempty"`
	ReplayStatus string `json:"replayStatus,omitempty"`
	ReplayDone   int    `json:"replayDone"`
	ReplayTotal  int    `json:"replayTotal"`
	ReplayError  string `json:"replayError,omitempty"`
	// Rebuild is `hooklens rollup rebuild`, run beside the server.
	RebuildS        float64 `json:"rebuildSeconds"`
	RebuildFinished bool    `json:"rebuildFinishedDuringLoad"`
	RebuildError    string  `json:"rebuildError,omitempty"`
	// ServerCPUS is the server's CPU during the load.
	ServerCPUS float64 `json:"serverCpuSeconds"`
}

// RunContention runs cfg.
func RunContention(ctx context.Context, cfg ContentionConfig) (*Report, error) {
	if cfg.Prefill <= 0 {
		cfg.Prefill = 100_000
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 200
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 30 * time.Second
	}
	if cfg.BurnThreads <= 0 {
		cfg.BurnThreads = runtime.NumCPU()
	}
	if cfg.StartAfter <= 0 {
		cfg.StartAfter = time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	bin := cfg.Binary
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("finding the hooklens binary: %w", err)
		}
		bin = exe
	}
	if cfg.Dir == "" {
		dir, err := os.MkdirTemp("", "hooklens-bench-")
		if err != nil {
			return nil, fmt.Errorf("creating a work directory: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.Dir = dir
	}
	say := func(format string, args ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "bench %s: %s\n", cfg.Name, fmt.Sprintf(format, args...))
		}
	}
	traffic := Traffic{Rate: cfg.Rate, Duration: cfg.Duration, DuplicateShare: 0.02, Profile: ProfileSteady}
	rep := &Report{Name: cfg.Name, Mode: "contention", Kind: SQLite, StartedAt: time.Now().UTC(), Seed: cfg.Seed, Traffic: traffic,
		Command: cfg.Command, Contention: &ContentionReport{BurnThreads: cfg.BurnThreads}}
	c := rep.Contention
	busy, err := busyCores(ctx, 2*time.Second)
	if err != nil {
		return nil, err
	}
	rep.Machine = ReadMachine()
	rep.Machine.BusyBefore = busy
	if probe, err := ProbeFsync(cfg.Dir, 200); err == nil {
		rep.Machine.Fsync = probe
	}

	// The database: migrated, filled, with an admin token for the replay.
	fdb, err := NewDatabase(ctx, SQLite, cfg.Dir, "", "contention")
	if err != nil {
		return nil, err
	}
	defer func() { _ = fdb.Drop(context.WithoutCancel(ctx)) }()
	say("filling a fresh SQLite database with %d events (internal/bulkgen)", cfg.Prefill)
	token, err := prefill(ctx, fdb.URL, cfg, c, &rep.Machine)
	if err != nil {
		return nil, err
	}
	say("filled %d events in %.1f s", c.Prefilled, c.PrefillS)

	srv, err := StartServer(ctx, ServerOptions{Binary: bin, DatabaseURL: fdb.URL, Args: cfg.ServerArgs, Dir: cfg.Dir})
	if err != nil {
		return nil, err
	}
	defer func() { _ = srv.Stop(30 * time.Second) }()
	rep.Server = &ServerStats{Args: strings.Join(cfg.ServerArgs, " ")}
	gen, err := simulate.NewGenerator(simulate.Config{Seed: cfg.Seed})
	if err != nil {
		return nil, err
	}
	reqs, err := Plan(gen, srv.Secret, traffic, cfg.Seed)
	if err != nil {
		return nil, err
	}

	// The burner, bounded in time; stopped as soon as the load ends.
	burnFor := cfg.Duration + cfg.StartAfter + 30*time.Second
	burn := exec.Command(bin, "bench", "burn", "--threads", strconv.Itoa(cfg.BurnThreads), "--duration", burnFor.String())
	burn.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	burn.Stdout, burn.Stderr = io.Discard, io.Discard
	if err := burn.Start(); err != nil {
		return nil, fmt.Errorf("starting the CPU burner: %w", err)
	}
	burnDone := make(chan struct{})
	go func() { _ = burn.Wait(); close(burnDone) }()
	stopBurn := func() {
		select {
		case <-burnDone:
		default:
			_ = burn.Process.Kill()
			<-burnDone
		}
	}
	defer stopBurn()

	// The background work starts StartAfter into the load.
	type rebuildResult struct {
		d   time.Duration
		err error
	}
	type started struct {
		id  string
		err error
	}
	rebuilt := make(chan rebuildResult, 1)
	jobID := make(chan started, 1)
	go func() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(cfg.StartAfter):
		}
		say("starting a bulk replay of every stored event and `hooklens rollup rebuild`")
		id, err := startReplay(ctx, srv.URL, token)
		jobID <- started{id, err}
		t := time.Now()
		rb := exec.CommandContext(ctx, bin, "rollup", "rebuild")
		rb.Dir = cfg.Dir
		rb.Env = append(cleanEnv(), "DATABASE_URL="+fdb.URL)
		var out bytes.Buffer
		rb.Stdout, rb.Stderr = &out, &out
		err = rb.Run()
		if err != nil {
			err = fmt.Errorf("%w: %s", err, lastLines(out.String(), 3))
		}
		rebuilt <- rebuildResult{time.Since(t), err}
	}()

	st0, _ := srv.Stat()
	mach0, _, _ := cpuTimes()
	res, err := Send(ctx, reqs, LoadOptions{URL: srv.URL + "/api/webhooks/dwolla/v2", MaxInFlight: 2048, Progress: cfg.Progress, Label: cfg.Name}, false)
	if err != nil {
		return nil, err
	}
	st1, _ := srv.Stat()
	mach1, _, _ := cpuTimes()
	stopBurn()
	c.Load = res
	c.ServerCPUS = (st1.CPU - st0.CPU).Seconds()
	if res.ElapsedS > 0 {
		c.MachineCores = (mach1 - mach0).Seconds() / res.ElapsedS
	}
	step := Step{Rate: cfg.Rate, Load: res, ServerCPUS: c.ServerCPUS, DatabaseCores: -1, MachineCores: c.MachineCores}
	if res.ElapsedS > 0 {
		step.EventsPerS = float64(res.Acked-res.Duplicates) / res.ElapsedS
		step.ServerCores = c.ServerCPUS / res.ElapsedS
	}
	if res.Sent > 0 {
		step.ServerCPUPerReqUS = c.ServerCPUS * 1e6 / float64(res.Sent)
	}
	step.Pass, step.Why = judge(res, nil)
	rep.Steps = []Step{step}
	rep.Throughput, rep.EventsPerS = res.Throughput, step.EventsPerS

	id := ""
	select {
	case s := <-jobID:
		id = s.id
		if s.err != nil {
			c.ReplayError = s.err.Error()
		}
	case <-time.After(10 * time.Second):
		c.ReplayError = "the replay had not started 10 s after the load"
	}
	c.ReplayJob = id
	if id != "" {
		if j, err := readJob(ctx, srv.URL, token, id); err == nil {
			c.ReplayStatus, c.ReplayDone, c.ReplayTotal = j.Status, j.Done, j.Total
		} else {
			c.ReplayError = err.Error()
		}
	}
	select {
	case r := <-rebuilt:
		c.RebuildS, c.RebuildFinished = r.d.Seconds(), true
		if r.err != nil {
			c.RebuildError = r.err.Error()
		}
	default:
		say("the rollup rebuild is still running; waiting for it (up to 2 min)")
		select {
		case r := <-rebuilt:
			c.RebuildS = r.d.Seconds()
			if r.err != nil {
				c.RebuildError = r.err.Error()
			}
		case <-time.After(2 * time.Minute):
			c.RebuildError = "did not finish within 2 minutes after the load"
		}
	}
	if id != "" && c.ReplayStatus != "succeeded" {
		_ = cancelJob(ctx, srv.URL, token, id)
	}

	// The ledger: every acknowledged event is stored (the database held
	// other events before, so only the sent ones are checked).
	db, err := store.Open(ctx, fdb.URL, store.Options{ReadConns: 2})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	events, order := tally([][]Request{reqs}, []*LoadResult{res})
	rows, err := readEvents(ctx, db, order)
	if err != nil {
		return nil, err
	}
	rep.Ledger = checkLedger(events, rows, -1, false, res.Balanced())
	if !rep.Ledger.Balanced {
		rep.Void, rep.VoidReason = true, rep.Ledger.Reason
	}
	if st, err := srv.Stat(); err == nil {
		rep.Server.CPUS, rep.Server.LoadCPUS, rep.Server.PeakRSS, rep.Server.Nice = (st.CPU - st0.CPU).Seconds(), c.ServerCPUS, st.PeakRSS, st.Nice
	}
	say("ack p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d requests (%d not acknowledged); replay %s %d/%d; rebuild %.1f s; machine %.2f cores busy",
		res.Ack.P50, res.Ack.P99, res.Ack.Max, res.Sent, res.Sent-res.Acked, c.ReplayStatus, c.ReplayDone, c.ReplayTotal, c.RebuildS, c.MachineCores)
	return rep, nil
}

// prefill migrates the database at url, writes cfg.Prefill events with
// internal/bulkgen and creates an admin token for the replay.
func prefill(ctx context.Context, url string, cfg ContentionConfig, c *ContentionReport, m *Machine) (string, error) {
	db, err := store.Open(ctx, url, store.Options{})
	if err != nil {
		return "", err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return "", err
	}
	m.Database = databaseVersion(ctx, db)
	res, err := bulkgen.Generate(ctx, db, bulkgen.Options{Events: cfg.Prefill, Seed: cfg.Seed})
	if err != nil {
		return "", fmt.Errorf("filling the database: %w", err)
	}
	c.Prefilled, c.PrefillS = res.Events, res.Duration.Seconds()
	tok, _, err := auth.NewService(db.Client, time.Hour).CreateToken(ctx, "bench contention", auth.RoleAdmin, nil)
	if err != nil {
		return "", fmt.Errorf("creating a token for the replay: %w", err)
	}
	return tok, nil
}

type jobState struct {
	Status string `json:"status"`
	Done   int    `json:"done"`
	Total  int    `json:"total"`
}

// graphql posts one GraphQL operation to baseURL with token and decodes
// its data into out.
func graphql(ctx context.Context, baseURL, token, query string, vars map[string]any, out any) error {
	raw, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/graphql", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GraphQL: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return fmt.Errorf("GraphQL: HTTP %d: %w", resp.StatusCode, err)
	}
	if len(body.Errors) > 0 {
		return fmt.Errorf("GraphQL: %s", body.Errors[0].Message)
	}
	return json.Unmarshal(body.Data, out)
}

// startReplay starts the bulk replay of every stored event (the
// replayEvents mutation) and returns its job's id.
func startReplay(ctx context.Context, baseURL, token string) (string, error) {
	var out struct {
		ReplayEvents struct {
			ID string `json:"id"`
		} `json:"replayEvents"`
	}
	if err := graphql(ctx, baseURL, token, `mutation { replayEvents(where: {}) { id } }`, nil, &out); err != nil {
		return "", fmt.Errorf("starting the replay: %w", err)
	}
	return out.ReplayEvents.ID, nil
}

func readJob(ctx context.Context, baseURL, token, id string) (jobState, error) {
	var out struct {
		Node jobState `json:"node"`
	}
	err := graphql(ctx, baseURL, token, `query($id: ID!) { node(id: $id) { ... on Job { status done total } } }`, map[string]any{"id": id}, &out)
	return out.Node, err
}

func cancelJob(ctx context.Context, baseURL, token, id string) error {
	var out map[string]any
	return graphql(ctx, baseURL, token, `mutation($id: ID!) { cancelJob(id: $id) { id } }`, map[string]any{"id": id}, &out)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
