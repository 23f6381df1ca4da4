// Package deploy holds the Kubernetes manifests, dashboards and alert rules
// of admsync, and the tests that keep them valid.
package deploy
