// Command openloop is a tool of scripts/bench-gateway.sh, not part of
// degreegate: a fixed-rate (open-loop) HTTP/1.1 load generator for the
// latency target "p99 ≤ 10 ms at half the rate".
//
// wrk paced with a delay between requests is a closed loop: a slow answer
// delays the requests behind it, so the queueing it causes is never
// measured (coordinated omission), and on a two-core machine its Lua
// pacing costs as much CPU as the gateway itself. openloop follows wrk2's
// design instead: each connection has its own schedule (rate/conns
// requests a second, the connections' schedules interleaved), a request
// late because the one before it was slow is sent at once, and every
// latency is measured from when the request should have been sent (or,
// when the connection was idle then, from when it was sent). The
// requests are formatted once, before the run, and the answers are read
// with a minimal parser, so the generator takes little of the machine it
// shares with the server under test.
//
//	go run ./scripts/openloop --url http://127.0.0.1:8080/v1/verify \
//	    --samples samples.tsv --rate 7000 --duration 10s
//
// The samples file holds one certificate number and name per line,
// separated by a tab; each request posts one of them, chosen at random.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "openloop:", err)
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("openloop", flag.ContinueOnError)
	target := fs.String("url", "", "URL to POST to (http only)")
	samples := fs.String("samples", "", "file of certificate number TAB name lines")
	rate := fs.Float64("rate", 1000, "requests a second, over all connections")
	conns := fs.Int("conns", 64, "connections")
	dur := fs.Duration("duration", 10*time.Second, "how long to send")
	procs := fs.Int("procs", 1, "GOMAXPROCS of the generator (it shares the machine)")
	distinct := fs.Int("requests", 0, "distinct requests formatted before the run (0: enough that no certificate number is asked more than about ten times, at least 50,000)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 || *conns < 1 || *dur <= 0 || *distinct < 0 {
		return errors.New("--rate, --conns and --duration must be positive, --requests not negative")
	}
	if *distinct == 0 {
		// The policy caps requests per certificate number (burst 20, then
		// one in ten seconds): a long run over a small pool of numbers
		// would measure that limit's 429s, not verification.
		*distinct = max(50000, int(*rate*dur.Seconds()/10))
	}
	u, err := url.Parse(*target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("--url: want http://host:port/path, got %q", *target)
	}
	reqs, err := formatRequests(*samples, u, *distinct)
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(*procs)

	res := make([]connResult, *conns)
	interval := time.Duration(float64(time.Second) * float64(*conns) / *rate)
	start := time.Now().Add(100 * time.Millisecond) // time to dial
	end := start.Add(*dur)
	var wg sync.WaitGroup
	for i := range *conns {
		// Connection i starts i/conns of an interval later than the first,
		// so the sends are spread evenly over time.
		first := start.Add(interval * time.Duration(i) / time.Duration(*conns))
		wg.Go(func() { res[i] = drive(u.Host, reqs, first, end, interval) })
	}
	wg.Wait()
	report(out, res, *rate, *dur)
	return nil
}

// formatRequests reads the samples and formats up to n complete requests,
// each for a sample chosen at random.
func formatRequests(path string, u *url.URL, n int) ([][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--samples: %w", err)
	}
	var lines []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		if strings.Contains(line, "\t") {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("--samples: no number TAB name lines in %s", path)
	}
	path = u.RequestURI()
	reqs := make([][]byte, n)
	for i := range reqs {
		number, name, _ := strings.Cut(lines[rand.IntN(len(lines))], "\t")
		body := `{"certificate_number":` + strconv.Quote(number) + `,"name":` + strconv.Quote(name) + `}`
		reqs[i] = []byte("POST " + path + " HTTP/1.1\r\nHost: " + u.Host +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	}
	return reqs, nil
}

// connResult is what one connection saw.
type connResult struct {
	latencies []time.Duration // from the intended send time when held up
	status    map[int]int
	errs      int
	lastErr   error
}

// drive sends on one connection every interval from first until end, and
// measures each answer from its intended send time. A broken connection
// is dialled again; the requests lost meanwhile count as errors.
func drive(addr string, reqs [][]byte, first, end time.Time, interval time.Duration) connResult {
	r := connResult{status: make(map[int]int)}
	var (
		conn net.Conn
		br   *bufio.Reader
	)
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	i := rand.IntN(len(reqs))
	for due := first; due.Before(end); due = due.Add(interval) {
		// The clock starts at the intended time when the answer before
		// was late (the server held this request up), and at the actual
		// send otherwise: the generator's own timer slack (Go's sleeps
		// wake up to a millisecond late) is not the server's latency.
		from := due
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
			from = time.Now()
		}
		if conn == nil {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				r.errs, r.lastErr = r.errs+1, err
				continue
			}
			conn, br = c, bufio.NewReaderSize(c, 16<<10)
		}
		i = (i + 1) % len(reqs)
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := conn.Write(reqs[i])
		var code int
		if err == nil {
			code, err = readResponse(br)
		}
		if err != nil {
			r.errs, r.lastErr = r.errs+1, err
			conn.Close()
			conn = nil
			continue
		}
		r.latencies = append(r.latencies, time.Since(from))
		r.status[code]++
	}
	return r
}

var errMalformed = errors.New("malformed HTTP response")

// readResponse reads one HTTP/1.1 response with a Content-Length body (the
// only kind the gateway sends to these requests) and returns its status.
func readResponse(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return 0, errMalformed
	}
	code, err := strconv.Atoi(string(line[9:12]))
	if err != nil || code < 100 || code > 999 {
		return 0, errMalformed
	}
	length := -1
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, errMalformed
		}
		if bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")) {
			n, err := strconv.Atoi(string(bytes.TrimSpace(value)))
			if err != nil || n < 0 || n > 64<<20 {
				return 0, errMalformed
			}
			length = n
		}
	}
	if length < 0 {
		return 0, errors.New("response without Content-Length")
	}
	if _, err := br.Discard(length); err != nil {
		return 0, err
	}
	return code, nil
}

// report prints the rate achieved, the answers by status and the latency
// distribution over all connections.
func report(out io.Writer, res []connResult, rate float64, dur time.Duration) {
	var all []time.Duration
	status := map[int]int{}
	errs := 0
	var lastErr error
	for _, r := range res {
		all = append(all, r.latencies...)
		for c, n := range r.status {
			status[c] += n
		}
		errs += r.errs
		if r.lastErr != nil {
			lastErr = r.lastErr
		}
	}
	slices.Sort(all)
	fmt.Fprintf(out, "target %.0f req/s for %s: %d answers (%.0f req/s), %d errors\n",
		rate, dur, len(all), float64(len(all))/dur.Seconds(), errs)
	if lastErr != nil {
		fmt.Fprintf(out, "last error: %v\n", lastErr)
	}
	codes := slices.Sorted(func(yield func(int) bool) {
		for c := range status {
			if !yield(c) {
				return
			}
		}
	})
	fmt.Fprint(out, "status:")
	for _, c := range codes {
		fmt.Fprintf(out, " %d×%d", c, status[c])
	}
	fmt.Fprintln(out)
	if len(all) == 0 {
		return
	}
	fmt.Fprint(out, "latency from intended send:")
	for _, q := range []float64{0.5, 0.75, 0.9, 0.99, 0.999} {
		fmt.Fprintf(out, " p%g %s", q*100, quantile(all, q).Round(10*time.Microsecond))
	}
	fmt.Fprintf(out, " max %s\n", all[len(all)-1].Round(10*time.Microsecond))
}

// quantile of sorted: the smallest value with at least q of the values at
// or below it.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
