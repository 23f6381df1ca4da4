package service

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"admsync/pkg/config"
)

func TestExitCode(t *testing.T) {
	if ExitCode(nil) != 0 || ExitCode(errors.New("x")) != 1 || ExitCode(Usagef("bad flag %s", "--x")) != 2 {
		t.Fatal("exit codes")
	}
}

// A NATS_URL nats.go cannot parse is echoed in its error; the password must
// not be (pkg/config's tests cover the other connection strings).
func TestNATSErrorHidesPassword(t *testing.T) {
	for _, u := range []string{
		"nats://importer:s3cr3t-Pw@127.0.0.1:abc",
		"nats://importer:s3cr3t-Pw@127.0.0.1:4222,nats://importer:s3cr3t-Pw@h2:x",
		"nats://importer:s3cr3t%zzPw@127.0.0.1:4222",
	} {
		cfg, err := config.LoadWith(config.MapLookuper(map[string]string{"NATS_URL": u, "METRICS_ADDR": ""}))
		if err != nil {
			t.Fatal(err)
		}
		e := SetupWith("test", cfg, io.Discard)
		_, _, err = e.NATS(context.Background())
		if err == nil {
			t.Fatalf("%s: connected", u)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "importer") {
			t.Errorf("error should still name the user: %v", err)
		}
	}
}
