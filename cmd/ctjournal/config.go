package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"ctjournal/domain"
)

// defaultAllowedHosts are Calltouch's API nodes, over https.
const defaultAllowedHosts = "*.calltouch.ru"

// Config is every setting of docs/api.md, read from the environment once
// and checked before anything starts.
type Config struct {
	DatabaseURL      string // empty: the embedded store under DataDir
	DataDir          string
	HTTPAddr         string
	IngestToken      string
	AdminToken       string
	RetryBase        time.Duration
	RetryMax         time.Duration
	GiveUpAfter      time.Duration
	CalltouchTimeout time.Duration
	CalltouchRPS     float64
	// CalltouchAllowedHosts is what a policy's server may name.
	CalltouchAllowedHosts domain.HostAllowlist
	DebugAddr             string // CTJ_DEBUG_ADDR: serve net/http/pprof there when set
	Brokers               Brokers
}

// LoadConfig reads the configuration from getenv; an error names the
// variable and what is wrong with it.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		DataDir:     or(getenv("CTJ_DATA_DIR"), "./data"),
		HTTPAddr:    or(getenv("CTJ_HTTP_ADDR"), "127.0.0.1:8080"),
		IngestToken: getenv("CTJ_INGEST_TOKEN"),
		AdminToken:  getenv("CTJ_ADMIN_TOKEN"),
		DebugAddr:   getenv("CTJ_DEBUG_ADDR"),
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return c, fmt.Errorf("CTJ_HTTP_ADDR %q: want host:port: %w", c.HTTPAddr, err)
	}
	durations := []struct {
		name string
		def  time.Duration
		dst  *time.Duration
	}{
		{"CTJ_RETRY_BASE", time.Second, &c.RetryBase},
		{"CTJ_RETRY_MAX", 5 * time.Minute, &c.RetryMax},
		{"CTJ_GIVE_UP_AFTER", 24 * time.Hour, &c.GiveUpAfter},
		{"CTJ_CALLTOUCH_TIMEOUT", 10 * time.Second, &c.CalltouchTimeout},
	}
	for _, d := range durations {
		*d.dst = d.def
		if v := getenv(d.name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return c, fmt.Errorf("%s %q: want a positive Go duration such as 1s or 5m", d.name, v)
			}
			*d.dst = parsed
		}
	}
	if c.RetryMax < c.RetryBase {
		return c, fmt.Errorf("CTJ_RETRY_MAX (%s) is shorter than CTJ_RETRY_BASE (%s)", c.RetryMax, c.RetryBase)
	}
	c.CalltouchRPS = 5
	if v := getenv("CTJ_CALLTOUCH_RPS"); v != "" {
		rps, err := strconv.ParseFloat(v, 64)
		if err != nil || rps < 0 {
			return c, fmt.Errorf("CTJ_CALLTOUCH_RPS %q: want a number ≥ 0 (0: no limit)", v)
		}
		c.CalltouchRPS = rps
	}
	allowed := or(getenv("CTJ_CALLTOUCH_ALLOWED_HOSTS"), defaultAllowedHosts)
	hosts, err := domain.ParseHostAllowlist(allowed)
	if err != nil {
		return c, fmt.Errorf("CTJ_CALLTOUCH_ALLOWED_HOSTS %q: %w", allowed, err)
	}
	c.CalltouchAllowedHosts = hosts
	c.Brokers, err = loadBrokers(getenv)
	return c, err
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
