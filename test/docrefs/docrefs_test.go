package docrefs

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var binaries = []string{"syncer", "importer", "admwriter"}

// A text a reader meets, and where it is.
type text struct {
	where string
	body  string
}

// TestEveryNamedCommandExists scans the texts for command lines of our
// binaries and checks each subcommand and flag against the real trees.
func TestEveryNamedCommandExists(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	trees := buildTrees(t, root)
	texts := append(goStrings(t, root), markdown(t, root)...)
	checked := 0
	for _, tx := range texts {
		for _, line := range commandLines(tx.body) {
			checked++
			t.Logf("%s: %s", tx.where, strings.Join(line, " "))
			if problem := trees.check(line); problem != "" {
				t.Errorf("%s: `%s`: %s", tx.where, strings.Join(line, " "), problem)
			}
		}
	}
	// The scan must find the commands we know are documented, or it checks nothing.
	if checked < 20 {
		t.Fatalf("only %d command lines found: the scan is broken", checked)
	}
	t.Logf("%d command lines checked in %d texts", checked, len(texts))
}

// The scanner finds commands in the contexts they are written in and
// reports what does not exist.
func TestCheckFindsMissingCommands(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	trees := buildTrees(t, root)
	for body, bad := range map[string]bool{
		"hint: run `syncer sync custom-fields` and try again": true,
		"hint: run `syncer run custom-fields` and try again":  false,
		`migrated with "syncer migrate --existing"`:           false,
		`migrated with "syncer migrate --exist"`:              true,
		"  $ importer import events.xlsx --dry-run":           false,
		"  $ importer import events.xlsx --dryrun":            true,
		"bin/admwriter dlq list":                              false,
		"bin/admwriter dlq lst":                               true,
		"the syncer keeps the bridge tables in step":          false, // prose, not a command
	} {
		lines := commandLines(body)
		if len(lines) == 0 && !strings.HasPrefix(body, "the ") {
			t.Errorf("%q: no command line found", body)
			continue
		}
		problem := ""
		for _, l := range lines {
			if p := trees.check(l); p != "" {
				problem = p
			}
		}
		if (problem != "") != bad {
			t.Errorf("%q: problem %q, want one: %v", body, problem, bad)
		}
	}
}

// --- the command trees, read from the binaries' --help ---

type command struct {
	subs map[string]bool // subcommands and their aliases
	// children are the subcommands listed under Available Commands, without
	// aliases.
	children []string
	flags    map[string]bool // "--name" and "-n", inherited ones included
}

type trees struct {
	t     *testing.T
	dir   string
	cache map[string]*command
}

// binDir holds the binaries built from this tree by TestMain.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "docrefs-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := func() int {
		for _, b := range binaries {
			cmd := exec.Command("go", "build", "-o", filepath.Join(dir, b), "admsync/services/"+b)
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b, err, out)
				return 1
			}
		}
		return m.Run()
	}()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildTrees(t *testing.T, _ string) *trees {
	return &trees{t: t, dir: binDir, cache: map[string]*command{}}
}

var (
	helpSub   = regexp.MustCompile(`^  ([a-z][a-z0-9_-]*)\s`)
	helpFlags = regexp.MustCompile(`(?:^|\s)(--?[a-zA-Z0-9][a-zA-Z0-9-]*)`)
)

// help parses `bin path... --help`.
func (tr *trees) help(path []string) *command {
	key := strings.Join(path, " ")
	if c, ok := tr.cache[key]; ok {
		return c
	}
	cmd := exec.Command(filepath.Join(tr.dir, path[0]), append(slices.Clone(path[1:]), "--help")...)
	cmd.Env = append(os.Environ(), "LOG_LEVEL=error")
	out, err := cmd.Output()
	if err != nil {
		tr.t.Fatalf("%s --help: %v", key, err)
	}
	c := &command{subs: map[string]bool{}, flags: map[string]bool{"--help": true, "-h": true}}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " "):
			section = strings.TrimSuffix(line, ":")
			continue
		case line == "" || !strings.HasPrefix(line, "  "):
			if !strings.HasPrefix(line, " ") {
				section = ""
			}
			continue
		}
		switch section {
		case "Available Commands", "Additional Commands":
			if m := helpSub.FindStringSubmatch(line); m != nil {
				c.subs[m[1]] = true
				c.children = append(c.children, m[1])
			}
		case "Aliases":
			for _, a := range strings.Split(strings.TrimSpace(line), ",") {
				c.subs[strings.TrimSpace(a)] = true
			}
		case "Flags", "Global Flags":
			// "  -w, --workers int   ..." : the names come before the description.
			spec := strings.TrimSpace(line)
			if i := strings.Index(spec, "   "); i > 0 {
				spec = spec[:i]
			}
			for _, m := range helpFlags.FindAllStringSubmatch(spec, -1) {
				c.flags[m[1]] = true
			}
		}
	}
	tr.cache[key] = c
	return c
}

// check walks one command line (binary first) down the tree and returns
// what does not exist, or "".
func (tr *trees) check(line []string) string {
	path := []string{line[0]}
	cur := tr.help(path)
	descending := true
	for _, tok := range line[1:] {
		if strings.HasPrefix(tok, "-") {
			name, _, _ := strings.Cut(tok, "=")
			if !cur.flags[name] {
				return "no flag " + name + " on " + strings.Join(path, " ")
			}
			continue
		}
		if !descending || len(cur.subs) == 0 {
			descending = false
			continue
		}
		if !plainWord.MatchString(tok) {
			descending = false // a placeholder: <stage>, FILE.xlsx, a|b
			continue
		}
		if tok == "help" {
			return ""
		}
		if !cur.subs[tok] {
			return "no command " + strings.Join(append(path, tok), " ")
		}
		path = append(path, tok)
		cur = tr.help(path)
	}
	return ""
}

// --- finding command lines in texts ---

var (
	plainWord = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	// Where a command is written as one: in `code`, in "quotes", on an
	// indented or prompted line, or as bin/<binary>.
	spans = []*regexp.Regexp{
		regexp.MustCompile("`([^`\n]+)`"),
		regexp.MustCompile(`"((?:[./\w-]*/)?(?:syncer|importer|admwriter) [^"\n]*)"`),
		regexp.MustCompile(`(?m)^(?:[ \t]{2,}|\t)(?:\$ )?((?:[./\w-]*/)?(?:syncer|importer|admwriter)(?: [^\n]*)?)$`),
		regexp.MustCompile(`(?m)(?:^|[\s(])(\$ [^\n]+)`),
		regexp.MustCompile(`((?:\./)?bin/(?:syncer|importer|admwriter)(?: [^\n` + "`" + `"']*)?)`),
	}
	tokenRE = regexp.MustCompile(`\S+`)
)

// commandLines returns every command line of our binaries in body, each
// as its words from the binary's name on.
func commandLines(body string) [][]string {
	seen := map[string]bool{}
	var out [][]string
	for _, re := range spans {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			words := tokenRE.FindAllString(m[1], -1)
			start := -1
			for i, w := range words {
				if w == "$" {
					continue
				}
				if slices.Contains(binaries, filepath.Base(w)) && (i == 0 || words[i-1] == "$" || i == 1 && words[0] == "$") {
					start = i
				}
				break
			}
			if start < 0 {
				continue
			}
			line := []string{filepath.Base(words[start])}
		words:
			for _, w := range words[start+1:] {
				if strings.ContainsAny(w[:1], "|;&#>)") || w == "\\" {
					break
				}
				w = strings.TrimRight(w, ".,:;)")
				// Usage notation: [--seed S], --import ID|--all, \| in tables.
				w = strings.Trim(strings.ReplaceAll(w, `\|`, "|"), "[]")
				if w == "" {
					break
				}
				alts := strings.Split(w, "|")
				for _, a := range alts {
					if strings.HasPrefix(a, "-") {
						line = append(line, a)
					}
				}
				if len(alts) > 1 || strings.HasPrefix(w, "-") {
					if !strings.HasPrefix(alts[0], "-") {
						line = append(line, "<"+w+">") // an argument, then flags
					}
					continue words
				}
				line = append(line, w)
			}
			key := strings.Join(line, " ")
			if !seen[key] {
				seen[key] = true
				out = append(out, line)
			}
		}
	}
	return out
}

// goStrings returns every string literal in the Go sources of services/
// and pkg/ (messages, hints, --help text).
func goStrings(t *testing.T, root string) []text {
	t.Helper()
	var out []text
	fset := token.NewFileSet()
	for _, dir := range []string{"services", "pkg"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					return true
				}
				rel, _ := filepath.Rel(root, path)
				out = append(out, text{where: rel + ":" + strconv.Itoa(fset.Position(lit.Pos()).Line), body: s})
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// markdown returns the READMEs and docs/*.md.
func markdown(t *testing.T, root string) []text {
	t.Helper()
	var files []string
	for _, g := range []string{"README.md", "docs/*.md", "services/*/README.md", "deploy/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, g))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []text
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		// One text per line keeps the position; fenced blocks are indented
		// so the line rule sees them.
		inFence := false
		for i, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inFence = !inFence
				continue
			}
			if inFence {
				line = "    " + line
			}
			out = append(out, text{where: rel + ":" + strconv.Itoa(i+1), body: line})
		}
	}
	return out
}
