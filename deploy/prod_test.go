package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"admsync/pkg/administrate"
	"admsync/pkg/messaging"
	"admsync/pkg/testwait"

	cnpgv1 "github.com/cloudnative-pg/cloudnative-pg/api/v1"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The prod overlay renders, every object decodes strictly (CloudNativePG's
// kinds with its own Go types), and it holds what production needs and
// nothing secret.
func TestProdOverlayRenders(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	checkRendered(t, r, map[string]int{
		"Namespace": 1, "StatefulSet": 1, "Deployment": 3, "CronJob": 1, "Job": 1,
		"Cluster": 1, "ScheduledBackup": 1, "Certificate": 2, "PodDisruptionBudget": 4,
		"NetworkPolicy": 7, "PodMonitor": 5, "PrometheusRule": 1, "Secret": 0, "Ingress": 1,
	})
	for _, kind := range []string{"StatefulSet", "Service", "ServiceAccount"} {
		if _, ok := r.find(kind, "postgres"); ok {
			t.Errorf("%s postgres rendered: CloudNativePG runs PostgreSQL in prod", kind)
		}
	}
}

// A misspelt CloudNativePG field fails decoding: the operator's types are
// strict here too.
func TestCNPGDecodingIsStrict(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ doc, wantErr string }{
		{wantErr: "", doc: "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {instances: 3, storage: {size: 1Gi}}\n"},
		{wantErr: "instance", doc: "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec: {instance: 3}\n"},
		{wantErr: "destinationpath", doc: "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {name: x}\nspec:\n  instances: 3\n  backup: {barmanObjectStore: {destinationpath: s3://b}}\n"},
		{wantErr: "dnsName", doc: "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: x}\nspec: {secretName: x, dnsName: [a], issuerRef: {name: ca}}\n"},
	} {
		checkStrictDecoding(t, c.doc, c.wantErr)
	}
}

// nonGoImage runs no Go program, so GOMEMLIMIT means nothing to it (psql
// in the migration Job).
var nonGoImage = regexp.MustCompile(`^postgres:`)

// Every container requests and limits ephemeral storage (logs and
// emptyDirs count against the node's disk), and every Go program's soft
// memory limit is its container's memory limit.
func TestContainersBoundMemoryAndDisk(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizations {
		r := render(t, dir)
		for w, tpl := range podSpecs(r) {
			for _, c := range allContainers(&tpl.Spec) {
				where := dir + " " + w + " container " + c.Name
				req, lim := c.Resources.Requests.StorageEphemeral(), c.Resources.Limits.StorageEphemeral()
				if req.IsZero() || lim.IsZero() || req.Cmp(*lim) > 0 {
					t.Errorf("%s: ephemeral-storage request %v / limit %v, want both, request <= limit", where, req, lim)
				}
				if nonGoImage.MatchString(c.Image) {
					continue
				}
				var gml *corev1.EnvVar
				for i := range c.Env {
					if c.Env[i].Name == "GOMEMLIMIT" {
						gml = &c.Env[i]
					}
				}
				switch {
				case gml == nil:
					t.Errorf("%s: no GOMEMLIMIT", where)
				case gml.ValueFrom == nil || gml.ValueFrom.ResourceFieldRef == nil:
					t.Errorf("%s: GOMEMLIMIT=%q is not taken from the container's limit", where, gml.Value)
				default:
					ref := gml.ValueFrom.ResourceFieldRef
					// A divisor would turn 256Mi into "256", which Go reads as bytes.
					if ref.Resource != "limits.memory" || (ref.ContainerName != "" && ref.ContainerName != c.Name) ||
						(!ref.Divisor.IsZero() && ref.Divisor.Value() != 1) {
						t.Errorf("%s: GOMEMLIMIT from %+v, want limits.memory of this container in bytes", where, ref)
					}
				}
			}
		}
	}
}

// prodNATSPasswords are the variables the operator's Secret nats-auth must
// define for the prod nats.conf: SYS_PASSWORD in its key sys.conf, the
// others in auth.conf.
var prodNATSPasswords = []string{"SYNCER_PASSWORD", "IMPORTER_PASSWORD", "ADMWRITER_PASSWORD", "OPS_PASSWORD", "READONLY_PASSWORD", "SYS_PASSWORD"}

// natsUserOf maps a password variable to its NATS user.
func natsUserOf(v string) string { return strings.ToLower(strings.TrimSuffix(v, "_PASSWORD")) }

// prodNATSConfig writes the prod NATS configuration as a pod sees it, with
// an auth.conf of test passwords and the TLS files of tlsDir in place of
// cert-manager's mounts.
func prodNATSConfig(t *testing.T, r *rendered, tlsDir string) (dir string, passwords map[string]string) {
	t.Helper()
	passwords = map[string]string{}
	var auth, sys strings.Builder
	for _, v := range prodNATSPasswords {
		pw := "test-" + strings.ToLower(v)
		passwords[natsUserOf(v)] = pw
		if v == "SYS_PASSWORD" {
			fmt.Fprintf(&sys, "%s: %q\n", v, pw)
		} else {
			fmt.Fprintf(&auth, "%s: %q\n", v, pw)
		}
	}
	dir = natsConfigDir(t, r, []byte(auth.String()))
	if err := os.WriteFile(filepath.Join(dir, "sys.conf"), []byte(sys.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(dir, "nats.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), natsTLSMount+"/") {
		t.Fatalf("nats.conf names no TLS file under %s", natsTLSMount)
	}
	conf = []byte(strings.ReplaceAll(string(conf), natsTLSMount+"/", tlsDir+"/"))
	if err := os.WriteFile(filepath.Join(dir, "nats.conf"), conf, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, passwords
}

// natsTLSMount is where the StatefulSet mounts cert-manager's Secrets.
const natsTLSMount = "/etc/nats-tls"

// nodeOptions parses the configuration as pod nats-<i> does. There
// nats-server takes $POD_NAME from the environment; here, where tests run
// in parallel, the variable is defined at the top of the node's copy of
// nats.conf (a variable is visible only in its own file).
func nodeOptions(t *testing.T, dir string, i int) *server.Options {
	t.Helper()
	nodeDir := t.TempDir()
	copyTree(t, dir, nodeDir)
	conf := filepath.Join(nodeDir, "nats.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(fmt.Appendf(nil, "POD_NAME: \"nats-%d\"\n", i), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(conf)
	if err != nil {
		t.Fatalf("nats-server rejects the rendered prod config: %v", err)
	}
	return opts
}

// The NATS StatefulSet of prod: three nodes named after their pods, routes
// to every node through the headless Service, JetStream fsyncing every
// write with room for every stream's limits at R3, a system account, TLS
// from cert-manager on clients and routes, a JetStream-aware startup probe
// and the exporter beside each server.
func TestProdNATSStatefulSet(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	ss := r.get(t, "StatefulSet", "nats").(*appsv1.StatefulSet)
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 3 {
		t.Fatalf("replicas %v, want 3", ss.Spec.Replicas)
	}
	p := ss.Spec.Template.Spec
	var nats, exporter *corev1.Container
	for i := range p.Containers {
		switch p.Containers[i].Name {
		case "nats":
			nats = &p.Containers[i]
		case "exporter":
			exporter = &p.Containers[i]
		}
	}
	if nats == nil || exporter == nil {
		t.Fatalf("containers %v, want nats and exporter", p.Containers)
	}
	ports := map[string]int32{}
	for _, cp := range nats.Ports {
		ports[cp.Name] = cp.ContainerPort
	}
	if ports["client"] != 4222 || ports["cluster"] != 6222 || ports["monitor"] != 8222 {
		t.Errorf("nats ports %v, want client 4222, cluster 6222, monitor 8222", ports)
	}
	podName := false
	for _, e := range nats.Env {
		if e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			podName = true
		}
	}
	if !podName {
		t.Error("POD_NAME is not the pod's name (metadata.name)")
	}
	if sp := nats.StartupProbe; sp == nil || sp.HTTPGet == nil || sp.HTTPGet.Path != "/healthz?js-enabled-only=true" {
		t.Errorf("startup probe %+v, want /healthz?js-enabled-only=true", sp)
	}
	// The exporter reads the local monitoring port, with JetStream details.
	if !slices.Contains(exporter.Args, "-jsz=all") || !slices.Contains(exporter.Args, "http://127.0.0.1:8222") {
		t.Errorf("exporter args %q, want -jsz=all and http://127.0.0.1:8222", exporter.Args)
	}
	if len(exporter.Ports) != 1 || exporter.Ports[0].Name != "metrics" {
		t.Errorf("exporter ports %+v, want one named metrics", exporter.Ports)
	}
	scraped := false
	for _, o := range r.all("PodMonitor") {
		pm := o.obj.(*podMonitorObject)
		if labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(labels.Set(ss.Spec.Template.Labels)) {
			for _, ep := range pm.Spec.PodMetricsEndpoints {
				scraped = scraped || ep.Port == "metrics"
			}
		}
	}
	if !scraped {
		t.Error("no PodMonitor scrapes the exporter")
	}
	hostSpread := false
	for _, tsc := range p.TopologySpreadConstraints {
		if tsc.TopologyKey == "kubernetes.io/hostname" && tsc.WhenUnsatisfiable == corev1.DoNotSchedule && tsc.MaxSkew == 1 &&
			tsc.LabelSelector != nil && labels.SelectorFromSet(tsc.LabelSelector.MatchLabels).Matches(labels.Set(ss.Spec.Template.Labels)) {
			hostSpread = true
		}
	}
	if !hostSpread {
		t.Error("NATS nodes may share a host: no hard topology spread over kubernetes.io/hostname")
	}

	// The TLS Secrets mounted are the ones cert-manager's Certificates make.
	certs := map[string]*certificateObject{}
	for _, o := range r.all("Certificate") {
		c := o.obj.(*certificateObject)
		certs[c.Spec.SecretName] = c
	}
	mounted := map[string]string{} // mount path -> Secret
	for _, m := range nats.VolumeMounts {
		for _, v := range p.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				mounted[m.MountPath] = v.Secret.SecretName
			}
		}
	}
	for _, path := range []string{natsTLSMount + "/client", natsTLSMount + "/routes"} {
		sec, ok := mounted[path]
		if !ok {
			t.Errorf("nothing mounted at %s", path)
			continue
		}
		if certs[sec] == nil {
			t.Errorf("%s: Secret %s is made by no Certificate", path, sec)
		}
	}
	headless := r.get(t, "Service", ss.Spec.ServiceName).(*corev1.Service)
	routePort := false
	for _, sp := range headless.Spec.Ports {
		routePort = routePort || sp.Port == 6222
	}
	if !routePort || headless.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("Service %s is not headless with port 6222", headless.Name)
	}

	// The configuration, parsed by nats-server as node 1 reads it.
	dir, _ := prodNATSConfig(t, r, writeTestCerts(t, r))
	opts := nodeOptions(t, dir, 1)
	if opts.ServerName != "nats-1" {
		t.Errorf("server_name %q on pod nats-1", opts.ServerName)
	}
	if !opts.JetStream || !opts.SyncAlways {
		t.Errorf("jetstream %v, sync_interval always %v; want both", opts.JetStream, opts.SyncAlways)
	}
	if opts.SystemAccount != "SYS" {
		t.Errorf("system_account %q, want SYS", opts.SystemAccount)
	}
	if opts.TLSConfig == nil {
		t.Error("clients are not required to use TLS")
	}
	if opts.Cluster.Port != 6222 || opts.Cluster.Name == "" || !opts.Cluster.NoAdvertise {
		t.Errorf("cluster port %d name %q no_advertise %v", opts.Cluster.Port, opts.Cluster.Name, opts.Cluster.NoAdvertise)
	}
	if opts.Cluster.TLSConfig == nil || opts.Cluster.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Error("routes do not require mutual TLS")
	}
	var routes []string
	for _, u := range opts.Routes {
		routes = append(routes, u.Host)
	}
	sort.Strings(routes)
	var want []string
	for i := range 3 {
		host := fmt.Sprintf("nats-%d.%s.%s.svc.cluster.local", i, ss.Spec.ServiceName, namespace)
		want = append(want, host+":6222")
		// The route certificate covers every node's route host name.
		if !certCovers(certs[mounted[natsTLSMount+"/routes"]], host) {
			t.Errorf("the routes' certificate does not cover %s", host)
		}
	}
	if !slices.Equal(routes, want) {
		t.Errorf("routes %v, want %v", routes, want)
	}
	if rc := certs[mounted[natsTLSMount+"/routes"]]; rc == nil || !slices.Contains(rc.Spec.Usages, "client auth") {
		t.Error("the routes' certificate cannot authenticate a client (usage client auth)")
	}
	if cc := certs[mounted[natsTLSMount+"/client"]]; cc == nil || !certCovers(cc, "nats."+namespace+".svc.cluster.local") || !certCovers(cc, "nats") {
		t.Error("the client certificate does not cover the Service name nats")
	}

	// Storage: every node holds a replica of every R3 stream, so each needs
	// the sum of the limits, with headroom for the age-bounded streams; the
	// PVC holds max_file_store.
	need := int64(0)
	topo := messaging.NewTopology(messaging.TopologyOptions{Replicas: 3})
	for _, s := range topo.Streams {
		if s.MaxBytes > 0 {
			need += s.MaxBytes * int64(s.Replicas) / 3
		}
	}
	for _, o := range topo.ObjectStores {
		need += o.MaxBytes * int64(o.Replicas) / 3
	}
	t.Logf("bench: JetStream file store per node for the stream limits at R3: %.2f GiB; max_file_store %.2f GiB", float64(need)/(1<<30), float64(opts.JetStreamMaxStore)/(1<<30))
	if opts.JetStreamMaxStore < need*3/2 {
		t.Errorf("max_file_store %d < 1.5 x the streams' limits per node (%d)", opts.JetStreamMaxStore, need)
	}
	pvc := ss.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]
	if pvc.Value() < opts.JetStreamMaxStore {
		t.Errorf("PVC %s is smaller than max_file_store %d", pvc.String(), opts.JetStreamMaxStore)
	}
}

// certCovers reports whether a Certificate's DNS names cover host (one
// wildcard label at most, as TLS matches them).
func certCovers(c *certificateObject, host string) bool {
	if c == nil {
		return false
	}
	for _, n := range c.Spec.DNSNames {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if _, tail, ok := strings.Cut(host, "."); ok && tail == rest {
				return true
			}
		}
	}
	return false
}

// writeTestCerts makes a CA and one certificate for the DNS names of every
// rendered Certificate plus 127.0.0.1 (server and client auth), laid out
// as cert-manager's Secrets are mounted: <dir>/client and <dir>/routes,
// each with tls.crt, tls.key and ca.crt.
func writeTestCerts(t *testing.T, r *rendered) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "admsync test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var dns []string
	for _, o := range r.all("Certificate") {
		dns = append(dns, o.obj.(*certificateObject).Spec.DNSNames...)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: append(dns, "localhost"), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, sub := range []string{"client", "routes"} {
		d := filepath.Join(dir, sub)
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for name, block := range map[string]*pem.Block{
			"tls.crt": {Type: "CERTIFICATE", Bytes: leafDER},
			"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
			"ca.crt":  {Type: "CERTIFICATE", Bytes: caDER},
		} {
			if err := os.WriteFile(filepath.Join(d, name), pem.EncodeToMemory(block), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// freePorts reserves n loopback ports for the cluster routes.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return ports
}

// TestProdNATSClusterRuns starts three nats-servers from the rendered prod
// configuration (TLS on, with test certificates; routes on loopback) and
// walks the services through it with NATS_REPLICAS=3: each declares its
// part of the topology as R3 over TLS with its own user, the syncer and
// the admwriter reserve from the shared Administrate budget (an R3 bucket),
// the read-only user reads stream information, and the system account
// sees all three servers.
func TestProdNATSClusterRuns(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a three-node NATS cluster")
	}
	r := render(t, prodDir)
	tlsDir := writeTestCerts(t, r)
	dir, passwords := prodNATSConfig(t, r, tlsDir)
	routePorts := freePorts(t, 3)
	var srvs []*server.Server
	for i := range 3 {
		opts := nodeOptions(t, dir, i)
		opts.Host, opts.Port, opts.HTTPPort = "127.0.0.1", -1, 0
		opts.StoreDir, opts.PidFile = t.TempDir(), ""
		opts.NoLog, opts.NoSigs = true, true
		opts.Cluster.Host, opts.Cluster.Port = "127.0.0.1", routePorts[i]
		opts.Routes = nil
		for _, p := range routePorts {
			opts.Routes = append(opts.Routes, &url.URL{Scheme: "nats-route", Host: fmt.Sprintf("127.0.0.1:%d", p)})
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		go srv.Start()
		t.Cleanup(srv.Shutdown)
		srvs = append(srvs, srv)
	}
	for i, srv := range srvs {
		if !srv.ReadyForConnections(20 * time.Second) {
			t.Fatalf("node %d did not start", i)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ca := filepath.Join(tlsDir, "client", "ca.crt")
	connect := func(user string, srv *server.Server, inbox string) (*nats.Conn, jetstream.JetStream) {
		t.Helper()
		u := strings.Replace(srv.ClientURL(), "nats://", "tls://", 1)
		nc, err := nats.Connect(u, nats.UserInfo(user, passwords[user]), nats.RootCAs(ca), messaging.InboxPrefix(inbox))
		if err != nil {
			t.Fatalf("connect as %s over TLS: %v", user, err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return nc, js
	}
	// A client that does not trust the CA is refused.
	if nc, err := nats.Connect(srvs[0].ClientURL(), nats.UserInfo("ops", passwords["ops"])); err == nil {
		nc.Close()
		t.Error("a client connected without verifying the server's certificate")
	}

	// Wait for the JetStream meta group to elect a leader.
	_, opsJS := connect("ops", srvs[0], "")
	testwait.For(t, "the JetStream cluster to elect a meta leader", func() bool {
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		defer acancel()
		_, err := opsJS.AccountInfo(actx)
		return err == nil
	})

	topo := messaging.NewTopology(messaging.TopologyOptions{Replicas: 3})
	for i, user := range []string{"syncer", "importer", "admwriter"} {
		_, js := connect(user, srvs[i], "_INBOX_"+user)
		if err := topo.Only(servicesTopology[user]...).Ensure(ctx, js); err != nil {
			t.Fatalf("%s declares its R3 topology: %v", user, err)
		}
	}
	for _, name := range []string{messaging.StreamTutorialEvents, messaging.StreamSyncRequests, messaging.StreamImportRequests, messaging.StreamDLQ} {
		s, err := opsJS.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.Replicas != 3 || info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			t.Errorf("stream %s: replicas %d, cluster %+v; want R3 over three nodes", name, info.Config.Replicas, info.Cluster)
		}
	}

	// The syncer and the admwriter spend one budget, in an R3 bucket.
	for i, user := range []string{"admwriter", "syncer"} {
		_, js := connect(user, srvs[i+1], "_INBOX_"+user)
		b, err := administrate.NewSharedBudget(ctx, js, administrate.SharedBudgetOptions{Rate: 50, Replicas: 3})
		if err != nil {
			t.Fatalf("%s opens the shared budget: %v", user, err)
		}
		for range 2 {
			if err := b.Wait(ctx); err != nil {
				t.Fatalf("%s reserves a slot: %v", user, err)
			}
		}
	}
	kv, err := opsJS.Stream(ctx, "KV_"+administrate.DefaultBudgetBucket)
	if err != nil {
		t.Fatal(err)
	}
	if ki, err := kv.Info(ctx); err != nil || ki.Config.Replicas != 3 || ki.State.Msgs != 1 {
		t.Errorf("budget bucket: %+v, %v; want R3 with one entry", ki, err)
	}

	// The read-only operator.
	_, roJS := connect("readonly", srvs[2], "_INBOX_readonly")
	if _, err := roJS.AccountInfo(ctx); err != nil {
		t.Errorf("readonly: account info: %v", err)
	}
	if _, err := roJS.Stream(ctx, messaging.StreamDLQ); err != nil {
		t.Errorf("readonly: stream info: %v", err)
	}
	dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
	if err := roJS.DeleteStream(dctx, messaging.StreamDLQ); err == nil {
		t.Error("readonly deleted a stream")
	}
	dcancel()

	// The system account answers for all three servers.
	sysNC, _ := connect("sys", srvs[0], "")
	inbox := nats.NewInbox()
	sub, err := sysNC.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := sysNC.PublishRequest("$SYS.REQ.SERVER.PING", inbox, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for len(seen) < 3 {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("system account: %d server(s) answered the ping: %v", len(seen), err)
		}
		seen[string(m.Data)] = true
	}
}

// The prod CloudNativePG Cluster, decoded with the operator's own types:
// three instances, the admsync database owned by the migrator, the service
// roles managed with their passwords from Secrets, backups to an object
// store with retention and a nightly base backup, and a PodMonitor.
func TestProdPostgresCluster(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	c := r.get(t, "Cluster", pgCluster).(*cnpgv1.Cluster)
	if c.Spec.Instances != 3 {
		t.Errorf("instances %d, want 3", c.Spec.Instances)
	}
	init := c.Spec.Bootstrap
	if init == nil || init.InitDB == nil || init.InitDB.Database != "admsync" || init.InitDB.Owner != "admsync_migrator" || init.InitDB.Secret == nil {
		t.Fatalf("bootstrap %+v: want initdb of admsync owned by admsync_migrator with its password Secret", init)
	}
	roles := map[string]bool{init.InitDB.Owner: true}
	if c.Spec.Managed != nil {
		for _, role := range c.Spec.Managed.Roles {
			if !role.Login || role.PasswordSecret == nil || role.Superuser || role.CreateDB || role.CreateRole {
				t.Errorf("role %s: login %v, password Secret %v, superuser/createdb/createrole %v/%v/%v", role.Name, role.Login, role.PasswordSecret, role.Superuser, role.CreateDB, role.CreateRole)
			}
			roles[role.Name] = true
		}
	}
	// The roles are base/postgres/sql/roles.sql's.
	sql, err := os.ReadFile("k8s/base/postgres/sql/roles.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`ALTER ROLE (admsync_\w+)`).FindAllStringSubmatch(string(sql), -1) {
		if !roles[m[1]] {
			t.Errorf("role %s of roles.sql is not created with a password", m[1])
		}
	}
	b := c.Spec.Backup
	if b == nil || b.BarmanObjectStore == nil || b.RetentionPolicy == "" {
		t.Fatalf("backup %+v: want a barmanObjectStore and a retention policy", b)
	}
	store := b.BarmanObjectStore
	if !regexp.MustCompile(`^(s3|gs|https)://`).MatchString(store.DestinationPath) {
		t.Errorf("destinationPath %q is not an object store URL", store.DestinationPath)
	}
	if aws := store.AWS; aws == nil || aws.AccessKeyIDReference == nil || aws.SecretAccessKeyReference == nil {
		t.Error("no object store credentials Secret")
	}
	if store.Wal == nil || store.Wal.Compression == "" {
		t.Error("WAL archive is not compressed")
	}
	if a := c.Spec.Affinity.EnablePodAntiAffinity; a == nil || !*a || c.Spec.Affinity.PodAntiAffinityType != "required" {
		t.Error("instances may share a node")
	}
	sb := r.get(t, "ScheduledBackup", pgCluster+"-nightly").(*cnpgv1.ScheduledBackup)
	if sb.Spec.Cluster.Name != c.Name || sb.Spec.Method != cnpgv1.BackupMethodBarmanObjectStore {
		t.Errorf("ScheduledBackup backs up %q by %q", sb.Spec.Cluster.Name, sb.Spec.Method)
	}
	if n := len(strings.Fields(sb.Spec.Schedule)); n != 6 {
		t.Errorf("schedule %q has %d fields; CloudNativePG's has six (seconds first)", sb.Spec.Schedule, n)
	}
	// The instances' pods carry cnpg.io/cluster=<name>; a PodMonitor scrapes
	// their exporter port "metrics".
	instance := labels.Set{"cnpg.io/cluster": c.Name, "cnpg.io/instanceRole": "primary"}
	scraped := false
	for _, o := range r.all("PodMonitor") {
		pm := o.obj.(*podMonitorObject)
		if labels.SelectorFromSet(pm.Spec.Selector.MatchLabels).Matches(instance) {
			for _, ep := range pm.Spec.PodMetricsEndpoints {
				scraped = scraped || ep.Port == "metrics"
			}
		}
	}
	if !scraped {
		t.Error("no PodMonitor scrapes the PostgreSQL instances")
	}
}

// Services in prod: two replicas each, spread over nodes, each with a
// PodDisruptionBudget that selects exactly its pods and lets one go;
// NATS_REPLICAS=3 and TLS to NATS; one Administrate budget, shared.
func TestProdServices(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	envCM, ok := r.find("ConfigMap", "admsync-env")
	if !ok {
		t.Fatal("no admsync-env ConfigMap")
	}
	env := envCM.obj.(*corev1.ConfigMap).Data
	if n, err := messaging.ParseReplicas(env["NATS_REPLICAS"]); err != nil || n != 3 {
		t.Errorf("NATS_REPLICAS=%q, want 3", env["NATS_REPLICAS"])
	}
	pods := podSpecs(r)
	var pdbs []*policyv1.PodDisruptionBudget
	for _, o := range r.all("PodDisruptionBudget") {
		pdbs = append(pdbs, o.obj.(*policyv1.PodDisruptionBudget))
	}
	rates := map[string]string{}
	for _, name := range services {
		d := r.get(t, "Deployment", name).(*appsv1.Deployment)
		if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("%s: replicas %v, want 2", name, d.Spec.Replicas)
		}
		spec := d.Spec.Template.Spec
		if len(spec.TopologySpreadConstraints) == 0 {
			t.Errorf("%s: no topologySpreadConstraints", name)
		}
		c := spec.Containers[0]
		fromEnv := false
		for _, ef := range c.EnvFrom {
			fromEnv = fromEnv || (ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == envCM.name)
		}
		if !fromEnv {
			t.Errorf("%s does not read %s (NATS_REPLICAS)", name, envCM.name)
		}
		if key, ok := mountedSecretKey(&spec, c, env["NATS_TLS_CA"]); !ok || key.key != "ca.crt" {
			t.Errorf("%s: NATS_TLS_CA=%s is not a mounted ca.crt (%+v)", name, env["NATS_TLS_CA"], key)
		}
		if administrateClients[name] {
			rates[name] = envValue(c, "ADMINISTRATE_RATE_LIMIT")
		}
		// Exactly one PDB covers these pods, and it lets one go.
		var covering []*policyv1.PodDisruptionBudget
		for _, pdb := range pdbs {
			sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				continue
			}
			covering = append(covering, pdb)
			for w, pt := range pods {
				if w != "Deployment/"+name && sel.Matches(labels.Set(pt.Labels)) {
					t.Errorf("PDB %s also selects the pods of %s", pdb.Name, w)
				}
			}
		}
		if len(covering) != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets, want 1", name, len(covering))
			continue
		}
		pdb := covering[0]
		if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.Type != intstr.Int || pdb.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) || pdb.Spec.MinAvailable.IntValue() < 1 {
			t.Errorf("%s: PDB minAvailable %v with %d replicas, want 1 <= minAvailable < replicas", name, pdb.Spec.MinAvailable, *d.Spec.Replicas)
		}
	}
	cj := r.get(t, "CronJob", "sync-all").(*batchv1.CronJob)
	rates["sync-all"] = envValue(cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0], "ADMINISTRATE_RATE_LIMIT")
	// Every Administrate client spends the same shared budget, so each must
	// name the same tenant budget, below Administrate's 20/s.
	first := rates["admwriter"]
	for _, v := range rates {
		if v != first || v == "" {
			t.Errorf("ADMINISTRATE_RATE_LIMIT: %v; want one tenant budget for all (they share it through ADM_RATE)", rates)
			break
		}
	}
	var f float64
	if _, err := fmt.Sscan(first, &f); err != nil || f <= 0 || f >= 20 {
		t.Errorf("tenant budget %q, want below Administrate's 20 requests/s", first)
	}

	// Administrate reaches the webhook intake over HTTPS: an Ingress with a
	// cert-manager certificate routes the intake's path, and only it, to
	// the syncer Service's port for the pods' webhooks port.
	svc, sp := syncerWebhookService(t, r)
	ings := r.all("Ingress")
	if len(ings) != 1 {
		t.Fatalf("%d Ingresses, want 1 (the webhook intake)", len(ings))
	}
	ing := ings[0].obj.(*networkingv1.Ingress)
	if ing.Annotations["cert-manager.io/cluster-issuer"] == "" && ing.Annotations["cert-manager.io/issuer"] == "" {
		t.Errorf("Ingress %s: no cert-manager issuer annotation", ing.Name)
	}
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName == "" {
		t.Errorf("Ingress %s: no ingressClassName", ing.Name)
	}
	if len(ing.Spec.Rules) == 0 {
		t.Fatalf("Ingress %s has no rules", ing.Name)
	}
	for _, rule := range ing.Spec.Rules {
		tls := false
		for _, tl := range ing.Spec.TLS {
			tls = tls || (slices.Contains(tl.Hosts, rule.Host) && tl.SecretName != "")
		}
		if rule.Host == "" || !tls {
			t.Errorf("Ingress %s: host %q is not served over TLS", ing.Name, rule.Host)
		}
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			t.Errorf("Ingress %s: host %q routes nothing", ing.Name, rule.Host)
			continue
		}
		for _, path := range rule.HTTP.Paths {
			prefix := strings.TrimSuffix(path.Path, "/") + "/"
			var pathType networkingv1.PathType
			if path.PathType != nil {
				pathType = *path.PathType
			}
			if pathType != networkingv1.PathTypePrefix || prefix != webhookPathPrefix {
				t.Errorf("Ingress %s: path %q (%q), want Prefix %s: the intake's path only", ing.Name, path.Path, pathType, strings.TrimSuffix(webhookPathPrefix, "/"))
			}
			b := path.Backend.Service
			if b == nil || b.Name != svc.Name || (b.Port.Name != sp.Name && b.Port.Number != sp.Port) || (b.Port.Name == "" && b.Port.Number == 0) {
				t.Errorf("Ingress %s: backend %+v, want Service %s port %s (%d)", ing.Name, path.Backend, svc.Name, sp.Name, sp.Port)
			}
		}
	}
}

// The migration Job is a pre-deploy hook that needs no hand work: named
// after the release (a new tag is a new Job, the same tag changes nothing),
// an Argo CD PreSync hook that replaces its predecessor, and it removes
// itself once finished.
func TestProdMigrationHook(t *testing.T) {
	t.Parallel()
	check := func(r *rendered, wantName string) {
		t.Helper()
		jobs := r.all("Job")
		if len(jobs) != 1 {
			t.Fatalf("%d Jobs, want 1", len(jobs))
		}
		j := jobs[0].obj.(*batchv1.Job)
		if j.Name != wantName {
			t.Errorf("Job %s, want %s", j.Name, wantName)
		}
		// A Job's name is a DNS subdomain and also a label value of its pods (job-name).
		if errs := append(validation.IsDNS1123Subdomain(j.Name), validation.IsValidLabelValue(j.Name)...); len(errs) > 0 {
			t.Errorf("Job name %q: %v", j.Name, errs)
		}
		if j.Annotations["argocd.argoproj.io/hook"] != "PreSync" || j.Annotations["argocd.argoproj.io/hook-delete-policy"] != "BeforeHookCreation" {
			t.Errorf("annotations %v: want an Argo CD PreSync hook replaced before the next", j.Annotations)
		}
		if j.Spec.TTLSecondsAfterFinished == nil {
			t.Error("ttlSecondsAfterFinished not set")
		}
		if c := j.Spec.Template.Spec.InitContainers; len(c) != 1 || !slices.Equal(c[0].Args, []string{"migrate"}) {
			t.Errorf("first step %+v, want syncer migrate", c)
		}
	}
	check(render(t, prodDir), "migrate-change-me")

	// A release: `kustomize edit set image` in a copy of the overlay; the
	// Job's name follows the tag.
	tmp := t.TempDir()
	for _, d := range []string{"k8s", "grafana", "prometheus"} {
		copyTree(t, d, filepath.Join(tmp, d))
	}
	kf := filepath.Join(tmp, prodDir, "kustomization.yaml")
	b, err := os.ReadFile(kf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "newTag: change-me") {
		t.Fatal("the prod overlay sets no placeholder tag")
	}
	if err := os.WriteFile(kf, []byte(strings.ReplaceAll(string(b), "newTag: change-me", "newTag: 1.4.2")), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := renderDecode(filepath.Join(tmp, prodDir))
	if err != nil {
		t.Fatal(err)
	}
	check(r, "migrate-1.4.2")
}

// copyTree copies the directory src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		return copyFile(path, filepath.Join(dst, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pgCluster is the CloudNativePG Cluster of prod; its Services are
// <name>-rw/-ro/-r and its CA Secret <name>-ca.
const pgCluster = "admsync-pg"

// prodProvidedSecrets are the Secrets the prod overlay uses but does not
// create, and who makes each. "operator" ones are listed in deploy/README.md.
var prodProvidedSecrets = map[string]string{
	"syncer-credentials":    "operator",
	"importer-credentials":  "operator",
	"admwriter-credentials": "operator",
	"migrator-credentials":  "operator",
	"nats-auth":             "operator",
	"pg-migrator":           "operator",
	"pg-syncer":             "operator",
	"pg-importer":           "operator",
	"pg-admwriter":          "operator",
	"postgres-backup-s3":    "operator",
	"nats-tls":              "cert-manager",
	"nats-routes-tls":       "cert-manager",
	"syncer-webhooks-tls":   "cert-manager",
	pgCluster + "-ca":       "CloudNativePG",
}

// Every Secret prod refers to is either made by a Certificate, by
// CloudNativePG, or listed for the operator in deploy/README.md; the
// Issuer, the bucket and the auth.conf variables are named there too.
func TestProdSecretsAreProvided(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	used := map[string]string{}
	for w, tpl := range podSpecs(r) {
		for _, v := range tpl.Spec.Volumes {
			if v.Secret != nil {
				used[v.Secret.SecretName] = w
			}
			if v.Projected != nil {
				for _, s := range v.Projected.Sources {
					if s.Secret != nil {
						used[s.Secret.Name] = w
					}
				}
			}
		}
	}
	c := r.get(t, "Cluster", pgCluster).(*cnpgv1.Cluster)
	used[c.Spec.Bootstrap.InitDB.Secret.Name] = "Cluster"
	for _, role := range c.Spec.Managed.Roles {
		used[role.PasswordSecret.Name] = "Cluster role " + role.Name
	}
	aws := c.Spec.Backup.BarmanObjectStore.AWS
	used[aws.AccessKeyIDReference.Name] = "Cluster backup"
	used[aws.SecretAccessKeyReference.Name] = "Cluster backup"
	made := map[string]bool{}
	for _, o := range r.all("Certificate") {
		made[o.obj.(*certificateObject).Spec.SecretName] = true
	}
	// cert-manager's ingress-shim makes the certificate of an annotated Ingress.
	for _, o := range r.all("Ingress") {
		ing := o.obj.(*networkingv1.Ingress)
		for _, tl := range ing.Spec.TLS {
			used[tl.SecretName] = "Ingress " + ing.Name
			if ing.Annotations["cert-manager.io/cluster-issuer"] != "" || ing.Annotations["cert-manager.io/issuer"] != "" {
				made[tl.SecretName] = true
			}
		}
	}
	// The keys the pods mount from each Secret, which the operator must put in.
	keys := map[string]map[string]bool{}
	for _, tpl := range podSpecs(r) {
		for _, v := range tpl.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if keys[v.Secret.SecretName] == nil {
					keys[v.Secret.SecretName] = map[string]bool{}
				}
				keys[v.Secret.SecretName][it.Key] = true
			}
		}
	}
	for name, by := range used {
		who, ok := prodProvidedSecrets[name]
		switch {
		case !ok:
			t.Errorf("Secret %s (used by %s) is neither made here nor listed in prodProvidedSecrets", name, by)
		case who == "cert-manager" && !made[name]:
			t.Errorf("Secret %s: no Certificate makes it", name)
		}
	}
	for name := range prodProvidedSecrets {
		if _, ok := used[name]; !ok {
			t.Errorf("prodProvidedSecrets lists %s, which nothing uses", name)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, prodDoc, _ := strings.Cut(string(readme), "## Production overlay")
	if prodDoc == "" {
		t.Fatal(`deploy/README.md has no "## Production overlay" section`)
	}
	for name, who := range prodProvidedSecrets {
		if who == "operator" && !strings.Contains(prodDoc, "`"+name+"`") {
			t.Errorf("deploy/README.md (Production overlay) does not name the Secret `%s`", name)
		}
		for k := range keys[name] {
			if who == "operator" && !strings.Contains(prodDoc, "`"+k+"`") {
				t.Errorf("deploy/README.md (Production overlay) does not name the key `%s` of Secret %s", k, name)
			}
		}
	}
	// The public issuer of the webhook Ingress is the operator's to set.
	for _, o := range r.all("Ingress") {
		ing := o.obj.(*networkingv1.Ingress)
		for _, a := range []string{"cert-manager.io/cluster-issuer", "cert-manager.io/issuer"} {
			if v := ing.Annotations[a]; v != "" && !strings.Contains(prodDoc, "`"+v+"`") {
				t.Errorf("deploy/README.md (Production overlay) does not name the issuer `%s` of Ingress %s", v, ing.Name)
			}
		}
	}
	for _, v := range prodNATSPasswords {
		if !strings.Contains(prodDoc, v) {
			t.Errorf("deploy/README.md (Production overlay) does not name the auth.conf variable %s", v)
		}
	}
	for _, o := range r.all("Certificate") {
		issuer := o.obj.(*certificateObject).Spec.IssuerRef.Name
		if !strings.Contains(prodDoc, "`"+issuer+"`") {
			t.Errorf("deploy/README.md (Production overlay) does not name the Issuer `%s`", issuer)
		}
	}
}

// peer is one end of a connection the network policies are asked about.
type peer struct {
	ns  string            // namespace ("" for an address outside the cluster)
	pod map[string]string // pod labels
	ip  string            // an address outside the cluster
}

func (p peer) String() string {
	if p.ip != "" {
		return p.ip
	}
	return fmt.Sprintf("%s/%v", p.ns, p.pod)
}

// policyAllows evaluates the rendered NetworkPolicies of the admsync
// namespace as Kubernetes does for self's traffic in direction dir
// (Ingress: from other; Egress: to other) on port/proto: allowed when no
// policy of that type selects self, or when a rule of one that does
// matches other and the port.
func policyAllows(t *testing.T, pols []*networkingv1.NetworkPolicy, dir networkingv1.PolicyType, self map[string]string, other peer, port int32, proto corev1.Protocol) bool {
	t.Helper()
	selected := false
	for _, np := range pols {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set(self)) || !slices.Contains(np.Spec.PolicyTypes, dir) {
			continue
		}
		selected = true
		type rule struct {
			peers []networkingv1.NetworkPolicyPeer
			ports []networkingv1.NetworkPolicyPort
		}
		var rules []rule
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range np.Spec.Ingress {
				rules = append(rules, rule{r.From, r.Ports})
			}
		} else {
			for _, r := range np.Spec.Egress {
				rules = append(rules, rule{r.To, r.Ports})
			}
		}
		for _, r := range rules {
			portOK := len(r.ports) == 0
			for _, p := range r.ports {
				pr := corev1.ProtocolTCP
				if p.Protocol != nil {
					pr = *p.Protocol
				}
				portOK = portOK || (pr == proto && (p.Port == nil || p.Port.IntValue() == int(port)))
			}
			if !portOK {
				continue
			}
			if len(r.peers) == 0 {
				return true
			}
			for _, p := range r.peers {
				if peerMatches(t, p, other) {
					return true
				}
			}
		}
	}
	return !selected
}

func peerMatches(t *testing.T, p networkingv1.NetworkPolicyPeer, other peer) bool {
	t.Helper()
	if p.IPBlock != nil {
		if other.ip == "" {
			return false
		}
		ip := net.ParseIP(other.ip)
		_, cidr, err := net.ParseCIDR(p.IPBlock.CIDR)
		if err != nil {
			t.Fatal(err)
		}
		if !cidr.Contains(ip) {
			return false
		}
		for _, e := range p.IPBlock.Except {
			_, ex, err := net.ParseCIDR(e)
			if err != nil {
				t.Fatal(err)
			}
			if ex.Contains(ip) {
				return false
			}
		}
		return true
	}
	if other.ip != "" {
		return false
	}
	if p.NamespaceSelector == nil {
		if other.ns != namespace {
			return false
		}
	} else {
		sel, err := metav1.LabelSelectorAsSelector(p.NamespaceSelector)
		if err != nil {
			t.Fatal(err)
		}
		if !sel.Matches(labels.Set{"kubernetes.io/metadata.name": other.ns}) {
			return false
		}
	}
	if p.PodSelector == nil {
		return true
	}
	sel, err := metav1.LabelSelectorAsSelector(p.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(other.pod))
}

// The network policies: everything is denied by default, for every pod of
// the namespace; each workload gets exactly the connections it needs.
func TestProdNetworkPolicies(t *testing.T) {
	t.Parallel()
	r := render(t, prodDir)
	var pols []*networkingv1.NetworkPolicy
	defaultDeny := false
	for _, o := range r.all("NetworkPolicy") {
		np := o.obj.(*networkingv1.NetworkPolicy)
		pols = append(pols, np)
		if len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) && slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) &&
			len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 {
			defaultDeny = true
		}
	}
	if !defaultDeny {
		t.Fatal("no default-deny policy (empty podSelector, Ingress and Egress, no rules)")
	}
	pods := podSpecs(r)
	podLabels := func(w string) map[string]string {
		t.Helper()
		pt, ok := pods[w]
		if !ok {
			t.Fatalf("no workload %s", w)
		}
		return pt.Labels
	}
	local := func(l map[string]string) peer { return peer{ns: namespace, pod: l} }
	natsPod := podLabels("StatefulSet/nats")
	pgPod := map[string]string{"cnpg.io/cluster": pgCluster, "cnpg.io/instanceRole": "replica", "cnpg.io/podRole": "instance"}
	dns := peer{ns: "kube-system", pod: map[string]string{"k8s-app": "kube-dns"}}
	prometheus := peer{ns: "monitoring", pod: map[string]string{"app.kubernetes.io/name": "prometheus"}}
	cnpgOperator := peer{ns: "cnpg-system", pod: map[string]string{"app.kubernetes.io/name": "cloudnative-pg"}}
	internet := peer{ip: "203.0.113.10"}
	intranet := peer{ip: "10.1.2.3"}
	stranger := map[string]string{"app": "debug-shell"}
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP

	// a -> b on port: a's egress and b's ingress must both allow it.
	conn := func(a, b peer, port int32) bool {
		ok := true
		if a.ns == namespace {
			ok = ok && policyAllows(t, pols, networkingv1.PolicyTypeEgress, a.pod, b, port, tcp)
		}
		if b.ns == namespace {
			ok = ok && policyAllows(t, pols, networkingv1.PolicyTypeIngress, b.pod, a, port, tcp)
		}
		return ok
	}
	expect := func(what string, got, want bool) {
		t.Helper()
		if got != want {
			t.Errorf("%s: allowed %v, want %v", what, got, want)
		}
	}
	all := map[string]map[string]string{"stranger": stranger, "postgres instance": pgPod}
	for w, pt := range pods {
		all[w] = pt.Labels
	}
	for w, l := range all {
		expect(w+" resolves names (UDP 53)", policyAllows(t, pols, networkingv1.PolicyTypeEgress, l, dns, 53, udp), true)
		expect(w+" -> "+internet.String()+":80", conn(local(l), internet, 80), false)
	}
	natsClients := []string{"Deployment/syncer", "Deployment/importer", "Deployment/admwriter", "CronJob/sync-all"}
	for _, w := range natsClients {
		expect(w+" -> nats:4222", conn(local(podLabels(w)), local(natsPod), 4222), true)
		expect(w+" -> nats:6222", conn(local(podLabels(w)), local(natsPod), 6222), false)
		expect(w+" -> nats:8222", conn(local(podLabels(w)), local(natsPod), 8222), false)
		expect(w+" -> postgres:5432", conn(local(podLabels(w)), local(pgPod), 5432), true)
		expect(w+" -> postgres:8000", conn(local(podLabels(w)), local(pgPod), 8000), false)
	}
	for w := range pods {
		if strings.HasPrefix(w, "Job/") {
			expect(w+" -> postgres:5432", conn(local(podLabels(w)), local(pgPod), 5432), true)
		}
	}
	for _, w := range []string{"Deployment/syncer", "Deployment/admwriter", "CronJob/sync-all"} {
		expect(w+" -> Administrate:443", conn(local(podLabels(w)), internet, 443), true)
		expect(w+" -> "+intranet.String()+":443", conn(local(podLabels(w)), intranet, 443), false)
	}
	expect("importer -> Administrate:443", conn(local(podLabels("Deployment/importer")), internet, 443), false)
	expect("nats -> internet:443", conn(local(natsPod), internet, 443), false)
	expect("nats -> nats:6222", conn(local(natsPod), local(natsPod), 6222), true)
	expect("stranger -> nats:4222", conn(local(stranger), local(natsPod), 4222), false)
	expect("stranger -> postgres:5432", conn(local(stranger), local(pgPod), 5432), false)
	expect("stranger -> admwriter:9090", conn(local(stranger), local(podLabels("Deployment/admwriter")), 9090), false)
	for _, w := range []string{"Deployment/syncer", "Deployment/importer", "Deployment/admwriter"} {
		expect("prometheus -> "+w+":9090", conn(prometheus, local(podLabels(w)), 9090), true)
	}
	expect("prometheus -> nats exporter:7777", conn(prometheus, local(natsPod), 7777), true)
	expect("prometheus -> nats monitor:8222", conn(prometheus, local(natsPod), 8222), false)
	expect("prometheus -> postgres exporter:9187", conn(prometheus, local(pgPod), 9187), true)
	expect("prometheus -> postgres:5432", conn(prometheus, local(pgPod), 5432), false)
	expect("postgres -> postgres:5432 (replication)", conn(local(pgPod), local(pgPod), 5432), true)
	expect("CloudNativePG operator -> postgres:8000", conn(cnpgOperator, local(pgPod), 8000), true)
	expect("postgres -> object store:443", conn(local(pgPod), internet, 443), true)

	// Administrate's webhooks: from the ingress controller to the syncer's
	// intake port, and nothing else; nobody else reaches that port.
	ingressController := peer{ns: "ingress-nginx", pod: map[string]string{"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}}
	syncerPod := local(podLabels("Deployment/syncer"))
	expect("ingress controller -> syncer:webhooks", conn(ingressController, syncerPod, webhookPort), true)
	expect("ingress controller -> syncer:9090", conn(ingressController, syncerPod, 9090), false)
	expect("ingress controller -> sync-all:webhooks", conn(ingressController, local(podLabels("CronJob/sync-all")), webhookPort), false)
	expect("ingress controller -> admwriter:webhooks", conn(ingressController, local(podLabels("Deployment/admwriter")), webhookPort), false)
	expect("ingress controller -> importer:webhooks", conn(ingressController, local(podLabels("Deployment/importer")), webhookPort), false)
	expect("ingress controller -> nats:4222", conn(ingressController, local(natsPod), 4222), false)
	expect("ingress controller -> postgres:5432", conn(ingressController, local(pgPod), 5432), false)
	expect("other pod of the ingress namespace -> syncer:webhooks", conn(peer{ns: "ingress-nginx", pod: map[string]string{"app": "default-backend"}}, syncerPod, webhookPort), false)
	expect("ingress-nginx-labelled pod elsewhere -> syncer:webhooks", conn(peer{ns: "tenant-x", pod: ingressController.pod}, syncerPod, webhookPort), false)
	expect("stranger -> syncer:webhooks", conn(local(stranger), syncerPod, webhookPort), false)
	expect("prometheus -> syncer:webhooks", conn(prometheus, syncerPod, webhookPort), false)
	expect("admwriter -> syncer:webhooks", conn(local(podLabels("Deployment/admwriter")), syncerPod, webhookPort), false)
	expect("internet -> syncer:webhooks (not through the Ingress)", policyAllows(t, pols, networkingv1.PolicyTypeIngress, syncerPod.pod, internet, webhookPort, tcp), false)
}
