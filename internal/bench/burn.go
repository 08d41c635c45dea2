package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Burn keeps threads OS threads spinning for d (or until ctx ends): the
// other work of a busy shared machine, in a process of its own so it
// competes with the server and the database as other programs would.
func Burn(ctx context.Context, threads int, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), threads))
	var wg sync.WaitGroup
	for i := 0; i < threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			x := uint64(i + 1)
			for n := 0; ; n++ {
				// xorshift: work the compiler cannot drop.
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				if n&0xfffff == 0 && ctx.Err() != nil {
					sink.Store(x)
					return
				}
			}
		}()
	}
	wg.Wait()
}

var sink atomic.Uint64
