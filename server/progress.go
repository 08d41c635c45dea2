package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar shows a long operation's progress on the terminal: a
// redrawn bar on a TTY, a line every few seconds otherwise (CI logs). It
// implements the Progress interfaces of jobs, reconcile, tracker and
// pipeline.
type progressBar struct {
	w      io.Writer
	tty    bool
	label  string
	mu     sync.Mutex
	total  int
	done   int
	failed int
	stage  string
	start  time.Time
	last   time.Time
	extra  func() string
}

func newProgressBar(w io.Writer, label string) *progressBar {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progressBar{w: w, tty: tty, label: label, start: time.Now()}
}

func (p *progressBar) SetTotal(n int) { p.update(func() { p.total = n }) }
func (p *progressBar) Add(done, failed int) {
	p.update(func() { p.done += done; p.failed += failed })
}
func (p *progressBar) Stage(s string) { p.update(func() { p.stage = s }) }

func (p *progressBar) update(fn func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn()
	every := 100 * time.Millisecond
	if !p.tty {
		every = 3 * time.Second
	}
	if time.Since(p.last) >= every {
		p.draw()
	}
}

func (p *progressBar) draw() {
	p.last = time.Now()
	elapsed := time.Since(p.start).Round(time.Second)
	status := fmt.Sprintf("%d", p.done)
	bar := ""
	if p.total > 0 {
		frac := float64(p.done) / float64(p.total)
		if frac > 1 {
			frac = 1
		}
		n := int(frac * 30)
		bar = "[" + strings.Repeat("=", n) + strings.Repeat(" ", 30-n) + "] " + fmt.Sprintf("%5.1f%% ", 100*frac)
		status = fmt.Sprintf("%d/%d", p.done, p.total)
	}
	line := fmt.Sprintf("%s %s%s", p.label, bar, status)
	if p.failed > 0 {
		line += fmt.Sprintf(" (%d failed)", p.failed)
	}
	if p.extra != nil {
		line += "  " + p.extra()
	}
	if p.stage != "" {
		line += "  " + p.stage
	}
	line += fmt.Sprintf("  %s", elapsed)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// Finish draws the final state and ends the line.
func (p *progressBar) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}
