package deploy

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"admsync/pkg/config"
)

const namespace = "admsync"

// services are the three deployed admsync services.
var services = []string{"syncer", "importer", "admwriter"}

// administrateClients may call Administrate; the importer never does.
var administrateClients = map[string]bool{"syncer": true, "admwriter": true}

// Every kustomization renders, and every object decodes strictly into its
// Kubernetes API type.
func TestManifestsDecodeStrictly(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{baseDir, devDir} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			r := render(t, dir)
			if len(r.objects) == 0 {
				t.Fatal("nothing rendered")
			}
			checkRendered(t, r, map[string]int{
				"Namespace": 1, "StatefulSet": 2, "Deployment": 3, "CronJob": 1, "Job": 1,
				"PodMonitor": 3, "PrometheusRule": 1,
			})
		})
	}
}

// A typo anywhere in a manifest fails: the same decoder that reads the
// rendered output rejects misspelt or duplicated fields, for built-in kinds
// and for the Prometheus Operator ones.
func TestStrictDecodingRejectsTypos(t *testing.T) {
	t.Parallel()
	// deployment is a valid Deployment but for the name of its container's
	// image pull policy field.
	deployment := func(pullPolicyField string) string {
		return `
apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      containers:
        - name: x
          image: x:1
          ` + pullPolicyField + `: IfNotPresent
`
	}
	// pod is a Pod whose one container has the fields of container too.
	pod := func(container string) string {
		return "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: x, image: x:1, " + container + "}]\n"
	}
	// podMonitor is a PodMonitor with one more spec field, endpoints.
	podMonitor := func(endpoints string) string {
		return "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: x}\nspec:\n  selector: {matchLabels: {a: b}}\n  " + endpoints + "\n"
	}
	cases := []struct {
		name, doc string
		wantErr   string // "" means the document is valid
	}{
		{name: "valid deployment", doc: deployment("imagePullPolicy")},
		{name: "misspelt container field", wantErr: "imagePullPolcy", doc: deployment("imagePullPolcy")},
		{name: "valid pod", doc: pod("livenessProbe: {httpGet: {path: /livez, port: 9090}, initialDelaySeconds: 3}")},
		{name: "misspelt probe field", wantErr: "initialDelaySecond", doc: pod("livenessProbe: {httpGet: {path: /livez, port: 9090}, initialDelaySecond: 3}")},
		{name: "misspelt security context", wantErr: "readOnlyRootFileSystem", doc: pod("securityContext: {readOnlyRootFileSystem: true}")},
		{name: "misspelt cronjob policy", wantErr: "concurrencyPolicyy", doc: `
apiVersion: batch/v1
kind: CronJob
metadata: {name: x}
spec:
  schedule: "* * * * *"
  concurrencyPolicyy: Forbid
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: x, image: x:1}]
`},
		{name: "duplicate field", wantErr: `key "data" already set`, doc: `
apiVersion: v1
kind: ConfigMap
metadata: {name: x}
data: {a: "1"}
data: {b: "2"}
`},
		{name: "unregistered kind", wantErr: "no kind", doc: `
apiVersion: apps/v1
kind: Deploymnet
metadata: {name: x}
`},
		{name: "valid pod monitor", doc: podMonitor("podMetricsEndpoints: [{port: metrics, path: /metrics}]")},
		{name: "misspelt pod monitor field", wantErr: "podMetricEndpoints", doc: podMonitor("podMetricEndpoints: [{port: metrics}]")},
		{name: "misspelt alert rule field", wantErr: "expresion", doc: `
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: x}
spec:
  groups:
    - name: g
      rules:
        - alert: A
          expresion: up == 0
`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			checkStrictDecoding(t, c.doc, c.wantErr)
		})
	}
}

// checkRendered checks that r holds want[kind] objects of each kind named
// and that everything but the Namespace is in the admsync namespace.
func checkRendered(t *testing.T, r *rendered, want map[string]int) {
	t.Helper()
	for kind, n := range want {
		if got := len(r.all(kind)); got != n {
			t.Errorf("%d %s object(s), want %d", got, kind, n)
		}
	}
	for _, o := range r.objects {
		if o.kind != "Namespace" && o.namespace != namespace {
			t.Errorf("%s %s is in namespace %q, want %q", o.kind, o.name, o.namespace, namespace)
		}
	}
}

// checkStrictDecoding decodes doc strictly: wantErr "" means it is valid,
// otherwise decoding must fail with an error naming wantErr.
func checkStrictDecoding(t *testing.T, doc, wantErr string) {
	t.Helper()
	_, err := decodeStrict([]byte(doc))
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("valid document rejected: %v", err)
	case wantErr != "" && err == nil:
		t.Errorf("typo %q accepted", wantErr)
	case wantErr != "" && !strings.Contains(err.Error(), wantErr):
		t.Errorf("error %q does not name %q", err, wantErr)
	}
}

// A typo in an overlay patch fails the whole render-and-decode step, which
// is what `make test` runs over the committed overlays.
func TestTypoInOverlayFailsRender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	base := relTo(t, dir, devDir)
	kust := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - %s
patches:
  - patch: |-
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: admwriter
      spec:
        template:
          spec:
            terminationGracePeriodSecond: 90
`, base)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := renderDecode(dir)
	if err == nil || !strings.Contains(err.Error(), "terminationGracePeriodSecond") {
		t.Fatalf("render of an overlay with a misspelt field: err = %v, want it named", err)
	}
}

// podSpecs lists every pod template with the workload it belongs to.
func podSpecs(r *rendered) map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, o := range r.objects {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			out["Deployment/"+o.name] = &w.Spec.Template
		case *appsv1.StatefulSet:
			out["StatefulSet/"+o.name] = &w.Spec.Template
		case *batchv1.Job:
			out["Job/"+o.name] = &w.Spec.Template
		case *batchv1.CronJob:
			out["CronJob/"+o.name] = &w.Spec.JobTemplate.Spec.Template
		}
	}
	return out
}

func allContainers(p *corev1.PodSpec) []corev1.Container {
	return append(slices.Clone(p.InitContainers), p.Containers...)
}

// Every container runs as non-root with a read-only root filesystem, no
// privilege escalation and no capabilities, under the RuntimeDefault seccomp
// profile, with resource requests and a memory limit; no pod gets a service
// account token.
func TestPodsAreLockedDown(t *testing.T) {
	t.Parallel()
	// prod has no PostgreSQL StatefulSet: CloudNativePG runs it.
	wantPods := map[string]int{baseDir: 7, devDir: 7, prodDir: 6}
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			r := render(t, dir)
			pods := podSpecs(r)
			if len(pods) != wantPods[dir] {
				t.Errorf("%d pod templates, want %d (3 Deployments, StatefulSets, CronJob, Job)", len(pods), wantPods[dir])
			}
			for w, tpl := range pods {
				p := &tpl.Spec
				psc := p.SecurityContext
				if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
					t.Errorf("%s: pod seccompProfile is not RuntimeDefault", w)
				}
				if p.AutomountServiceAccountToken == nil || *p.AutomountServiceAccountToken {
					t.Errorf("%s: automountServiceAccountToken is not false", w)
				}
				if p.ServiceAccountName == "" {
					t.Errorf("%s: no serviceAccountName (the default account is shared)", w)
				} else {
					sa, ok := r.get(t, "ServiceAccount", p.ServiceAccountName).(*corev1.ServiceAccount)
					if !ok || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
						t.Errorf("%s: ServiceAccount %s does not set automountServiceAccountToken: false", w, p.ServiceAccountName)
					}
				}
				if p.HostNetwork || p.HostPID || p.HostIPC {
					t.Errorf("%s: uses host namespaces", w)
				}
				for _, c := range allContainers(p) {
					where := w + " container " + c.Name
					sc := c.SecurityContext
					if sc == nil {
						t.Errorf("%s: no securityContext", where)
						continue
					}
					nonRoot := (sc.RunAsNonRoot != nil && *sc.RunAsNonRoot) || (sc.RunAsNonRoot == nil && psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
					if !nonRoot {
						t.Errorf("%s: runAsNonRoot is not true", where)
					}
					uid := sc.RunAsUser
					if uid == nil && psc != nil {
						uid = psc.RunAsUser
					}
					if uid == nil || *uid == 0 {
						t.Errorf("%s: no non-zero runAsUser", where)
					}
					if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
						t.Errorf("%s: readOnlyRootFilesystem is not true", where)
					}
					if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
						t.Errorf("%s: allowPrivilegeEscalation is not false", where)
					}
					if sc.Privileged != nil && *sc.Privileged {
						t.Errorf("%s: privileged", where)
					}
					if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 {
						t.Errorf("%s: capabilities must drop ALL and add none", where)
					}
					res := c.Resources
					if res.Requests.Cpu().IsZero() || res.Requests.Memory().IsZero() {
						t.Errorf("%s: no cpu/memory requests", where)
					}
					if res.Limits.Memory().IsZero() {
						t.Errorf("%s: no memory limit", where)
					}
					// The base leaves tags to the overlays.
					if dir != baseDir && !hasTag(c.Image) {
						t.Errorf("%s: image %q has no tag (or :latest)", where, c.Image)
					}
				}
			}
		})
	}
}

func hasTag(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

func TestImageTag(t *testing.T) {
	t.Parallel()
	for image, want := range map[string]bool{
		"admsync/syncer": false, "admsync/syncer:latest": false, "admsync/syncer:dev": true,
		"registry:5000/admsync/syncer": false, "registry:5000/admsync/syncer:1.2": true,
		"nats@sha256:0123": true,
	} {
		if got := hasTag(image); got != want {
			t.Errorf("hasTag(%q) = %v, want %v", image, got, want)
		}
	}
}

// The recommended labels are on every workload and pod, and selectors use
// only the stable ones.
func TestRecommendedLabels(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	required := []string{
		"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
		"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by",
	}
	check := func(where string, l map[string]string) {
		for _, k := range required {
			if l[k] == "" {
				t.Errorf("%s: label %s missing", where, k)
			}
		}
		if l["app.kubernetes.io/part-of"] != "admsync" {
			t.Errorf("%s: app.kubernetes.io/part-of = %q, want admsync", where, l["app.kubernetes.io/part-of"])
		}
	}
	for _, o := range r.objects {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			check("Deployment/"+o.name, w.Labels)
			check("Deployment/"+o.name+" pods", w.Spec.Template.Labels)
			checkSelector(t, "Deployment/"+o.name, w.Spec.Selector.MatchLabels, w.Spec.Template.Labels)
		case *appsv1.StatefulSet:
			check("StatefulSet/"+o.name, w.Labels)
			check("StatefulSet/"+o.name+" pods", w.Spec.Template.Labels)
			checkSelector(t, "StatefulSet/"+o.name, w.Spec.Selector.MatchLabels, w.Spec.Template.Labels)
		case *batchv1.CronJob:
			check("CronJob/"+o.name, w.Labels)
			check("CronJob/"+o.name+" pods", w.Spec.JobTemplate.Spec.Template.Labels)
		case *batchv1.Job:
			check("Job/"+o.name, w.Labels)
			check("Job/"+o.name+" pods", w.Spec.Template.Labels)
		}
	}
	// No Deployment or StatefulSet selects another workload's pods.
	pods := podSpecs(r)
	for _, o := range r.objects {
		var sel map[string]string
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			sel = w.Spec.Selector.MatchLabels
		case *appsv1.StatefulSet:
			sel = w.Spec.Selector.MatchLabels
		default:
			continue
		}
		for name, tpl := range pods {
			if name != o.kind+"/"+o.name && labels.SelectorFromSet(sel).Matches(labels.Set(tpl.Labels)) {
				t.Errorf("%s/%s selects the pods of %s", o.kind, o.name, name)
			}
		}
	}
}

func checkSelector(t *testing.T, where string, sel, podLabels map[string]string) {
	t.Helper()
	for k, v := range sel {
		if k != "app.kubernetes.io/name" && k != "app.kubernetes.io/instance" {
			t.Errorf("%s: selector uses %s; keep selectors to name and instance (they are immutable)", where, k)
		}
		if podLabels[k] != v {
			t.Errorf("%s: selector %s=%s does not match the pod template", where, k, v)
		}
	}
}

// Each service Deployment: `serve`, a named metrics port 9090, liveness on
// /livez (process only, so a dependency blip restarts nothing), readiness on
// /readyz, a startup probe that is not /readyz, a grace period above the
// drain timeout, a writable /tmp, and a PodMonitor scraping it.
func TestServiceDeployments(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	for _, name := range services {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := r.get(t, "Deployment", name).(*appsv1.Deployment)
			p := d.Spec.Template.Spec
			if len(p.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(p.Containers))
			}
			c := p.Containers[0]
			if !strings.HasPrefix(c.Image, "admsync/"+name+":") {
				t.Errorf("image %q, want admsync/%s:<tag>", c.Image, name)
			}
			if !slices.Equal(c.Args, []string{"serve"}) {
				t.Errorf("args %q, want [serve]", c.Args)
			}
			// The syncer also receives Administrate's webhooks (TestSyncerWebhookIntake).
			wantPorts := map[string]int32{"metrics": 9090}
			if name == "syncer" {
				wantPorts["webhooks"] = webhookPort
			}
			gotPorts := map[string]int32{}
			for _, p := range c.Ports {
				gotPorts[p.Name] = p.ContainerPort
			}
			if !maps.Equal(gotPorts, wantPorts) || len(c.Ports) != len(wantPorts) {
				t.Errorf("ports %+v, want %v", c.Ports, wantPorts)
			}
			probe := func(kind string, pr *corev1.Probe, path string) {
				if pr == nil || pr.HTTPGet == nil {
					t.Errorf("%s probe missing or not HTTP", kind)
					return
				}
				if pr.HTTPGet.Path != path || pr.HTTPGet.Port.String() != "metrics" {
					t.Errorf("%s probe on %s port %s, want %s on metrics", kind, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), path)
				}
			}
			probe("liveness", c.LivenessProbe, "/livez")
			probe("readiness", c.ReadinessProbe, "/readyz")
			probe("startup", c.StartupProbe, "/livez")
			if c.StartupProbe != nil && c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds < 30 {
				t.Errorf("startup probe allows %ds, want at least 30s", c.StartupProbe.FailureThreshold*c.StartupProbe.PeriodSeconds)
			}
			if g := p.TerminationGracePeriodSeconds; g == nil || *g <= 30 {
				t.Errorf("terminationGracePeriodSeconds %v, want above the runner's 25 s drain timeout, with margin", g)
			}
			if !mountsEmptyDir(p, c, "/tmp") {
				t.Error("no emptyDir mounted at /tmp")
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas < 1 {
				t.Error("replicas not set")
			}
			// A PodMonitor scrapes the metrics port of these pods.
			found := false
			for _, o := range r.all("PodMonitor") {
				pm := o.obj.(*podMonitorObject)
				sel := labels.SelectorFromSet(pm.Spec.Selector.MatchLabels)
				if len(pm.Spec.Selector.MatchExpressions) == 0 && sel.Matches(labels.Set(d.Spec.Template.Labels)) {
					for _, ep := range pm.Spec.PodMetricsEndpoints {
						if ep.Port == "metrics" && (ep.Path == "" || ep.Path == "/metrics") {
							found = true
						}
					}
				}
			}
			if !found {
				t.Error("no PodMonitor scrapes the metrics port")
			}
		})
	}
}

func mountsEmptyDir(p corev1.PodSpec, c corev1.Container, at string) bool {
	for _, m := range c.VolumeMounts {
		if m.MountPath != at {
			continue
		}
		for _, v := range p.Volumes {
			if v.Name == m.Name && v.EmptyDir != nil {
				return true
			}
		}
	}
	return false
}

// secretEnv are variables that hold a credential: they may only arrive as a
// mounted file (NAME_FILE).
var secretEnv = []string{"DATABASE_URL", "ADMINISTRATE_CLIENT_SECRET", "NATS_URL", "WEBHOOK_ROUTE_TOKEN", "WEBHOOK_SECRET"}

// envFromSecretAllowed are the exceptions that may come from a Secret as a
// variable; none today (NATS_URL, which carries the NATS password, is read
// from NATS_URL_FILE).
var envFromSecretAllowed = map[string]bool{}

var secretLooking = regexp.MustCompile(`(?i)(password|secret|token|credential|_url$)`)

// Secrets reach the services as files: DATABASE_URL and
// ADMINISTRATE_CLIENT_SECRET are never variables, their *_FILE variables
// name a key of a mounted Secret volume, no variable holds a literal
// credential, and no Secret is imported wholesale with envFrom.
func TestSecretsAreFiles(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	for w, tpl := range podSpecs(r) {
		p := &tpl.Spec
		for _, c := range allContainers(p) {
			where := w + " container " + c.Name
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					t.Errorf("%s: envFrom Secret %s turns every key into a variable; mount it", where, ef.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if slices.Contains(secretEnv, e.Name) {
					t.Errorf("%s: %s set as a variable; use %s_FILE", where, e.Name, e.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && !envFromSecretAllowed[e.Name] {
					t.Errorf("%s: %s comes from a Secret as a variable; mount it as a file", where, e.Name)
				}
				if e.Value != "" && secretLooking.MatchString(e.Name) && !strings.HasSuffix(e.Name, "_FILE") && !strings.HasPrefix(e.Value, "https://") {
					t.Errorf("%s: %s has a literal value", where, e.Name)
				}
				if strings.HasSuffix(e.Name, "_FILE") {
					key, ok := mountedSecretKey(p, c, e.Value)
					if !ok {
						t.Errorf("%s: %s=%s is not a key of a mounted Secret", where, e.Name, e.Value)
						continue
					}
					if sec, found := r.find("Secret", key.secret); found {
						if _, has := sec.obj.(*corev1.Secret).Data[key.key]; !has {
							t.Errorf("%s: %s: Secret %s has no key %s", where, e.Name, key.secret, key.key)
						}
					}
				}
			}
		}
	}
	// The services that need them get both credential files.
	for _, name := range services {
		c := r.get(t, "Deployment", name).(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
		want := []string{"DATABASE_URL_FILE"}
		if administrateClients[name] {
			want = append(want, "ADMINISTRATE_CLIENT_SECRET_FILE")
		}
		if name == "syncer" {
			want = append(want, "WEBHOOK_ROUTE_TOKEN_FILE", "WEBHOOK_SECRET_FILE")
		}
		for _, v := range want {
			if envValue(c, v) == "" {
				t.Errorf("%s: %s not set", name, v)
			}
		}
	}
}

type secretKey struct{ secret, key string }

// mountedSecretKey resolves a file path to the Secret key mounted there.
func mountedSecretKey(p *corev1.PodSpec, c corev1.Container, file string) (secretKey, bool) {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range p.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			if len(v.Secret.Items) == 0 {
				return secretKey{v.Secret.SecretName, rel}, true
			}
			for _, it := range v.Secret.Items {
				if it.Path == rel {
					return secretKey{v.Secret.SecretName, it.Key}, true
				}
			}
		}
	}
	return secretKey{}, false
}

func envValue(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

// The importer never gets Administrate credentials or settings: no
// Administrate variable, no ConfigMap with them, no Secret holding the
// client secret, in its Deployment or anywhere else it runs.
func TestImporterHasNoAdministrateAccess(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	p := r.get(t, "Deployment", "importer").(*appsv1.Deployment).Spec.Template.Spec
	for _, c := range allContainers(&p) {
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "ADMINISTRATE_") {
				t.Errorf("importer has %s", e.Name)
			}
		}
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				if cm, ok := r.find("ConfigMap", ef.ConfigMapRef.Name); ok {
					for k := range cm.obj.(*corev1.ConfigMap).Data {
						if strings.HasPrefix(k, "ADMINISTRATE_") {
							t.Errorf("importer gets %s through ConfigMap %s", k, cm.name)
						}
					}
				}
			}
		}
	}
	for _, v := range p.Volumes {
		var names []string
		if v.Secret != nil {
			names = append(names, v.Secret.SecretName)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					names = append(names, s.Secret.Name)
				}
			}
		}
		for _, n := range names {
			sec, ok := r.find("Secret", n)
			if !ok {
				t.Errorf("importer mounts unknown Secret %s", n)
				continue
			}
			for k := range sec.obj.(*corev1.Secret).Data {
				if strings.Contains(strings.ToLower(k), "administrate") {
					t.Errorf("importer mounts Secret %s with key %s", n, k)
				}
			}
		}
	}
	// And the dev credentials of the importer carry no Administrate key.
	for k := range r.secretData(t, "importer-credentials") {
		if strings.Contains(strings.ToLower(k), "administrate") {
			t.Errorf("importer-credentials has key %s", k)
		}
	}
}

// Every ConfigMap, Secret and ServiceAccount a pod names exists in the
// overlay's output (a generator whose hash suffix was not substituted shows
// up here).
func TestReferencesResolve(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	exists := func(kind, name string) bool {
		for _, o := range r.all(kind) {
			if o.name == name {
				return true
			}
		}
		return false
	}
	for w, tpl := range podSpecs(r) {
		p := &tpl.Spec
		for _, v := range p.Volumes {
			switch {
			case v.Secret != nil && !exists("Secret", v.Secret.SecretName):
				t.Errorf("%s: volume %s: no Secret %s", w, v.Name, v.Secret.SecretName)
			case v.ConfigMap != nil && !exists("ConfigMap", v.ConfigMap.Name):
				t.Errorf("%s: volume %s: no ConfigMap %s", w, v.Name, v.ConfigMap.Name)
			case v.Projected != nil:
				for _, s := range v.Projected.Sources {
					if s.Secret != nil && !exists("Secret", s.Secret.Name) {
						t.Errorf("%s: volume %s: no Secret %s", w, v.Name, s.Secret.Name)
					}
					if s.ConfigMap != nil && !exists("ConfigMap", s.ConfigMap.Name) {
						t.Errorf("%s: volume %s: no ConfigMap %s", w, v.Name, s.ConfigMap.Name)
					}
				}
			}
		}
		for _, c := range allContainers(p) {
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && !exists("ConfigMap", ef.ConfigMapRef.Name) {
					t.Errorf("%s/%s: no ConfigMap %s", w, c.Name, ef.ConfigMapRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					ref := e.ValueFrom.SecretKeyRef
					sec, ok := r.find("Secret", ref.Name)
					if !ok || sec.name != ref.Name {
						t.Errorf("%s/%s: %s: no Secret %s", w, c.Name, e.Name, ref.Name)
					} else if _, has := sec.obj.(*corev1.Secret).Data[ref.Key]; !has {
						t.Errorf("%s/%s: %s: Secret %s has no key %s", w, c.Name, e.Name, ref.Name, ref.Key)
					}
				}
			}
		}
		if p.ServiceAccountName != "" && !exists("ServiceAccount", p.ServiceAccountName) {
			t.Errorf("%s: no ServiceAccount %s", w, p.ServiceAccountName)
		}
	}
}

// The nightly sync: `syncer run all --no-prompt`, never two at once, bounded
// in time and retries, with a bounded history.
func TestSyncCronJob(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	cj := r.get(t, "CronJob", "sync-all").(*batchv1.CronJob)
	s := cj.Spec
	if s.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", s.ConcurrencyPolicy)
	}
	if s.StartingDeadlineSeconds == nil || *s.StartingDeadlineSeconds <= 0 {
		t.Error("startingDeadlineSeconds not set")
	}
	if s.SuccessfulJobsHistoryLimit == nil || s.FailedJobsHistoryLimit == nil {
		t.Error("history limits not set")
	}
	js := s.JobTemplate.Spec
	if js.BackoffLimit == nil || js.ActiveDeadlineSeconds == nil || *js.ActiveDeadlineSeconds <= 0 {
		t.Error("backoffLimit / activeDeadlineSeconds not set")
	}
	pod := js.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q", pod.RestartPolicy)
	}
	c := pod.Containers[0]
	if !strings.HasPrefix(c.Image, "admsync/syncer:") || !slices.Equal(c.Args, []string{"run", "all", "--no-prompt"}) {
		t.Errorf("runs %s %q, want admsync/syncer run all --no-prompt", c.Image, c.Args)
	}
}

// The migration Job runs `syncer migrate` as the migrator, then applies the
// grants; it is bounded in time and retries.
func TestMigrationJob(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	j := r.get(t, "Job", "migrate").(*batchv1.Job)
	if j.Spec.BackoffLimit == nil || j.Spec.ActiveDeadlineSeconds == nil {
		t.Error("backoffLimit / activeDeadlineSeconds not set")
	}
	p := j.Spec.Template.Spec
	if len(p.InitContainers) != 1 || !slices.Equal(p.InitContainers[0].Args, []string{"migrate"}) ||
		!strings.HasPrefix(p.InitContainers[0].Image, "admsync/syncer:") {
		t.Fatalf("first step is not `syncer migrate`: %+v", p.InitContainers)
	}
	if len(p.Containers) != 1 || !strings.Contains(strings.Join(p.Containers[0].Args, " "), "grants.sql") {
		t.Errorf("second step does not apply grants.sql: %+v", p.Containers)
	}
	for _, c := range allContainers(&p) {
		for _, m := range c.VolumeMounts {
			for _, v := range p.Volumes {
				if v.Name == m.Name && v.Secret != nil && !strings.HasPrefix(v.Secret.SecretName, "migrator-credentials") {
					t.Errorf("%s mounts Secret %s; the Job uses the migrator's credentials only", c.Name, v.Secret.SecretName)
				}
			}
		}
	}
}

var natsImage = regexp.MustCompile(`^nats:(\d+)\.(\d+)\.(\d+)(-alpine)?$`)

// NATS: a pinned server of at least 2.12.3, JetStream on a PVC, the monitor
// port, and a config that fsyncs every write (sync_interval: always).
func TestNATSStatefulSet(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	ss := r.get(t, "StatefulSet", "nats").(*appsv1.StatefulSet)
	c := ss.Spec.Template.Spec.Containers[0]
	m := natsImage.FindStringSubmatch(c.Image)
	if m == nil {
		t.Fatalf("image %q, want nats:X.Y.Z[-alpine]", c.Image)
	}
	v := [3]int{}
	for i := range v {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	if v[0] < 2 || v[0] == 2 && (v[1] < 12 || v[1] == 12 && v[2] < 3) {
		t.Errorf("nats %d.%d.%d, want >= 2.12.3 (JetStream durability fixes)", v[0], v[1], v[2])
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["client"] != 4222 || ports["monitor"] != 8222 {
		t.Errorf("ports %v, want client 4222 and monitor 8222", ports)
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%d volumeClaimTemplates, want 1", len(ss.Spec.VolumeClaimTemplates))
	}
	pvc := ss.Spec.VolumeClaimTemplates[0].Name
	dataMount := ""
	for _, vm := range c.VolumeMounts {
		if vm.Name == pvc {
			dataMount = vm.MountPath
		}
	}
	if dataMount == "" {
		t.Fatal("the PVC is not mounted")
	}

	opts := natsOptions(t, r)
	if !opts.JetStream {
		t.Error("JetStream is off")
	}
	if !opts.SyncAlways {
		t.Error("jetstream.sync_interval is not always")
	}
	if !strings.HasPrefix(opts.StoreDir, dataMount+"/") && opts.StoreDir != dataMount {
		t.Errorf("store_dir %s is not on the PVC (%s)", opts.StoreDir, dataMount)
	}
	if opts.HTTPPort != 8222 {
		t.Errorf("http_port %d, want 8222", opts.HTTPPort)
	}
	if !regexp.MustCompile(`(?m)^\s*sync_interval:\s*always\s*$`).MatchString(r.configMapData(t, "nats-config")["nats.conf"]) {
		t.Error("nats.conf has no `sync_interval: always` line")
	}
	// The config is read from where the StatefulSet mounts it.
	if !slices.Contains(c.Command, "/etc/nats/nats.conf") {
		t.Errorf("command %q does not load /etc/nats/nats.conf", c.Command)
	}
}

// The in-cluster PostgreSQL creates the per-service roles at first start.
func TestPostgresRoles(t *testing.T) {
	t.Parallel()
	r := render(t, devDir)
	data := r.configMapData(t, "postgres-sql")
	for _, role := range []string{"admsync_migrator", "admsync_syncer", "admsync_importer", "admsync_admwriter"} {
		if !strings.Contains(data["roles.sql"], "'"+role+"'") || !strings.Contains(data["roles.sql"], "ALTER ROLE "+role+" ") {
			t.Errorf("roles.sql does not create %s", role)
		}
	}
	ss := r.get(t, "StatefulSet", "postgres").(*appsv1.StatefulSet)
	p := ss.Spec.Template.Spec
	initdb := false
	for _, v := range p.Volumes {
		if v.ConfigMap != nil && strings.HasPrefix(v.ConfigMap.Name, "postgres-sql") {
			for _, it := range v.ConfigMap.Items {
				if it.Key == "initdb-roles.sh" {
					for _, m := range p.Containers[0].VolumeMounts {
						if m.Name == v.Name && m.MountPath == "/docker-entrypoint-initdb.d" {
							initdb = true
						}
					}
				}
			}
		}
	}
	if !initdb {
		t.Error("initdb-roles.sh is not mounted into /docker-entrypoint-initdb.d")
	}
	if envValue(p.Containers[0], "POSTGRES_PASSWORD") != "" || envValue(p.Containers[0], "POSTGRES_PASSWORD_FILE") == "" {
		t.Error("the superuser password must come from POSTGRES_PASSWORD_FILE")
	}
}

// The external-postgres component removes the in-cluster server and leaves
// everything else valid.
func TestExternalPostgresComponent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	overlay := relTo(t, dir, devDir)
	component := relTo(t, dir, "k8s/components/external-postgres")
	kust := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n  - %s\n", overlay, component)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := renderDecode(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"StatefulSet", "Service", "ServiceAccount"} {
		if _, ok := r.find(kind, "postgres"); ok {
			t.Errorf("%s postgres still rendered", kind)
		}
	}
	if _, ok := r.find("StatefulSet", "nats"); !ok {
		t.Error("the component removed NATS too")
	}
	if _, ok := r.find("Job", "migrate"); !ok {
		t.Error("the migration Job is gone; it still applies grants on an external server")
	}
}

// The committed secret templates are obviously fake, and real secret files
// are ignored by git.
func TestDevSecretsAreTemplates(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("k8s/overlays/dev/secrets/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no secret templates")
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".example") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !strings.Contains(line, "change-me") {
				t.Errorf("%s: %q does not look like a placeholder (no change-me)", path.Base(f), line)
			}
		}
	}
	ignore, err := os.ReadFile("k8s/overlays/dev/secrets/.gitignore")
	if err != nil || !strings.Contains(string(ignore), "*\n") || !strings.Contains(string(ignore), "!*.example") {
		t.Errorf("secrets/.gitignore must ignore everything but the templates (err %v)", err)
	}
}

// relTo returns target (relative to this directory) as a path relative to
// dir: kustomize refuses absolute resource paths.
func relTo(t *testing.T, dir, target string) string {
	t.Helper()
	abs, err := filepath.Abs(target)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(rel)
}

// webhookPort is the syncer's webhook intake port (container port
// "webhooks", WEBHOOK_ADDR).
const webhookPort = 8080

// webhookPathPrefix is where Administrate posts: the intake's
// webhook.PathPrefix (internal to the syncer), followed by the route token.
const webhookPathPrefix = "/webhooks/administrate/"

// syncerWebhookService returns the Service in front of the syncer's webhook
// intake and its port, checking that it selects exactly the syncer
// Deployment's pods and that the port reaches the container's webhooks port.
func syncerWebhookService(t *testing.T, r *rendered) (*corev1.Service, corev1.ServicePort) {
	t.Helper()
	d := r.get(t, "Deployment", "syncer").(*appsv1.Deployment)
	for _, o := range r.all("Service") {
		svc := o.obj.(*corev1.Service)
		if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			continue
		}
		for w, tpl := range podSpecs(r) {
			if w != "Deployment/syncer" && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(tpl.Labels)) {
				t.Errorf("Service %s also selects the pods of %s", svc.Name, w)
			}
		}
		for _, sp := range svc.Spec.Ports {
			tp := sp.TargetPort
			if (tp.Type == intstr.String && tp.StrVal == "webhooks") || (tp.Type == intstr.Int && tp.IntVal == webhookPort) {
				return svc, sp
			}
		}
	}
	t.Fatalf("no Service selects the syncer pods with a port targeting webhooks (%d)", webhookPort)
	return nil, corev1.ServicePort{}
}

// The syncer Deployment runs the Administrate webhook intake: a named port
// that WEBHOOK_ADDR listens on and no probe uses (a delivery problem never
// makes a pod unready or restarts it), the route token and the secret as
// files from the syncer's credentials, a Service in front of it; with the
// dev Secret the rendered environment loads into a configuration whose
// intake is on.
func TestSyncerWebhookIntake(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			r := render(t, dir)
			d := r.get(t, "Deployment", "syncer").(*appsv1.Deployment)
			p := &d.Spec.Template.Spec
			c := p.Containers[0]
			found := false
			for _, cp := range c.Ports {
				if cp.Name == "webhooks" {
					found = cp.ContainerPort == webhookPort && (cp.Protocol == "" || cp.Protocol == corev1.ProtocolTCP)
				}
			}
			if !found {
				t.Errorf("no TCP container port webhooks on %d: %+v", webhookPort, c.Ports)
			}
			addr := envValue(c, "WEBHOOK_ADDR")
			if _, port, err := net.SplitHostPort(addr); err != nil || port != fmt.Sprint(webhookPort) {
				t.Errorf("WEBHOOK_ADDR=%q, want it to listen on the webhooks port %d", addr, webhookPort)
			}
			for kind, pr := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe, "startup": c.StartupProbe} {
				if pr == nil || pr.HTTPGet == nil {
					continue
				}
				if port := pr.HTTPGet.Port; port.String() == "webhooks" || port.IntValue() == webhookPort {
					t.Errorf("%s probe on the webhook port: a refused delivery must not change the pod's state", kind)
				}
			}
			for _, v := range []string{"WEBHOOK_ROUTE_TOKEN_FILE", "WEBHOOK_SECRET_FILE"} {
				key, ok := mountedSecretKey(p, c, envValue(c, v))
				if sec := key.secret; !ok || (sec != "syncer-credentials" && !(strings.HasPrefix(sec, "syncer-credentials-") && len(sec) == len("syncer-credentials")+11)) {
					t.Errorf("%s=%q is not a key of the mounted syncer-credentials (%+v)", v, envValue(c, v), key)
				}
			}
			syncerWebhookService(t, r)

			// The rendered environment, with the dev Secret's values as the
			// mounted files, is what `syncer serve` reads.
			sec, ok := r.find("Secret", "syncer-credentials")
			if !ok {
				return // base and prod: the operator provides the Secret
			}
			data := sec.obj.(*corev1.Secret).Data
			env := map[string]string{}
			dirTmp := t.TempDir()
			for _, e := range c.Env {
				if e.ValueFrom != nil {
					continue
				}
				env[e.Name] = e.Value
				if strings.HasSuffix(e.Name, "_FILE") {
					key, ok := mountedSecretKey(p, c, e.Value)
					if !ok {
						t.Fatalf("%s=%s is not mounted", e.Name, e.Value)
					}
					f := filepath.Join(dirTmp, key.key)
					if err := os.WriteFile(f, data[key.key], 0o600); err != nil {
						t.Fatal(err)
					}
					env[e.Name] = f
				}
			}
			cfg, err := config.LoadWith(func(name string) (string, bool) { v, ok := env[name]; return v, ok })
			if err != nil {
				t.Fatalf("the syncer's environment does not load: %v", err)
			}
			if cfg.WebhookAddr != addr || len(cfg.WebhookToken.Reveal()) < 16 || !cfg.WebhookSecret.IsSet() {
				t.Errorf("intake not configured: addr %q, token %d characters (want at least 16), secret set %v",
					cfg.WebhookAddr, len(cfg.WebhookToken.Reveal()), cfg.WebhookSecret.IsSet())
			}
		})
	}
}
