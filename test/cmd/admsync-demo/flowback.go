package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"admsync/test/harness"
)

// The webhook intake of the demo's syncer: a loopback address and throw-away
// credentials (a real installation keeps them in its secrets).
const (
	demoWebhookToken  = "demo-route-token-0123456789"
	demoWebhookSecret = "demo-webhook-secret"
)

func demoWebhookEnv(addr string) []string {
	return []string{"WEBHOOK_ADDR=" + addr, "WEBHOOK_ROUTE_TOKEN=" + demoWebhookToken, "WEBHOOK_SECRET=" + demoWebhookSecret}
}

func loopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// flowBack shows one change made in Administrate reaching the tutorial tables:
// the webhooks are registered, an event written by the admwriter is sold out in
// the simulated Administrate, and the demo waits for the syncer's webhook
// consumer to mark the tutorial event sold out.
func flowBack(ctx context.Context, st *harness.Stack, addr string, say func(string, ...any)) error {
	env := demoWebhookEnv(addr)
	say("$ syncer webhooks register --public-url http://%s", addr)
	if out, err := st.RunEnv(ctx, env, "syncer", "webhooks", "register", "--public-url", "http://"+addr); err != nil {
		return fmt.Errorf("syncer webhooks register: %w\n%s", err, out)
	}
	var extID, code string
	var tutID int64
	err := st.Pool.QueryRow(ctx, `SELECT e.external_id, t.id, t.code FROM adm.events e JOIN acted.tutorial_events t ON t.id = e.tutorial_event_id
		WHERE e.external_id IS NOT NULL AND NOT t.is_soldout ORDER BY e.id LIMIT 1`).Scan(&extID, &tutID, &code)
	if err != nil {
		return fmt.Errorf("find an event to change: %w", err)
	}
	say("in Administrate, an administrator marks event %s sold out", code)
	start := time.Now()
	if err := st.Sim.ChangeEvent(extID, []byte(`{"isSoldOut": true}`)); err != nil {
		return err
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		var sold bool
		var places int
		if err := st.Pool.QueryRow(ctx, `SELECT is_soldout, remain_space FROM acted.tutorial_events WHERE id = $1`, tutID).Scan(&sold, &places); err != nil {
			return err
		}
		if sold {
			say("the webhook brought it back: tutorial event %s is sold out (%d places left) %s later", code, places,
				time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the sold-out change did not reach the tutorial tables within 60s (see syncer.log)")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
