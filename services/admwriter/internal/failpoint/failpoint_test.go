package failpoint

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

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

// The shipped admwriter must not be able to crash itself on request: only a
// build with the tag "failpoints" reads ADMWRITER_CRASH_AT. Both builds are
// checked, so the test fails if the tag stops mattering either way.
func TestDefaultBuildHasNoFailpoint(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go tool on PATH")
	}
	t.Parallel()
	marker := []byte("ADMWRITER_CRASH_AT")
	for _, tc := range []struct {
		tags string
		want bool
	}{{"", false}, {"failpoints", true}} {
		bin := filepath.Join(t.TempDir(), "admwriter")
		args := []string{"build", "-o", bin}
		if tc.tags != "" {
			args = append(args, "-tags", tc.tags)
		}
		cmd := exec.Command("go", append(args, "admsync/services/admwriter")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		data, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(data, marker); got != tc.want {
			t.Errorf("build with tags %q contains %s: %v, want %v", tc.tags, marker, got, tc.want)
		}
	}
}
