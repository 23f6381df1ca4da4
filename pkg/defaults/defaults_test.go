package defaults

import (
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	var opts struct {
		Workers int
		Wait    time.Duration
		Rate    float64
	}
	opts.Workers = -3
	opts.Rate = 2.5
	Positive(&opts.Workers, 1)
	Positive(&opts.Wait, 5*time.Second)
	Positive(&opts.Rate, 15)
	if opts.Workers != 1 || opts.Wait != 5*time.Second || opts.Rate != 2.5 {
		t.Fatalf("after Positive: %+v, want Workers 1, Wait 5s, Rate 2.5 (kept)", opts)
	}
}
