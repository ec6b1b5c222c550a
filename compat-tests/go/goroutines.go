// goroutines.go - a Go program (CGO_ENABLED=0, amd64 and 386): with
// GOMAXPROCS=1 a goroutine spinning without calls is preempted by the
// runtime's SIGURG (tgkill) so main and the garbage collector run; worker
// goroutines over channels; timers and a ticker; os/exec re-running this
// program through /proc/self/exe with a pipe for its output.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

var spins uint64

//go:noinline
func spin(stop *int32) {
	x := uint64(0)
	for atomic.LoadInt32(stop) == 0 {
		x++
		if x&0xfffff == 0 {
			atomic.StoreUint64(&spins, x)
		}
	}
}

func check(ok bool, what string) {
	if ok {
		fmt.Println("ok:", what)
	} else {
		fmt.Println("FAIL:", what)
		fmt.Fprintln(os.Stderr, "FAIL:", what)
		failed++
	}
}

var failed int

func main() {
	if len(os.Args) > 1 && os.Args[1] == "child" {
		fmt.Printf("child says %s\n", os.Args[2])
		os.Exit(3)
	}
	runtime.GOMAXPROCS(1)

	// Preemption: main sleeps while a goroutine spins on the only P.
	var stop int32
	go spin(&stop)
	runtime.Gosched()
	time.Sleep(20 * time.Millisecond)
	check(true, "main ran again while a goroutine spun (GOMAXPROCS=1)")
	runtime.GC()
	check(true, "a garbage collection stopped the spinning goroutine and finished")
	atomic.StoreInt32(&stop, 1)

	// Workers over channels.
	jobs := make(chan int)
	results := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- j * j
			}
		}()
	}
	go func() {
		for i := 1; i <= 1000; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	go func() { wg.Wait(); close(results) }()
	sum := 0
	for r := range results {
		sum += r
	}
	check(sum == 333833500, fmt.Sprintf("8 workers summed 1000 squares: %d", sum))

	// Timers and a ticker.
	t0 := time.Now()
	<-time.After(30 * time.Millisecond)
	check(time.Since(t0) >= 30*time.Millisecond, "time.After waited at least 30 ms")
	tk := time.NewTicker(10 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-tk.C
	}
	tk.Stop()
	check(time.Since(t0) >= 60*time.Millisecond, "a ticker ticked 3 times")

	// os/exec: this program again, its output through a pipe, its exit status back.
	self, err := os.Executable()
	check(err == nil, "os.Executable")
	cmd := exec.Command(self, "child", "hello")
	out, err := cmd.Output()
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	check(string(out) == "child says hello\n" && code == 3, fmt.Sprintf("os/exec ran a child: %q, exit %d", out, code))

	fmt.Printf("%d failed\n", failed)
	if failed > 0 {
		os.Exit(1)
	}
}
