package main

import (
	"context"
	"fmt"

	"github.com/hooklens/hooklens/internal/app"
)

func init() {
	register(command{name: "enrich", summary: "show enrichment's progress; --history enriches stored events now, with progress", run: enrichCommand})
}

func enrichCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "enrich", "[--history]")
	history := fs.Bool("history", false, "fetch the Dwolla resources that stored events name now (resumes where a previous run stopped)")
	cfg, err := configCommand(e, fs, args)
	if err != nil {
		return err
	}
	a, err := cliApp(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer a.DB.Close()
	if a.Enrich == nil {
		return app.ErrEnrichmentOff
	}
	if *history {
		bar := newProgressBar(e.stderr, "enrich")
		res, err := a.Enrich.History(ctx, bar)
		bar.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "history enriched: %v events read, %v resources fetched\n", res["events"], res["fetched"])
	}
	st, err := a.Enrich.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "snapshots: %d fetched, %d pending, %d gone (404), %d failed; live lag %d events; history %d/%d events\n",
		st.Fetched, st.Pending, st.Gone, st.Failed, st.Lag, st.HistoryDone, st.HistoryTotal)
	return nil
}
