package service

import (
	"errors"
	"testing"
)

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(Usagef("bad flag %s", "--x")) != 2 {
		t.Fatal("exit codes")
	}
	if got := redactURLs("nats://user:pw@host:4222,nats://h2:4222"); got != "nats://[redacted]@host:4222,nats://h2:4222" {
		t.Fatal(got)
	}
}
