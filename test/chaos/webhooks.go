package chaos

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// webhookBurst: changes made in Administrate come back through webhooks while
// the syncer (intake and consumer) is killed -9 and nats-server is killed -9.
// The simulator retries a delivery that got no answer or a 5xx, as
// Administrate does (here after 0.5-4 s instead of minutes). Every delivery
// the intake answered 200 must be applied (lost), none applied twice (the
// syncer's log of applied deliveries), and every event's tutorial row must
// end as Administrate has it.
func webhookBurst(ctx context.Context, r *run) error {
	addr, err := chaosLoopback()
	if err != nil {
		return err
	}
	const token, secret = "chaos-route-token-0123456789", "chaos-webhook-secret"
	env := []string{"WEBHOOK_ADDR=" + addr, "WEBHOOK_ROUTE_TOKEN=" + token, "WEBHOOK_SECRET=" + secret}
	if err := r.up(ctx, setup{natsChild: true, env: env}); err != nil {
		return err
	}
	r.st.Sim.SetWebhookRetryDelays([]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second})
	if _, _, err := r.services(1); err != nil {
		return err
	}
	if _, err := r.importBook(ctx, r.book, "all"); err != nil {
		return err
	}
	if _, err := r.st.WaitDrained(ctx, r.cfg.Drain, nil); err != nil {
		return fmt.Errorf("events not written before the burst: %w", err)
	}
	syncer, err := r.spawn("syncer", "syncer", nil, "serve")
	if err != nil {
		return err
	}
	if !waitHTTP(ctx, "http://"+addr+"/", 30*time.Second) {
		return fmt.Errorf("the webhook intake on %s never answered", addr)
	}
	if out, err := r.st.Run(ctx, "syncer", "webhooks", "register", "--public-url", "http://"+addr); err != nil {
		return fmt.Errorf("syncer webhooks register: %w\n%s", err, out)
	}
	// Baseline: every event's Administrate state recorded once.
	if out, err := r.st.RunEnv(ctx, []string{"LOG_LEVEL=warn"}, "syncer", "run", "events", "--no-prompt"); err != nil {
		return fmt.Errorf("syncer run events: %w\n%s", err, out)
	}
	rows, err := r.st.Pool.Query(ctx, `SELECT external_id FROM adm.events WHERE external_id IS NOT NULL AND state = 'done' ORDER BY id`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		return fmt.Errorf("no written event to change")
	}

	// The burst: 60 changes over a few seconds, with the faults among them.
	const changes = 60
	faults := map[int]string{12: "syncer", 27: "nats", 42: "syncer", 50: "nats"}
	var downs []string
	for i := range changes {
		id := ids[r.rng.IntN(len(ids))]
		var change string
		switch r.rng.IntN(3) {
		case 0:
			change = fmt.Sprintf(`{"isSoldOut": %t}`, r.rng.IntN(2) == 0)
		case 1:
			change = fmt.Sprintf(`{"maxPlaces": %d}`, 5+r.rng.IntN(40))
		default:
			change = `{"lifecycleState": "published"}`
		}
		if err := r.st.Sim.ChangeEvent(id, []byte(change)); err != nil {
			return fmt.Errorf("change %s: %w", id, err)
		}
		switch faults[i] {
		case "syncer":
			syncer.Kill()
			t := time.Now()
			sleep(ctx, r.jitter(300*time.Millisecond, 1500*time.Millisecond))
			if err := syncer.Restart(); err != nil {
				return err
			}
			downs = append(downs, fmt.Sprintf("syncer %.1fs", time.Since(t).Seconds()))
		case "nats":
			t := time.Now()
			if err := r.st.RestartNATS(ctx, false); err != nil {
				return fmt.Errorf("restart nats-server: %w", err)
			}
			downs = append(downs, fmt.Sprintf("nats %.1fs", time.Since(t).Seconds()))
		}
		sleep(ctx, r.jitter(20*time.Millisecond, 120*time.Millisecond))
	}
	healed := time.Now()

	// Every delivery settled (answered 200, or out of retries), then the queue drained.
	settled := func() (accepted map[string]bool, pending, refused int) {
		last := map[string]int{}
		for _, d := range r.st.Sim.WebhookDeliveries() {
			var env struct {
				Metadata struct {
					WebhookID   string `json:"webhook_id"`
					TriggeredAt string `json:"triggered_at"`
				} `json:"metadata"`
			}
			_ = json.Unmarshal(d.Body, &env)
			key := chaosDeliveryID(env.Metadata.WebhookID, d.ObjectID, env.Metadata.TriggeredAt)
			last[key] = d.Status
			if d.Status == http.StatusOK {
				last[key] = -1 // accepted once is accepted
			}
		}
		accepted = map[string]bool{}
		for k, s := range last {
			switch {
			case s == -1:
				accepted[k] = true
			case s == 0 || s == http.StatusTooManyRequests || s >= 500:
				pending++
			default:
				refused++
			}
		}
		return accepted, pending, refused
	}
	var accepted map[string]bool
	for deadline := time.Now().Add(60 * time.Second); ; {
		var pending, refused int
		accepted, pending, refused = settled()
		// An attempt in flight is in no log entry until it returns (the
		// intake may hold it for seconds while NATS is down), so the
		// simulator is asked too.
		unsettled := r.st.Sim.WebhooksUnsettled()
		if unsettled > 0 && pending == 0 {
			pending = unsettled
		}
		if pending == 0 || time.Now().After(deadline) {
			if pending > 0 {
				r.res.problemf("%d deliveries never answered 200 within 60 s of the last fault (Administrate gives up after its retries)", pending)
			}
			if refused > 0 {
				r.res.problemf("%d deliveries refused with a 4xx", refused)
			}
			break
		}
		sleep(ctx, 200*time.Millisecond)
	}
	if err := r.waitWebhooksDrained(ctx, 60*time.Second); err != nil {
		r.res.problemf("%v", err)
	}
	r.res.Recovery = time.Since(healed)

	applied := map[string]bool{}
	drows, err := r.st.Pool.Query(ctx, `SELECT delivery_id FROM admsync.webhook_deliveries`)
	if err != nil {
		return err
	}
	for drows.Next() {
		var id string
		if err := drows.Scan(&id); err != nil {
			drows.Close()
			return err
		}
		applied[id] = true
	}
	drows.Close()
	lost := 0
	for id := range accepted {
		if !applied[id] {
			lost++
		}
	}
	twice, lines, err := appliedTwice(filepath.Join(r.st.Dir, "syncer.log"))
	if err != nil {
		return err
	}
	// Converged: every tutorial event as Administrate has it now.
	diverged := 0
	for _, id := range ids {
		ev, ok := r.st.Sim.Event(id)
		if !ok {
			continue
		}
		var sold bool
		var places int
		if err := r.st.Pool.QueryRow(ctx, `SELECT t.is_soldout, t.remain_space FROM acted.tutorial_events t
			JOIN adm.events e ON e.tutorial_event_id = t.id WHERE e.external_id = $1`, id).Scan(&sold, &places); err != nil {
			return err
		}
		want := ev.MaxPlaces
		if ev.IsSoldOut {
			want = 0
		}
		if sold != ev.IsSoldOut || places != want {
			diverged++
			r.res.problemf("event %s: tutorial sold out %t / %d places, Administrate %t / %d", ev.Title, sold, places, ev.IsSoldOut, want)
		}
	}
	r.res.notef("%d changes, %d deliveries accepted, %d applied (%d log lines); faults: %v; %d events diverged",
		changes, len(accepted), len(applied), lines, downs, diverged)
	if err := r.finish(ctx, healed); err != nil {
		return err
	}
	r.res.Lost += lost
	r.res.Duplicated += twice
	if lost > 0 {
		r.res.problemf("%d webhook deliveries answered 200 but never applied", lost)
	}
	if twice > 0 {
		r.res.problemf("%d webhook deliveries applied twice", twice)
	}
	return nil
}

// chaosDeliveryID is the intake's message id (services/syncer/internal/webhook.DeliveryID).
func chaosDeliveryID(webhookID, objectID, triggeredAt string) string {
	h := sha256.Sum256([]byte(webhookID + "\x1f" + objectID + "\x1f" + triggeredAt))
	return "wh-" + hex.EncodeToString(h[:16])
}

// appliedTwice counts deliveries the syncer's log shows applied (any outcome
// but duplicate) more than once, across its restarts.
func appliedTwice(path string) (twice, lines int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Msg        string `json:"msg"`
			DeliveryID string `json:"delivery_id"`
			Outcome    string `json:"outcome"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || l.Msg != "webhook delivery applied" {
			continue
		}
		lines++
		if l.Outcome != "duplicate" {
			seen[l.DeliveryID]++
		}
	}
	for _, n := range seen {
		if n > 1 {
			twice++
		}
	}
	return twice, lines, sc.Err()
}

func (r *run) waitWebhooksDrained(ctx context.Context, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); ; {
		if info, err := r.st.ConsumerInfo(ctx, "WEBHOOKS", "syncer-webhooks"); err == nil && info.NumPending == 0 && info.NumAckPending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the WEBHOOKS consumer did not drain within %s", timeout)
		}
		if !sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

func chaosLoopback() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return true
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return false
		}
	}
	return false
}
