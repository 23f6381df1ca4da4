package observability

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestEndpoints(t *testing.T) {
	reg := NewRegistry("test")
	healthy := true
	srv, err := NewServer("127.0.0.1:0", reg, Check{Name: "postgres", Fn: func(context.Context) error {
		if healthy {
			return nil
		}
		return errors.New("connection refused")
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx) }()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "admsync_build_info") || !strings.Contains(body, "go_goroutines") {
		t.Fatalf("metrics: %d %s", code, body[:min(200, len(body))])
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Fatalf("readyz %d", code)
	}
	healthy = false
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "postgres: not ready") {
		t.Fatalf("readyz unhealthy: %d %s", code, body)
	}
	if code, _ := get("/livez"); code != 200 {
		t.Fatalf("livez must not depend on dependencies")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
