package deploy

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/testwait"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsOptions loads the rendered NATS configuration the way the pod does:
// nats.conf and users.conf from the ConfigMap and auth.conf from the
// Secret, side by side, parsed by nats-server itself.
func natsOptions(t *testing.T, r *rendered) *server.Options {
	t.Helper()
	dir := natsConfigDir(t, r, r.secretData(t, "nats-auth")["auth.conf"])
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	if err != nil {
		t.Fatalf("nats-server rejects the rendered config: %v", err)
	}
	return opts
}

// natsConfigDir writes every key of the rendered nats-config ConfigMap and
// auth.conf into a temporary directory, as the pod's projected volume does.
func natsConfigDir(t *testing.T, r *rendered, auth []byte) string {
	t.Helper()
	data := r.configMapData(t, "nats-config")
	dir := t.TempDir()
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range data {
		write(k, []byte(v))
	}
	write("auth.conf", auth)
	return dir
}

// natsUser is one service's connection, with the permission errors the
// server reported to it.
type natsUser struct {
	name string
	nc   *nats.Conn
	js   jetstream.JetStream
	errs chan error
}

// connectAs connects to srv with the credentials of the service's NATS_URL
// in the rendered credentials Secret (so the test also proves that the
// service Secrets and the NATS users agree).
func connectAs(t *testing.T, r *rendered, srv *server.Server, opts *server.Options, user string) *natsUser {
	t.Helper()
	var u *url.URL
	if operatorUsers[user] {
		for _, us := range opts.Users {
			if us.Username == user {
				u = &url.URL{User: url.UserPassword(user, us.Password)}
			}
		}
	} else {
		var err error
		u, err = url.Parse(string(r.secretData(t, user+"-credentials")["nats-url"]))
		if err != nil {
			t.Fatalf("%s nats-url: %v", user, err)
		}
		if u.User.Username() != user {
			t.Fatalf("%s nats-url connects as %q", user, u.User.Username())
		}
	}
	if u == nil {
		t.Fatalf("no credentials for %s", user)
	}
	u.Scheme, u.Host = "nats", strings.TrimPrefix(srv.ClientURL(), "nats://")
	nu := &natsUser{name: user, errs: make(chan error, 64)}
	nc, err := nats.Connect(u.String(), nats.Name("deploy-test-"+user),
		// The reply prefix the service's pods are given, through the same
		// option the services use.
		messaging.InboxPrefix(inboxPrefix(t, r, user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case nu.errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	nu.nc, nu.js = nc, js
	return nu
}

// operatorUsers are the NATS users of people, not of a workload: ops may do
// everything in the account, readonly may only look.
var operatorUsers = map[string]bool{"ops": true, "readonly": true}

// inboxPrefix is NATS_INBOX_PREFIX of every workload that connects as user
// (they must agree); empty for ops, _INBOX_readonly for readonly.
func inboxPrefix(t *testing.T, r *rendered, user string) string {
	t.Helper()
	switch user {
	case "ops":
		return ""
	case "readonly":
		return "_INBOX_readonly"
	}
	prefix, seen := "", false
	for name, pt := range podSpecs(r) {
		for _, c := range pt.Spec.Containers {
			var usesUser bool
			var p string
			for _, e := range c.Env {
				if e.Name == "NATS_INBOX_PREFIX" {
					p = e.Value
				}
			}
			for _, v := range pt.Spec.Volumes {
				if v.Secret != nil && strings.HasPrefix(v.Secret.SecretName, user+"-credentials") {
					usesUser = true
				}
			}
			if !usesUser {
				continue
			}
			if p != "_INBOX_"+user {
				t.Errorf("%s connects as NATS user %s with NATS_INBOX_PREFIX %q, want %q (its only inbox)", name, user, p, "_INBOX_"+user)
			}
			if seen && p != prefix {
				t.Errorf("workloads of NATS user %s disagree on NATS_INBOX_PREFIX: %q and %q", user, prefix, p)
			}
			prefix, seen = p, true
		}
	}
	if !seen {
		t.Fatalf("no workload connects as NATS user %s", user)
	}
	return prefix
}

// denied asserts that the server refuses a publish (or, with sub, a
// subscription) on subject.
func (u *natsUser) denied(t *testing.T, op, subject string) {
	t.Helper()
	for len(u.errs) > 0 {
		<-u.errs
	}
	var err error
	switch op {
	case "pub":
		err = u.nc.Publish(subject, []byte("x"))
	case "sub":
		var s *nats.Subscription
		s, err = u.nc.SubscribeSync(subject)
		if err == nil {
			defer func() { _ = s.Unsubscribe() }()
		}
	}
	if err == nil {
		err = u.nc.Flush()
	}
	if err != nil {
		t.Fatalf("%s %s %s: %v", u.name, op, subject, err)
	}
	select {
	case err := <-u.errs:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Errorf("%s %s %s: unexpected error %v", u.name, op, subject, err)
		} else if !strings.Contains(err.Error(), subject) {
			t.Errorf("%s %s %s: violation reported for something else: %v", u.name, op, subject, err)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("%s may %s %s; it should not", u.name, op, subject)
	}
}

// noErrors asserts that the server reported no permission violation.
func (u *natsUser) noErrors(t *testing.T) {
	t.Helper()
	if err := u.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case err := <-u.errs:
			t.Errorf("%s: %v", u.name, err)
		default:
			return
		}
	}
}

// startNATS runs the rendered configuration in-process, on a free port
// with a temporary store directory.
func startNATS(t *testing.T, r *rendered) (*server.Server, *server.Options) {
	t.Helper()
	opts := natsOptions(t, r)
	opts.Host, opts.Port = "127.0.0.1", -1
	opts.HTTPPort = 0
	opts.StoreDir = t.TempDir()
	opts.PidFile = ""
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(srv.Shutdown)
	return srv, opts
}

// TestNATSPermissions runs the rendered NATS configuration with its users
// and walks each service through its real pkg/messaging code paths: declare
// its own part of the topology, consume with the runner (ack, dead letter),
// report DLQ depth and consumer backlog, publish its results, read the
// workbook object store, and list, replay and delete dead letters. Then it
// checks that the subjects and API calls of the other services are refused.
func TestNATSPermissions(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a NATS server")
	}
	r := render(t, devDir)
	srv, opts := startNATS(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ops := connectAs(t, r, srv, opts, "ops")
	syncer := connectAs(t, r, srv, opts, "syncer")
	importer := connectAs(t, r, srv, opts, "importer")
	admwriter := connectAs(t, r, srv, opts, "admwriter")

	must := func(u *natsUser, what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %s: %v", u.name, what, err)
		}
	}
	publish := func(u *natsUser, subject string) {
		t.Helper()
		_, err := u.js.Publish(ctx, subject, []byte(`{}`), jetstream.WithMsgID(u.name+":"+subject))
		must(u, "publish "+subject, err)
	}
	// handleOne runs the service's runner until it has handled one message
	// with outcome, then stops it.
	handleOne := func(u *natsUser, spec messaging.ConsumerSpec, outcome error) string {
		t.Helper()
		got := make(chan string, 1)
		rctx, stop := context.WithCancel(ctx)
		defer stop()
		runner, err := messaging.NewRunner(u.js, messaging.RunnerOptions{
			Consumer: spec, FetchWait: 500 * time.Millisecond, DrainTimeout: 5 * time.Second,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Handler: func(_ context.Context, m jetstream.Msg) error {
				select {
				case got <- m.Subject():
				default:
				}
				return outcome
			},
		})
		must(u, "runner", err)
		done := make(chan error, 1)
		go func() { done <- runner.Run(rctx) }()
		var subject string
		select {
		case subject = <-got:
		case err := <-done:
			t.Fatalf("%s: runner stopped: %v", u.name, err)
		case <-ctx.Done():
			t.Fatalf("%s: runner handled nothing", u.name)
		}
		// Let the ack or the dead letter complete, then stop.
		testwait.For(t, u.name+": the message settled after handling", func() bool {
			info, err := u.js.Consumer(ctx, spec.Stream, spec.Durable())
			must(u, "consumer", err)
			ci, err := info.Info(ctx)
			must(u, "consumer info", err)
			return ci.NumAckPending == 0 && ci.NumPending == 0
		})
		stop()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: runner: %v", u.name, err)
		}
		return subject
	}
	monitor := func(u *natsUser, spec messaging.ConsumerSpec) {
		t.Helper()
		mon, err := messaging.NewMonitor(u.js, messaging.MonitorOptions{Consumers: []messaging.ConsumerSpec{spec}})
		must(u, "monitor", err)
		must(u, "monitor refresh", mon.Refresh(ctx))
		// The max-deliveries capture the monitor runs declares its own stream and consumer.
		capture, err := messaging.NewCapture(u.js, messaging.CaptureOptions{Consumer: spec})
		must(u, "max-deliveries capture", err)
		must(u, "declare max-deliveries capture", capture.Ensure(ctx))
	}
	topo := messaging.DefaultTopology()

	// Each service declares its own part of the topology (what its serve
	// command does; see servicesTopology).
	for _, u := range []*natsUser{syncer, importer, admwriter} {
		must(u, "ensure topology", topo.Only(servicesTopology[u.name]...).Ensure(ctx, u.js))
		_, err := u.js.AccountInfo(ctx)
		must(u, "account info", err)
	}

	// syncer: a sync request in and acked, a result out; a second request
	// dead-lettered.
	publish(ops, "sync.request.all")
	if s := handleOne(syncer, messaging.SyncerConsumer(), nil); s != "sync.request.all" {
		t.Errorf("syncer handled %s", s)
	}
	publish(syncer, "sync.result.all")
	publish(ops, "sync.request.locations")
	handleOne(syncer, messaging.SyncerConsumer(), messaging.Permanent(errors.New("bad request")))
	monitor(syncer, messaging.SyncerConsumer())

	// importer: a workbook handed over in the object store and an import
	// request in; the workbook read, a result and the relayed tutorial event
	// out.
	opsObs, err := ops.js.ObjectStore(ctx, messaging.BucketWorkbooks)
	must(ops, "object store", err)
	// Several MB, so that reading it back needs flow control.
	workbook := []byte(strings.Repeat("workbook bytes ", 400000))
	_, err = opsObs.PutBytes(ctx, "april.xlsx", workbook)
	must(ops, "put workbook", err)
	publish(ops, "import.request.april")
	handleOne(importer, messaging.ImporterConsumer(), nil)
	obs, err := importer.js.ObjectStore(ctx, messaging.BucketWorkbooks)
	must(importer, "open object store", err)
	got, err := obs.GetBytes(ctx, "april.xlsx")
	must(importer, "get workbook", err)
	if len(got) != len(workbook) {
		t.Errorf("importer read %d bytes of the workbook, want %d", len(got), len(workbook))
	}
	publish(importer, "import.result.april")
	publish(importer, messaging.SubjectTutorialEventCreated)
	publish(ops, "import.request.broken")
	handleOne(importer, messaging.ImporterConsumer(), messaging.Permanent(errors.New("not a workbook")))
	monitor(importer, messaging.ImporterConsumer())

	// admwriter: the tutorial event in and dead-lettered, a result out; its
	// DLQ tools list, replay and delete the dead letter; the replayed event
	// is handled and acked.
	if s := handleOne(admwriter, messaging.AdmWriterConsumer(), messaging.Permanent(errors.New("validation failed"))); s != messaging.SubjectTutorialEventCreated {
		t.Errorf("admwriter handled %s", s)
	}
	publish(admwriter, messaging.SubjectAdmEventFailed)
	monitor(admwriter, messaging.AdmWriterConsumer())
	dlq := messaging.NewDLQ(admwriter.js)
	dls, err := dlq.List(ctx, messaging.ListOptions{OriginalSubject: messaging.SubjectTutorialEventCreated})
	must(admwriter, "dlq list", err)
	if len(dls) != 1 {
		t.Fatalf("admwriter lists %d dead tutorial events, want 1", len(dls))
	}
	seq := dls[0].Sequence
	_, err = dlq.Get(ctx, seq)
	must(admwriter, "dlq get", err)
	_, err = dlq.Replay(ctx, seq, 1)
	must(admwriter, "dlq replay", err)
	must(admwriter, "dlq delete", dlq.Delete(ctx, seq))
	handleOne(admwriter, messaging.AdmWriterConsumer(), nil)
	publish(admwriter, messaging.SubjectAdmEventLinked)
	// The tenant's shared Administrate rate budget: created, read and updated.
	budget, err := administrate.NewSharedBudget(ctx, admwriter.js, administrate.SharedBudgetOptions{Rate: 50})
	must(admwriter, "open the shared rate budget", err)
	for range 2 {
		must(admwriter, "reserve a rate budget slot", budget.Wait(ctx))
	}

	// admwriter events: a command in and acked (serve), its result out, read
	// back by the CLI's ordered consumer; the commands' capture declared.
	publish(admwriter, messaging.SubjectEventCommandPrefix+"publish")
	if s := handleOne(admwriter, messaging.EventCommandsConsumer(), nil); s != messaging.SubjectEventCommandPrefix+"publish" {
		t.Errorf("admwriter handled %s", s)
	}
	publish(admwriter, messaging.SubjectEventResultPrefix+"run1")
	results, err := admwriter.js.OrderedConsumer(ctx, messaging.StreamEventResults, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{messaging.SubjectEventResultPrefix + "run1"}})
	must(admwriter, "ordered consumer of event results", err)
	res, err := results.Next(jetstream.FetchMaxWait(5 * time.Second))
	must(admwriter, "read an event result", err)
	if res.Subject() != messaging.SubjectEventResultPrefix+"run1" {
		t.Errorf("admwriter read %s", res.Subject())
	}
	monitor(admwriter, messaging.EventCommandsConsumer())

	// The syncer spends the same budget (its serve and one-shot commands
	// share it when NATS is configured).
	syncerBudget, err := administrate.NewSharedBudget(ctx, syncer.js, administrate.SharedBudgetOptions{Rate: 50})
	must(syncer, "open the shared rate budget", err)
	for range 2 {
		must(syncer, "reserve a rate budget slot", syncerBudget.Wait(ctx))
	}

	// The read-only operator sees streams, consumers and the account, and
	// nothing else.
	readonly := connectAs(t, r, srv, opts, "readonly")
	_, err = readonly.js.AccountInfo(ctx)
	must(readonly, "account info", err)
	rs, err := readonly.js.Stream(ctx, messaging.StreamTutorialEvents)
	must(readonly, "stream info", err)
	_, err = rs.Consumer(ctx, messaging.AdmWriterConsumer().Durable())
	must(readonly, "consumer info", err)
	names := readonly.js.StreamNames(ctx)
	for range names.Name() {
	}
	must(readonly, "stream names", names.Err())
	readonly.noErrors(t)
	for _, subj := range []string{
		"tutorial.event.created", "sync.request.all", "$JS.API.STREAM.DELETE.DLQ", "$JS.API.STREAM.PURGE.DLQ",
		"$JS.API.STREAM.CREATE.X", "$JS.API.STREAM.MSG.GET.DLQ", "$JS.API.DIRECT.GET.DLQ", "$KV.ADM_RATE.tenant",
		"$JS.API.CONSUMER.CREATE.TUTORIAL_EVENTS.spy", "$JS.API.CONSUMER.MSG.NEXT.TUTORIAL_EVENTS.admwriter",
		"$JS.ACK.TUTORIAL_EVENTS.admwriter.1.1.1.1.1",
	} {
		readonly.denied(t, "pub", subj)
	}
	for _, subj := range []string{">", "_INBOX.>", "tutorial.event.>", "_INBOX_admwriter.>"} {
		readonly.denied(t, "sub", subj)
	}

	// The other dead letters are where the operators expect them.
	all, err := messaging.NewDLQ(ops.js).List(ctx, messaging.ListOptions{})
	must(ops, "dlq list", err)
	var subjects []string
	for _, d := range all {
		subjects = append(subjects, d.OriginalSubject)
	}
	if want := []string{"sync.request.locations", "import.request.broken"}; !slices.Equal(subjects, want) {
		t.Errorf("dead letters of %q, want %q", subjects, want)
	}

	for _, u := range []*natsUser{syncer, importer, admwriter, ops} {
		u.noErrors(t)
	}

	// The attack from the field: a service rewrites the DLQ's limits. The
	// importer's update is refused and the dead letters survive.
	before, err := ops.js.Stream(ctx, messaging.StreamDLQ)
	must(ops, "dlq stream", err)
	bi, err := before.Info(ctx)
	must(ops, "dlq info", err)
	shrunk := bi.Config
	shrunk.MaxMsgs = 1
	uctx, ucancel := context.WithTimeout(ctx, 2*time.Second)
	if _, err := importer.js.UpdateStream(uctx, shrunk); err == nil {
		t.Error("importer updated DLQ's configuration")
	}
	ucancel()
	after, err := ops.js.Stream(ctx, messaging.StreamDLQ)
	must(ops, "dlq stream", err)
	ai, err := after.Info(ctx)
	must(ops, "dlq info", err)
	if ai.Config.MaxMsgs != bi.Config.MaxMsgs || ai.State.Msgs != bi.State.Msgs {
		t.Errorf("DLQ changed by the importer: max_msgs %d -> %d, messages %d -> %d", bi.Config.MaxMsgs, ai.Config.MaxMsgs, bi.State.Msgs, ai.State.Msgs)
	}

	// Every stream, consumer and inbox of the topology, against every
	// service user: only the owner may update a stream, nobody but ops may
	// delete or purge one, a consumer is its service's alone, and each
	// inbox is its user's alone.
	users := map[string]*natsUser{"syncer": syncer, "importer": importer, "admwriter": admwriter}
	topoAll := messaging.DefaultTopology()
	var streams []string
	for _, sc := range topoAll.Streams {
		streams = append(streams, sc.Name)
	}
	for _, o := range topoAll.ObjectStores {
		streams = append(streams, "OBJ_"+o.Bucket)
	}
	streams = append(streams, "KV_"+administrate.DefaultBudgetBucket)
	for _, name := range streams {
		owner, ok := streamOwners[name]
		if !ok {
			t.Errorf("stream %s has no owner in streamOwners: decide which service's NATS user may update it and grant it in nats.conf", name)
			continue
		}
		for uname, u := range users {
			if uname != owner {
				u.denied(t, "pub", "$JS.API.STREAM.UPDATE."+name)
			}
			u.denied(t, "pub", "$JS.API.STREAM.DELETE."+name)
			u.denied(t, "pub", "$JS.API.STREAM.PURGE."+name)
		}
	}
	for _, c := range topoAll.Consumers {
		owner, ok := streamOwners[c.Stream]
		if !ok {
			t.Errorf("consumer %s/%s: stream has no owner in streamOwners", c.Stream, c.Durable())
			continue
		}
		for uname, u := range users {
			if uname == owner {
				continue
			}
			for _, api := range []string{"CONSUMER.DELETE", "CONSUMER.CREATE", "CONSUMER.MSG.NEXT", "CONSUMER.INFO"} {
				u.denied(t, "pub", "$JS.API."+api+"."+c.Stream+"."+c.Durable())
			}
			u.denied(t, "pub", "$JS.ACK."+c.Stream+"."+c.Durable()+".1.1.1.1.1")
		}
	}
	for uname, u := range users {
		u.denied(t, "sub", "_INBOX.>")
		u.denied(t, "sub", ">")
		for other := range users {
			if other != uname {
				u.denied(t, "sub", "_INBOX_"+other+".>")
				u.denied(t, "sub", "_INBOX_"+other+".abc")
			}
		}
	}

	// What each service must not do.
	for _, c := range []struct {
		u        *natsUser
		op, subj string
	}{
		{syncer, "pub", "tutorial.event.created"},
		{syncer, "pub", "import.request.workbook"},
		{syncer, "pub", "adm.event.linked"},
		{syncer, "pub", "dlq.tutorial.event.created"},
		{syncer, "sub", "sync.request.>"},
		{syncer, "sub", ">"},
		{syncer, "pub", "$JS.API.STREAM.DELETE.SYNC_REQUESTS"},
		{syncer, "pub", "$JS.API.STREAM.PURGE.DLQ"},
		{syncer, "pub", "$JS.API.STREAM.CREATE.TUTORIAL_EVENTS"},
		{syncer, "pub", "$JS.API.CONSUMER.MSG.NEXT.TUTORIAL_EVENTS.admwriter"},
		{syncer, "pub", "$JS.API.DIRECT.GET.DLQ"},
		{importer, "pub", "sync.request.all"},
		{importer, "pub", "adm.event.linked"},
		{importer, "pub", "dlq.tutorial.event.created"},
		{importer, "pub", "$JS.API.STREAM.PURGE.TUTORIAL_EVENTS"},
		{importer, "pub", "$JS.API.STREAM.MSG.DELETE.DLQ"},
		{importer, "pub", "$JS.API.STREAM.CREATE.SYNC_REQUESTS"},
		{importer, "pub", "$JS.API.STREAM.UPDATE.TUTORIAL_EVENTS"},
		{importer, "pub", "$JS.API.CONSUMER.CREATE.TUTORIAL_EVENTS.admwriter.tutorial.event.created"},
		{importer, "pub", "$JS.API.CONSUMER.MSG.NEXT.TUTORIAL_EVENTS.admwriter"},
		{importer, "pub", "$JS.API.CONSUMER.CREATE.TUTORIAL_EVENTS.spy"},
		{importer, "pub", "$JS.ACK.TUTORIAL_EVENTS.admwriter.1.1.1.1.1"},
		{importer, "sub", "tutorial.event.>"},
		{importer, "pub", "$KV.ADM_RATE.tenant"},
		{syncer, "pub", "$JS.API.STREAM.DELETE.KV_ADM_RATE"},
		{syncer, "pub", "$JS.API.STREAM.UPDATE.KV_ADM_RATE"},
		{syncer, "pub", "$JS.API.STREAM.PURGE.KV_ADM_RATE"},
		{admwriter, "pub", "$JS.API.STREAM.DELETE.KV_ADM_RATE"},
		{admwriter, "pub", "$JS.API.STREAM.PURGE.KV_ADM_RATE"},
		{admwriter, "pub", "sync.request.all"},
		{admwriter, "pub", "import.result.x"},
		{admwriter, "pub", "dlq.sync.request.all"},
		{admwriter, "pub", "$JS.API.STREAM.DELETE.TUTORIAL_EVENTS"},
		{admwriter, "pub", "$JS.API.CONSUMER.MSG.NEXT.SYNC_REQUESTS.syncer"},
		{admwriter, "pub", "$JS.API.DIRECT.GET.OBJ_workbooks.$O.workbooks.M.x"},
		{admwriter, "sub", "$JS.EVENT.>"},
	} {
		c.u.denied(t, c.op, c.subj)
	}
}

// streamOwners names the service whose NATS user may update each stream
// (and the object store's OBJ_ stream). The others may at most create it
// with the same configuration, which changes nothing once it exists.
var streamOwners = map[string]string{
	messaging.StreamSyncRequests:       "syncer",
	messaging.StreamSyncResults:        "syncer",
	messaging.StreamWebhooks:           "syncer",
	messaging.StreamImportRequests:     "importer",
	messaging.StreamImportResults:      "importer",
	"OBJ_" + messaging.BucketWorkbooks: "importer",
	messaging.StreamTutorialEvents:     "admwriter",
	messaging.StreamAdmResults:         "admwriter",
	messaging.StreamDLQ:                "admwriter",
	// The max-deliveries capture of a work stream belongs to its consumer's service.
	messaging.MaxDeliveriesStreamName(messaging.StreamSyncRequests):   "syncer",
	messaging.MaxDeliveriesStreamName(messaging.StreamImportRequests): "importer",
	messaging.MaxDeliveriesStreamName(messaging.StreamTutorialEvents): "admwriter",
	// The tenant's shared Administrate rate budget (key-value bucket).
	"KV_" + administrate.DefaultBudgetBucket: "admwriter",
	// Event lifecycle commands and their results ("admwriter events").
	messaging.StreamEventCommands:                                    "admwriter",
	messaging.StreamEventResults:                                     "admwriter",
	messaging.MaxDeliveriesStreamName(messaging.StreamEventCommands): "admwriter",
}

// servicesTopology is the part of messaging.DefaultTopology each service
// may declare with its NATS user: the streams it consumes and answers on,
// DLQ, and (importer) the workbooks bucket. Only keeps every consumer of a
// stream named, so the importer does not declare TUTORIAL_EVENTS: that
// would create the admwriter's consumer.
var servicesTopology = map[string][]string{
	"syncer":    {messaging.StreamSyncRequests, messaging.StreamSyncResults, messaging.StreamDLQ},
	"importer":  {messaging.StreamImportRequests, messaging.StreamImportResults, messaging.StreamDLQ, messaging.BucketWorkbooks},
	"admwriter": {messaging.StreamTutorialEvents, messaging.StreamAdmResults, messaging.StreamDLQ, messaging.StreamEventCommands, messaging.StreamEventResults},
}

// The full topology (every stream and every consumer) needs more than any
// service's NATS user may do; a serve command that declares it fails to
// start in Kubernetes. The services must declare their part only
// (messaging.DefaultTopology().Only(...), as in servicesTopology).
func TestServicesDeclareOnlyTheirTopology(t *testing.T) {
	t.Parallel()
	full := regexp.MustCompile(`messaging\.EnsureTopology\(|DefaultTopology\(\)\.Ensure\(`)
	err := filepath.WalkDir("../services", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if strings.Contains(filepath.ToSlash(path), "/e2e/") || strings.Contains(filepath.ToSlash(path), "test/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if full.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d declares the whole NATS topology; with the deploy's per-service NATS users it must declare only its part, e.g. messaging.DefaultTopology().Only(%s).Ensure", path, i+1, topologyHint(path))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func topologyHint(path string) string {
	for svc, names := range servicesTopology {
		if strings.Contains(filepath.ToSlash(path), "services/"+svc+"/") {
			var q []string
			for _, n := range names {
				q = append(q, strconv.Quote(n))
			}
			return strings.Join(q, ", ")
		}
	}
	return "..."
}
