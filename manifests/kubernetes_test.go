package manifests_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// k8sObject is a parsed Kubernetes manifest, loosely typed.
type k8sObject map[string]any

func (o k8sObject) at(path ...string) any {
	var cur any = map[string]any(o)
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// mustParseKubernetes parses every YAML file under kubernetes/ by kind.
func mustParseKubernetes(t *testing.T) map[string]k8sObject {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests under kubernetes/: %v", err)
	}
	byKind := map[string]k8sObject{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var o k8sObject
		if err := json.Unmarshal(js, &o); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		kind, _ := o["kind"].(string)
		if kind == "" || o["apiVersion"] == nil || o.at("metadata", "name") == nil {
			t.Fatalf("%s: got kind %q, want a manifest with apiVersion, kind and metadata.name", f, kind)
		}
		byKind[kind] = o
	}
	return byKind
}

func TestKubernetesManifests(t *testing.T) {
	m := mustParseKubernetes(t)
	for _, kind := range []string{"Deployment", "Secret", "PodDisruptionBudget", "Service"} {
		if m[kind] == nil {
			t.Fatalf("no %s manifest", kind)
		}
	}
	d := m["Deployment"]
	if got := d.at("spec", "replicas"); got != float64(2) {
		t.Errorf("replicas: got %v, want 2", got)
	}
	containers, _ := d.at("spec", "template", "spec", "containers").([]any)
	if len(containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(containers))
	}
	c := k8sObject(containers[0].(map[string]any))
	if got := c.at("readinessProbe", "httpGet", "path"); got != "/readyz" {
		t.Errorf("readiness probe: got %v, want /readyz", got)
	}
	if got := c.at("livenessProbe", "httpGet", "path"); got != "/healthz" {
		t.Errorf("liveness probe: got %v, want /healthz", got)
	}
	if c.at("resources", "requests", "memory") == nil || c.at("resources", "limits", "memory") == nil {
		t.Error("the container needs memory requests and limits")
	}
	if got := d.at("spec", "template", "spec", "securityContext", "runAsNonRoot"); got != true {
		t.Errorf("runAsNonRoot: got %v, want true", got)
	}
	// The tokens and the database URL come from the Secret, never inline.
	secret := m["Secret"]
	envFrom, _ := c.at("envFrom").([]any)
	fromSecret := false
	for _, e := range envFrom {
		if k8sObject(e.(map[string]any)).at("secretRef", "name") == secret.at("metadata", "name") {
			fromSecret = true
		}
	}
	if !fromSecret {
		t.Error("the container does not take its environment from the okrbot Secret")
	}
	env, _ := c.at("env").([]any)
	for _, e := range env {
		name, _ := e.(map[string]any)["name"].(string)
		if strings.Contains(name, "TOKEN") || name == "DATABASE_URL" {
			t.Errorf("%s is set inline in the Deployment, want it from the Secret", name)
		}
	}
	for _, key := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "DATABASE_URL"} {
		if secret.at("stringData", key) == nil {
			t.Errorf("the Secret has no %s", key)
		}
	}
	// The budget and the service select the Deployment's pods.
	labels := d.at("spec", "template", "metadata", "labels")
	if got := m["PodDisruptionBudget"].at("spec", "selector", "matchLabels"); !sameJSON(got, labels) {
		t.Errorf("PDB selects %v, want the pods' labels %v", got, labels)
	}
	if got := m["PodDisruptionBudget"].at("spec", "minAvailable"); got != float64(1) {
		t.Errorf("PDB minAvailable: got %v, want 1", got)
	}
	if got := m["Service"].at("spec", "selector"); !sameJSON(got, labels) {
		t.Errorf("Service selects %v, want the pods' labels %v", got, labels)
	}
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms, user, health, entry int
	for _, line := range strings.Split(string(raw), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms++
		case "USER":
			if len(f) > 1 && !strings.HasPrefix(f[1], "0") && f[1] != "root" {
				user++
			}
		case "HEALTHCHECK":
			health++
		case "ENTRYPOINT":
			if strings.Contains(line, "okrbot") {
				entry++
			}
		}
	}
	if froms < 2 {
		t.Errorf("got %d FROM lines, want a multi-stage build", froms)
	}
	if user != 1 || health != 1 || entry != 1 {
		t.Errorf("got USER (non-root) %d, HEALTHCHECK %d, ENTRYPOINT okrbot %d; want one of each", user, health, entry)
	}
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
