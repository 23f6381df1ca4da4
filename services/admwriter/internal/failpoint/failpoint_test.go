package failpoint

import "testing"

func TestValid(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"after_create": true, "before_bridge_commit": true, "before_ack": true,
		"after_create, before_ack": true, "after_crate": false, "": false,
	} {
		if got := Valid(v); got != want {
			t.Errorf("Valid(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestFromEnvUnsetIsNil(t *testing.T) {
	t.Setenv(EnvVar, "")
	if FromEnv() != nil {
		t.Fatal("FromEnv with nothing set must be nil")
	}
}

func TestFromEnvIgnoresOtherPoints(t *testing.T) {
	t.Setenv(EnvVar, BeforeAck)
	f := FromEnv()
	if f == nil {
		t.Fatal("FromEnv = nil")
	}
	if err := f(AfterCreate); err != nil { // a point not listed passes through
		t.Fatal(err)
	}
}
