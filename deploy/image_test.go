package deploy

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"golang.org/x/mod/modfile"
)

// repoRoot is the build context of the root Dockerfile.
const repoRoot = ".."

// instruction is one Dockerfile instruction with its continuation lines
// joined and its comment lines dropped, as BuildKit reads it.
type instruction struct {
	line int    // first line in the Dockerfile
	cmd  string // upper-case keyword
	args string
}

// parseDockerfile reads the Dockerfile into instructions. It handles what
// this project's Dockerfile uses: parser directives and comments, backslash
// continuations, and comment lines inside a continued instruction.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || cur == nil && trimmed == "" {
			continue
		}
		cont := strings.HasSuffix(trimmed, `\`)
		text := strings.TrimSuffix(trimmed, `\`)
		if cur == nil {
			kw, rest, _ := strings.Cut(text, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(kw), args: strings.TrimSpace(rest)}
		} else {
			cur.args += " " + strings.TrimSpace(text)
		}
		if !cont {
			out = append(out, *cur)
			cur = nil
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("%s: instruction at line %d never ends (trailing backslash)", path, cur.line)
	}
	return out
}

// buildStage returns the instructions of the stage named name (FROM … AS
// name), and the ARG defaults declared before the first FROM.
func buildStage(t *testing.T, ins []instruction, name string) (stage []instruction, globalArgs map[string]string) {
	t.Helper()
	globalArgs = map[string]string{}
	in := false
	seenFrom := false
	for _, i := range ins {
		if i.cmd == "FROM" {
			seenFrom = true
			f := strings.Fields(i.args)
			in = len(f) == 3 && strings.EqualFold(f[1], "AS") && f[2] == name
			continue
		}
		if !seenFrom && i.cmd == "ARG" {
			k, v, _ := strings.Cut(i.args, "=")
			globalArgs[k] = v
		}
		if in {
			stage = append(stage, i)
		}
	}
	if len(stage) == 0 {
		t.Fatalf("Dockerfile has no stage %q", name)
	}
	return stage, globalArgs
}

// TestDockerfileCopiesEveryWorkspaceModule: the download layer copies the
// go.mod and go.sum of exactly the modules go.work uses, and the Go image
// is the version go.work asks for. A module added to go.work but not to the
// Dockerfile breaks `go mod download` in the image ("cannot load module …
// listed in go.work file").
func TestDockerfileCopiesEveryWorkspaceModule(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := modfile.ParseWork("go.work", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range wf.Use {
		want = append(want, strings.TrimPrefix(filepath.ToSlash(filepath.Clean(u.Path)), "./"))
	}
	slices.Sort(want)

	stage, args := buildStage(t, parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile")), "build")
	got := map[string][]string{} // module dir -> files copied before the first RUN
	for _, i := range stage {
		if i.cmd == "RUN" {
			break
		}
		if i.cmd != "COPY" {
			continue
		}
		f := strings.Fields(i.args)
		for _, src := range f[:len(f)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			dir, file := filepath.Split(src)
			if file == "go.mod" || file == "go.sum" {
				d := strings.TrimSuffix(dir, "/")
				got[d] = append(got[d], file)
			}
		}
	}
	var have []string
	for d, files := range got {
		have = append(have, d)
		slices.Sort(files)
		if !slices.Equal(files, []string{"go.mod", "go.sum"}) {
			t.Errorf("Dockerfile copies %v of %s before downloading; want go.mod and go.sum", files, d)
		}
	}
	slices.Sort(have)
	if !slices.Equal(have, want) {
		t.Errorf("the Dockerfile's download layer copies the modules %q, go.work uses %q: add a COPY <dir>/go.mod <dir>/go.sum <dir>/ line per module", have, want)
	}
	if wf.Go == nil {
		t.Fatal("go.work has no go directive")
	}
	goMinor := strings.Join(strings.SplitN(wf.Go.Version, ".", 3)[:2], ".")
	if args["GO_VERSION"] != goMinor {
		t.Errorf("Dockerfile ARG GO_VERSION=%s, go.work asks for go %s: build with golang:%s", args["GO_VERSION"], wf.Go.Version, goMinor)
	}
}

// TestDockerfileBuildSteps runs the build stage of the Dockerfile without a
// Docker daemon: the context is copied to a scratch directory honouring
// .dockerignore (with moby's own pattern matcher), each COPY copies what
// Docker would, and each RUN runs its command with /bin/sh in the stage's
// WORKDIR with its ENV and ARGs (cache mounts are the host's Go caches).
// The one rewrite is the output directory /out, which becomes a scratch
// directory; the final stage must copy the binary from there.
func TestDockerfileBuildSteps(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the three service binaries")
	}
	ins := parseDockerfile(t, filepath.Join(repoRoot, "Dockerfile"))
	stage, globalArgs := buildStage(t, ins, "build")
	if last := ins[len(ins)-1]; !slices.ContainsFunc(ins, func(i instruction) bool {
		return i.cmd == "COPY" && strings.Contains(i.args, "--from=build /out/app ")
	}) {
		t.Fatalf("the final stage does not COPY --from=build /out/app (last instruction %s %s)", last.cmd, last.args)
	}

	ctxDir := t.TempDir()
	copyContext(t, repoRoot, ctxDir)
	for _, must := range []string{"go.work", "Dockerfile"} {
		if _, err := os.Stat(filepath.Join(ctxDir, must)); err != nil {
			t.Fatalf(".dockerignore leaves %s out of the context", must)
		}
	}
	for _, leak := range []string{".git", "bin", "deploy/k8s/overlays/dev/secrets/postgres.env.example"} {
		if _, err := os.Stat(filepath.Join(ctxDir, leak)); err == nil {
			t.Errorf("%s is in the build context; .dockerignore should keep it out", leak)
		}
	}

	for _, svc := range []string{"syncer", "importer", "admwriter"} {
		t.Run(svc, func(t *testing.T) {
			root := t.TempDir()
			out := filepath.Join(root, "out")
			env := map[string]string{}
			for k, v := range globalArgs {
				env[k] = v
			}
			buildArgs := map[string]string{"SERVICE": svc, "VERSION": "image-test"}
			workdir := root
			for _, i := range stage {
				switch i.cmd {
				case "ARG":
					k, v, hasDefault := strings.Cut(i.args, "=")
					if a, ok := buildArgs[k]; ok {
						env[k] = a
					} else if hasDefault {
						env[k] = v
					}
				case "ENV":
					for _, kv := range strings.Fields(i.args) {
						k, v, ok := strings.Cut(kv, "=")
						if !ok {
							t.Fatalf("Dockerfile:%d: ENV %q: use KEY=value", i.line, i.args)
						}
						env[k] = v
					}
				case "WORKDIR":
					workdir = filepath.Join(root, i.args)
					if err := os.MkdirAll(workdir, 0o755); err != nil {
						t.Fatal(err)
					}
				case "COPY":
					f := strings.Fields(i.args)
					dest := f[len(f)-1]
					if !filepath.IsAbs(dest) {
						dest = filepath.Join(workdir, dest)
					} else {
						dest = filepath.Join(root, dest)
					}
					for _, src := range f[:len(f)-1] {
						if strings.HasPrefix(src, "--") {
							t.Fatalf("Dockerfile:%d: COPY option %s in the build stage is not understood by this test", i.line, src)
						}
						copyInto(t, filepath.Join(ctxDir, src), dest, strings.HasSuffix(f[len(f)-1], "/") || f[len(f)-1] == ".")
					}
				case "RUN":
					script := runScript(i.args)
					script = strings.ReplaceAll(script, "/out/", out+"/")
					cmd := exec.Command("/bin/sh", "-c", script)
					cmd.Dir = workdir
					cmd.Env = buildEnv(env)
					b, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("Dockerfile:%d RUN %s\nfailed: %v\n%s", i.line, script, err, b)
					}
				default:
					t.Fatalf("Dockerfile:%d: %s in the build stage is not understood by this test; teach it", i.line, i.cmd)
				}
			}
			if st, err := os.Stat(filepath.Join(out, "app")); err != nil || st.Size() == 0 {
				t.Fatalf("the build stage wrote no /out/app: %v", err)
			}
		})
	}
}

var mountFlag = regexp.MustCompile(`^--[a-z-]+=\S+\s*`)

// runScript drops RUN's own flags (--mount=…), leaving the shell command.
func runScript(args string) string {
	s := strings.TrimSpace(args)
	for mountFlag.MatchString(s) {
		s = mountFlag.ReplaceAllString(s, "")
	}
	return s
}

// buildEnv is the container's environment: the stage's ENV and ARGs over a
// minimal host environment (PATH to find go, HOME and the Go caches that
// the RUN's cache mounts stand for). GOWORK and GOFLAGS from the host are
// left out so that the scratch go.work and the Dockerfile's flags apply.
func buildEnv(stage map[string]string) []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "GOMODCACHE", "GOCACHE", "GOPROXY", "GOSUMDB", "GOPATH", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, k := range []string{"GOMODCACHE", "GOCACHE"} {
		if _, ok := os.LookupEnv(k); !ok {
			if v, err := exec.Command("go", "env", k).Output(); err == nil {
				env = append(env, k+"="+strings.TrimSpace(string(v)))
			}
		}
	}
	for k, v := range stage {
		env = append(env, k+"="+v)
	}
	return env
}

// copyContext copies src to dst leaving out what .dockerignore excludes.
func copyContext(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(filepath.Join(src, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil || rel == "." {
			return err
		}
		skip, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if skip {
			// An excluded directory may still hold re-included files
			// (!pattern); walk it unless no exclusion pattern exists.
			if d.IsDir() && pm.Exclusions() {
				return nil
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return copyFile(path, target)
	})
	if err != nil {
		t.Fatalf("copy the build context: %v", err)
	}
}

// copyInto copies a file or a directory tree from the context to dest, the
// way COPY does (a directory's contents, not the directory itself).
func copyInto(t *testing.T, src, dest string, destIsDir bool) {
	t.Helper()
	st, err := os.Stat(src)
	if err != nil {
		t.Fatalf("COPY %s: not in the build context: %v", src, err)
	}
	if !st.IsDir() {
		if destIsDir {
			dest = filepath.Join(dest, filepath.Base(src))
		}
		if err := copyFile(src, dest); err != nil {
			t.Fatal(err)
		}
		return
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dest, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		return copyFile(path, target)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// The nats-server every manifest deploys is the version the tests embed
// (pkg/go.mod): behaviour such as consumer BackOff and permissions is
// measured on that version only.
func TestNATSImageMatchesEmbeddedServer(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, "pkg", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("pkg/go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, r := range mf.Require {
		if r.Mod.Path == "github.com/nats-io/nats-server/v2" {
			want = strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	if want == "" {
		t.Fatal("pkg/go.mod does not require github.com/nats-io/nats-server/v2")
	}
	for _, dir := range kustomizations {
		r := render(t, dir)
		found := 0
		for name, pt := range podSpecs(r) {
			for _, c := range allContainers(&pt.Spec) {
				m := natsImage.FindStringSubmatch(c.Image)
				if m == nil {
					continue
				}
				found++
				if got := m[1] + "." + m[2] + "." + m[3]; got != want {
					t.Errorf("%s: %s container %s runs nats %s; the tests embed %s (pkg/go.mod): deploy the version that was tested", dir, name, c.Name, got, want)
				}
				if v := pt.Labels["app.kubernetes.io/version"]; v != "" && v != want {
					t.Errorf("%s: %s labelled version %s, image %s", dir, name, v, c.Image)
				}
			}
		}
		if found == 0 {
			t.Errorf("%s: no nats container", dir)
		}
	}
}
