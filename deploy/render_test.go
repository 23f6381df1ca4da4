package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// The kustomizations the tests render, relative to this directory.
const (
	baseDir = "k8s/base"
	devDir  = "k8s/overlays/dev"
	prodDir = "k8s/overlays/prod"
)

// kustomizations are the deployable shapes every workload test covers.
var kustomizations = []string{baseDir, devDir, prodDir}

// scheme knows every built-in kind the manifests may use. A kind missing
// here fails decoding, which is the point: nothing is let through unchecked.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(s))
	utilruntime.Must(appsv1.AddToScheme(s))
	utilruntime.Must(batchv1.AddToScheme(s))
	utilruntime.Must(rbacv1.AddToScheme(s))
	utilruntime.Must(policyv1.AddToScheme(s))
	utilruntime.Must(networkingv1.AddToScheme(s))
	// CloudNativePG's Cluster and ScheduledBackup, with the operator's own
	// Go types: the prod overlay's PostgreSQL decodes as the operator reads it.
	utilruntime.Must(cnpgv1.AddToScheme(s))
	return s
}()

// strictDecoder rejects unknown and duplicate fields (the YAML is turned
// into JSON and decoded with sigs.k8s.io/json's strict mode).
var strictDecoder = serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

// monitoringGroup holds the Prometheus Operator kinds. They are not in
// k8s.io/api, so they decode into the minimal structs below, which carry
// only the fields these manifests use: an unknown or misspelt field fails.
const monitoringGroup = "monitoring.coreos.com"

type podMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path,omitempty"`
			Interval string `json:"interval,omitempty"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

// certManagerGroup holds cert-manager's Certificate, decoded like the
// Prometheus Operator kinds into a struct of the fields the overlay uses.
const certManagerGroup = "cert-manager.io"

type certificate struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		SecretName  string `json:"secretName"`
		Duration    string `json:"duration,omitempty"`
		RenewBefore string `json:"renewBefore,omitempty"`
		PrivateKey  *struct {
			Algorithm      string `json:"algorithm,omitempty"`
			Size           int    `json:"size,omitempty"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey,omitempty"`
		Usages    []string `json:"usages,omitempty"`
		DNSNames  []string `json:"dnsNames,omitempty"`
		IssuerRef struct {
			Group string `json:"group,omitempty"`
			Kind  string `json:"kind,omitempty"`
			Name  string `json:"name"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

type certificateObject struct{ certificate }

func (c *certificateObject) DeepCopyObject() runtime.Object { d := *c; return &d }

type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

type ruleGroup struct {
	Name     string `json:"name"`
	Interval string `json:"interval,omitempty"`
	Rules    []rule `json:"rules"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// decodeStrict decodes one manifest into its typed object: a k8s.io/api or
// CloudNativePG type through the strict universal deserializer, a
// monitoring.coreos.com or cert-manager.io kind through
// json.Decoder.DisallowUnknownFields.
func decodeStrict(doc []byte) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("read apiVersion/kind: %w", err)
	}
	if group, _, _ := strings.Cut(tm.APIVersion, "/"); group == monitoringGroup {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		var obj runtime.Object
		switch tm.Kind {
		case "PodMonitor":
			pm := &podMonitorObject{}
			err, obj = strictJSON(js, &pm.podMonitor), pm
		case "PrometheusRule":
			pr := &prometheusRuleObject{}
			err, obj = strictJSON(js, &pr.prometheusRule), pr
		default:
			return nil, fmt.Errorf("%s %s: no Go type in this test; add one", tm.APIVersion, tm.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		if tm.APIVersion != monitoringGroup+"/v1" {
			return nil, fmt.Errorf("%s: apiVersion %q, want %s/v1", tm.Kind, tm.APIVersion, monitoringGroup)
		}
		return obj, nil
	}
	if group, _, _ := strings.Cut(tm.APIVersion, "/"); group == certManagerGroup {
		if tm.Kind != "Certificate" || tm.APIVersion != certManagerGroup+"/v1" {
			return nil, fmt.Errorf("%s %s: no Go type in this test; add one", tm.APIVersion, tm.Kind)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		c := &certificateObject{}
		if err := strictJSON(js, &c.certificate); err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		return c, nil
	}
	obj, _, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// podMonitorObject and prometheusRuleObject satisfy runtime.Object so that
// every rendered object sits in one list.
type podMonitorObject struct{ podMonitor }
type prometheusRuleObject struct{ prometheusRule }

func (p *podMonitorObject) DeepCopyObject() runtime.Object     { c := *p; return &c }
func (p *prometheusRuleObject) DeepCopyObject() runtime.Object { c := *p; return &c }

// strictJSON decodes one JSON document into v, failing on unknown fields
// and on trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the object")
	}
	return nil
}

// rendered is one kustomization's output, decoded.
type rendered struct {
	objects []object
}

type object struct {
	kind, namespace, name string
	obj                   runtime.Object
}

func (r *rendered) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r *rendered) get(t *testing.T, kind, name string) runtime.Object {
	t.Helper()
	for _, o := range r.objects {
		if o.kind == kind && o.name == name {
			return o.obj
		}
	}
	t.Fatalf("no %s %q in the rendered manifests", kind, name)
	return nil
}

// find returns the object of that kind whose name, without kustomize's
// hash suffix, is name.
func (r *rendered) find(kind, name string) (object, bool) {
	for _, o := range r.objects {
		if o.kind == kind && (o.name == name || strings.HasPrefix(o.name, name+"-") && len(o.name) == len(name)+11) {
			return o, true
		}
	}
	return object{}, false
}

// configMapData is the data of the ConfigMap name (found as find does);
// the test fails when there is none.
func (r *rendered) configMapData(t *testing.T, name string) map[string]string {
	t.Helper()
	o, ok := r.find("ConfigMap", name)
	if !ok {
		t.Fatalf("no %s ConfigMap", name)
	}
	return o.obj.(*corev1.ConfigMap).Data
}

// secretData is the data of the Secret name (found as find does); the test
// fails when there is none.
func (r *rendered) secretData(t *testing.T, name string) map[string][]byte {
	t.Helper()
	o, ok := r.find("Secret", name)
	if !ok {
		t.Fatalf("no %s Secret", name)
	}
	return o.obj.(*corev1.Secret).Data
}

// kustomize renders dir in-process, as `kustomize build` would.
func kustomize(dir string) ([][]byte, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), abs)
	if err != nil {
		return nil, err
	}
	var docs [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.CurId(), err)
		}
		docs = append(docs, y)
	}
	return docs, nil
}

// renderDecode renders dir and decodes every object strictly.
func renderDecode(dir string) (*rendered, error) {
	docs, err := kustomize(dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out := &rendered{}
	var errs []string
	for _, doc := range docs {
		obj, err := decodeStrict(doc)
		var meta struct {
			Kind     string            `json:"kind"`
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = yaml.Unmarshal(doc, &meta)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s %s: %v", meta.Kind, meta.Metadata.Name, err))
			continue
		}
		out.objects = append(out.objects, object{kind: meta.Kind, namespace: meta.Metadata.Namespace, name: meta.Metadata.Name, obj: obj})
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%s: %d object(s) do not decode strictly:\n  %s", dir, len(errs), strings.Join(errs, "\n  "))
	}
	return out, nil
}

var renderCache sync.Map // dir -> *renderResult

type renderResult struct {
	once sync.Once
	r    *rendered
	err  error
}

// render renders and decodes dir once per test binary.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	v, _ := renderCache.LoadOrStore(dir, &renderResult{})
	res := v.(*renderResult)
	res.once.Do(func() { res.r, res.err = renderDecode(dir) })
	if res.err != nil {
		t.Fatal(res.err)
	}
	return res.r
}
