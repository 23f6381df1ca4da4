package e2e

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"admsync/pkg/messaging"
	"admsync/pkg/sampledata"
	"admsync/services/admwriter/internal/cli"
	"admsync/services/admwriter/internal/failpoint"
)

// A real admwriter process that dies on every delivery of one event (here
// right before its bridge commit) never answers, so the runner never
// dead-letters it. Once MaxDeliver is spent the max-deliveries capture that
// serve runs moves the message to the DLQ, where it can be replayed: the
// event ends in Administrate exactly once.
func TestCrashLoopUntilMaxDeliverEndsInTheDLQ(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ct := b.template(sampledata.LMS, 0)
	title := "ELO-CRASHLOOP-26A"
	ev := b.seedEvent(eventSpec{Template: ct, Title: title, Location: "Online"})
	b.enqueue(ev)

	spawn := func() (*exec.Cmd, chan error) {
		cmd := b.child(crashEnv+"="+failpoint.BeforeBridgeCommit, childLeaseEnv+"=500ms")
		if !testing.Verbose() {
			cmd.Stderr = nil
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	crashes := 0
	deadline := time.Now().Add(3 * time.Minute)
	for len(b.deadLetters()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d crashes the message is not in the DLQ", crashes)
		}
		cmd, done := spawn()
	wait:
		for {
			select {
			case err := <-done:
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 137 {
					t.Fatalf("admwriter ended with %v, want exit status 137 at the failpoint", err)
				}
				crashes++
				break wait
			case <-time.After(100 * time.Millisecond):
				if len(b.deadLetters()) > 0 || time.Now().After(deadline) {
					_ = cmd.Process.Signal(syscall.SIGTERM)
					<-done
					break wait
				}
			}
		}
	}
	if crashes != 5 {
		t.Errorf("%d crashes before the dead letter, want one per delivery (MaxDeliver 5)", crashes)
	}
	dls := b.deadLetters()
	if len(dls) != 1 || dls[0].Reason != messaging.ReasonNoAnswer || dls[0].Cause != messaging.CauseNoAnswer || dls[0].Deliveries != 5 {
		t.Fatalf("dead letters %+v, want one with reason %q", dls, messaging.ReasonNoAnswer)
	}
	if _, state := b.bridge(ev); state == "done" {
		t.Fatal("the bridge is done although every delivery crashed before its commit")
	}

	// The operator replays it (the process no longer crashes): done, once.
	if _, err := cli.Replay(b.ctx, b.db.Pool, messaging.NewDLQ(b.js), dls[0].Sequence, false); err != nil {
		t.Fatal(err)
	}
	b.start(runOpts{workers: 1})
	b.waitState("done", 1)
	b.oneEvent(title)
	b.noDeadLetters() // the replay removed the letter
}
