package main

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc CPU times on Linux.
const clockTicks = 100

// cpuSample is the machine's and some processes' CPU time at one moment.
type cpuSample struct {
	at           time.Time
	total, idle  uint64 // all CPUs, ticks
	iowait, irq  uint64
	steal        uint64 // time the hypervisor gave this machine's CPUs to others
	engine, self uint64 // ticks of ctjournal and of this benchmark
	pg           pgTicks
}

// pgTicks is each PostgreSQL process's CPU time by kind, told apart by the
// process title ("postgres: [cluster: ]user database host(port) state").
type pgTicks struct {
	ours    map[int]uint64 // backends (and autovacuum workers) of the run's database
	shared  map[int]uint64 // the postmaster, WAL writer, checkpointer, background writer…
	otherDB map[int]uint64 // backends of other databases: other people's work
}

var backendTitle = regexp.MustCompile(`^postgres: (\S+: )?\S+ \S+ (\S+\(\d+\)|\[local\])`)

func samplePostgres(dbName string) pgTicks {
	t := pgTicks{ours: map[int]uint64{}, shared: map[int]uint64{}, otherDB: map[int]uint64{}}
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		title := strings.TrimRight(strings.ReplaceAll(string(cmdline), "\x00", " "), " ")
		ticks := processTicks(pid)
		switch {
		case strings.Contains(title, " "+dbName+" ") || strings.HasSuffix(title, " "+dbName):
			t.ours[pid] = ticks
		case backendTitle.MatchString(title):
			t.otherDB[pid] = ticks
		default:
			t.shared[pid] = ticks
		}
	}
	return t
}

// merge keeps the latest reading of every PostgreSQL process seen so far,
// so one that ends before the phase does still counts up to its last one.
func (t pgTicks) merge(newer pgTicks) {
	for _, pair := range [][2]map[int]uint64{{t.ours, newer.ours}, {t.shared, newer.shared}, {t.otherDB, newer.otherDB}} {
		for pid, ticks := range pair[1] {
			pair[0][pid] = ticks
		}
	}
}

func (t pgTicks) clone() pgTicks {
	c := pgTicks{ours: map[int]uint64{}, shared: map[int]uint64{}, otherDB: map[int]uint64{}}
	c.merge(t)
	return c
}

// grown sums each process's CPU time since before: all of it for a process
// that started meanwhile; a process that ended meanwhile is lost (it shows
// in "other").
func grown(before, after map[int]uint64) uint64 {
	var sum uint64
	for pid, t := range after {
		if t >= before[pid] {
			sum += t - before[pid]
		}
	}
	return sum
}

func sampleCPU(enginePID int, dbName string) cpuSample {
	s := cpuSample{at: time.Now(), pg: samplePostgres(dbName)}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		for i, f := range strings.Fields(line)[1:] {
			v, _ := strconv.ParseUint(f, 10, 64)
			if i < 8 { // user nice system idle iowait irq softirq steal
				s.total += v
			}
			switch i {
			case 3:
				s.idle = v
			case 4:
				s.iowait = v
			case 5, 6: // irq, softirq: loopback networking among them
				s.irq += v
			case 7:
				s.steal = v
			}
		}
	}
	s.engine = processTicks(enginePID)
	s.self = processTicks(os.Getpid())
	return s
}

// processTicks is a process's user plus system time.
func processTicks(pid int) uint64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at state.
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}

// cpuUse is where the machine's CPU went during a phase, in cores (a fully
// busy 2-core machine is 2.0): ctjournal (the server side, enginePID's
// process: serve, or in its phase the HTTP floor's server, while an idle
// serve falls in "other"); PostgreSQL's backends of the run's database,
// its shared processes, its backends of other databases; this benchmark;
// every other process (the remainder); idle; waiting for the disk. A
// PostgreSQL process that ended during the phase is counted in "other".
type cpuUse struct {
	Engine    float64 `json:"ctjournal_cores"`
	Postgres  float64 `json:"postgres_cores"`          // this run's backends
	PGShared  float64 `json:"postgres_shared_cores"`   // WAL writer, checkpointer, …
	PGOtherDB float64 `json:"postgres_other_db_cores"` // other databases: not this run
	Bench     float64 `json:"bench_cores"`
	IRQ       float64 `json:"irq_cores"`   // interrupts and softirqs (loopback networking), not attributed to a process
	Other     float64 `json:"other_cores"` // other processes: not this run
	Idle      float64 `json:"idle_cores"`
	IOWait    float64 `json:"iowait_cores"`
	// Steal is CPU time the hypervisor gave to other virtual machines: on
	// a shared host, capacity this run did not have.
	Steal float64 `json:"steal_cores"`
	// HeldBack is the share of the phase during which committed log records
	// were hidden from the projection by another database's transaction.
	HeldBack float64 `json:"held_back_by_other_databases"`
	// Connections counts the sessions opened to the run's database during
	// the phase (pg_stat_database.sessions): each one a backend forked.
	Connections int64 `json:"connections_opened"`
	// WALMB is the WAL the whole server wrote during the phase.
	WALMB float64 `json:"wal_mb"`
}

func (a cpuSample) until(b cpuSample) cpuUse {
	secs := b.at.Sub(a.at).Seconds()
	dt := float64(b.total - a.total)
	if secs <= 0 || dt <= 0 {
		return cpuUse{}
	}
	cores := float64(runtime.NumCPU())
	share := func(ticks uint64) float64 { return float64(ticks) / dt * cores }
	proc := func(from, to uint64) float64 {
		if to < from { // a process ended or the pid was reused
			return 0
		}
		return float64(to-from) / clockTicks / secs
	}
	u := cpuUse{
		Engine:    proc(a.engine, b.engine),
		Postgres:  proc(0, grown(a.pg.ours, b.pg.ours)),
		PGShared:  proc(0, grown(a.pg.shared, b.pg.shared)),
		PGOtherDB: proc(0, grown(a.pg.otherDB, b.pg.otherDB)),
		Bench:     proc(a.self, b.self),
		Idle:      share(b.idle - a.idle),
		IOWait:    share(b.iowait - a.iowait),
		IRQ:       share(b.irq - a.irq),
		Steal:     share(b.steal - a.steal),
	}
	busy := cores - u.Idle - u.IOWait - u.Steal
	u.Other = max(0, busy-u.Engine-u.Postgres-u.PGShared-u.PGOtherDB-u.Bench-u.IRQ)
	return u
}

func (u cpuUse) String() string {
	return fmt.Sprintf("cpu cores: ctjournal %.2f, postgres %.2f (+shared %.2f), bench %.2f, irq %.2f; not this run: postgres %.2f, other %.2f; idle %.2f, iowait %.2f, steal %.2f; log held back by other databases %.0f%% of the time; %d connections opened; %.1f MB of WAL",
		u.Engine, u.Postgres, u.PGShared, u.Bench, u.IRQ, u.PGOtherDB, u.Other, u.Idle, u.IOWait, u.Steal, 100*u.HeldBack, u.Connections, u.WALMB)
}

// trackCPU samples the CPU now and PostgreSQL's processes every 250 ms until
// the returned function is called, which gives the phase's use.
func trackCPU(enginePID func() int, dbName string) func() cpuUse {
	start := sampleCPU(enginePID(), dbName)
	seen := start.pg.clone()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				seen.merge(samplePostgres(dbName))
			}
		}
	}()
	return func() cpuUse {
		close(stop)
		<-done
		end := sampleCPU(enginePID(), dbName)
		seen.merge(end.pg)
		// A backend just forked still has the postmaster's title: count as
		// shared only the server's own processes, there from the start.
		for pid := range seen.shared {
			if _, ok := start.pg.shared[pid]; !ok {
				delete(seen.shared, pid)
			}
		}
		end.pg = seen
		return start.until(end)
	}
}
