//go:build failpoints

package failpoint

import "testing"

func TestFromEnvUnsetIsNil(t *testing.T) {
	t.Setenv(EnvVar, "")
	if f, err := FromEnv(); f != nil || err != nil {
		t.Fatalf("FromEnv with nothing set = %v, %v; want nil", f != nil, err)
	}
}

func TestFromEnvRefusesUnknownPoints(t *testing.T) {
	t.Setenv(EnvVar, "after_crate")
	if _, err := FromEnv(); err == nil {
		t.Fatal("FromEnv accepted an unknown point")
	}
}

func TestFromEnvIgnoresOtherPoints(t *testing.T) {
	t.Setenv(EnvVar, BeforeAck)
	f, err := FromEnv()
	if f == nil || err != nil {
		t.Fatalf("FromEnv = %v, %v", f != nil, err)
	}
	if err := f(AfterCreate); err != nil { // a point not listed passes through
		t.Fatal(err)
	}
}
