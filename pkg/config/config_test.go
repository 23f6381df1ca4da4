package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDefaults(t *testing.T) {
	c, err := LoadWith(MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.NATSURL != "nats://127.0.0.1:4222" || c.AdministrateRateLimit != 15 || c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := c.RequireAdministrate(); err == nil || !strings.Contains(err.Error(), "ADMINISTRATE_CLIENT_SECRET") {
		t.Fatalf("want missing settings listed, got %v", err)
	}
}

func TestRequireNamesWhatIsMissing(t *testing.T) {
	c, err := LoadWith(MapLookuper(map[string]string{"ADMINISTRATE_API_URL": "https://api.example/graphql", "WEBHOOK_ROUTE_TOKEN": "short"}))
	if err != nil {
		t.Fatal(err)
	}
	want := "Administrate is not configured: set ADMINISTRATE_TOKEN_URL, ADMINISTRATE_CLIENT_ID, ADMINISTRATE_CLIENT_SECRET (or ADMINISTRATE_CLIENT_SECRET_FILE)"
	if err := c.RequireAdministrate(); err == nil || err.Error() != want {
		t.Errorf("RequireAdministrate = %v, want %q", err, want)
	}
	want = "configuration: the webhook intake needs WEBHOOK_ROUTE_TOKEN (at least 16 characters) and WEBHOOK_SECRET"
	if err := c.RequireWebhookIntake(); err == nil || err.Error() != want {
		t.Errorf("RequireWebhookIntake = %v, want %q", err, want)
	}
	c, err = LoadWith(MapLookuper(map[string]string{"WEBHOOK_ROUTE_TOKEN": "0123456789abcdef", "WEBHOOK_SECRET": "s"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RequireWebhookIntake(); err != nil {
		t.Errorf("RequireWebhookIntake with both set = %v, want nil", err)
	}
}

func TestSecretFromFileAndRedaction(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("s3cr3t-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadWith(MapLookuper(map[string]string{"ADMINISTRATE_CLIENT_SECRET_FILE": path}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdministrateClientSecret.Reveal() != "s3cr3t-value" {
		t.Fatalf("secret not read from file")
	}
	var sb strings.Builder
	logger := slog.New(slog.NewJSONHandler(&sb, nil))
	logger.Info("config", "secret", c.AdministrateClientSecret, "cfg", c)
	js, _ := json.Marshal(c)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", c, c, c.AdministrateClientSecret, c.AdministrateClientSecret), sb.String(), string(js)} {
		if strings.Contains(s, "s3cr3t") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
}

func TestBadValuesAreReportedTogether(t *testing.T) {
	_, err := LoadWith(MapLookuper(map[string]string{"ADMINISTRATE_RATE_LIMIT": "fast", "LOG_LEVEL": "loud", "DATABASE_URL": "x", "DATABASE_URL_FILE": "/nonexistent"}))
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{"ADMINISTRATE_RATE_LIMIT", "LOG_LEVEL", "both set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestNATSReplicas(t *testing.T) {
	c, err := LoadWith(MapLookuper(map[string]string{"NATS_REPLICAS": "3"}))
	if err != nil || c.NATSReplicas != 3 {
		t.Fatalf("NATS_REPLICAS=3: %+v, %v", c, err)
	}
	if c, err := LoadWith(MapLookuper(nil)); err != nil || c.NATSReplicas != 1 {
		t.Fatalf("unset NATS_REPLICAS: %+v, %v", c, err)
	}
	if _, err := LoadWith(MapLookuper(map[string]string{"NATS_REPLICAS": "2"})); err == nil || !strings.Contains(err.Error(), "NATS_REPLICAS") {
		t.Fatalf("NATS_REPLICAS=2: %v, want an error naming it", err)
	}
}
