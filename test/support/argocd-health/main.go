// argocd-health: Argo CD's own resource-health code (github.com/argoproj/argo-cd/v2 and the
// gitops-engine it pins), run on objects as the application controller runs it, so that the
// tests check the galleryshare.io health scripts against Argo CD itself rather than a model of
// it. Two modes:
//
//	argocd-health < request.json
//	  request: {"configMapData": {<argocd-cm data>}, "objects": [<object>, ...]}
//	  Reads the health scripts from the argocd-cm data through Argo CD's settings manager (over a
//	  fake clientset holding that ConfigMap), then computes each object's health with
//	  gitops-engine's health.GetResourceHealth and util/lua's ResourceHealthOverrides: the
//	  controller's path, in which a script from argocd-cm runs without Lua's standard libraries
//	  unless resource.customizations.useOpenLibs.<group_kind> is true.
//	  Prints [{"status": ..., "message": ...}, ...], one per object.
//
//	argocd-health health-tests <resource_customizations dir>
//	  Runs every health_test.yaml under the directory as Argo CD's own TestLuaHealthScript reads
//	  it (util/lua/health_test.go), each case twice: as a built-in script (util/lua's VM with the
//	  standard libraries open, as Argo CD's test does) and from argocd-cm (the controller path,
//	  libraries closed). Prints [{"test", "inputPath", "path", "expected", "actual", "pass"}, ...].
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/argoproj/gitops-engine/pkg/health"
	log "github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/argoproj/argo-cd/v2/util/lua"
	"github.com/argoproj/argo-cd/v2/util/settings"
)

const namespace = "argocd"

type result struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "argocd-health: "+format+"\n", args...)
	os.Exit(2)
}

// controllerHealth returns the health function of an Argo CD whose argocd-cm holds data: the
// overrides come from the settings manager, as the application controller reads them.
func controllerHealth(data map[string]string) func(*unstructured.Unstructured) result {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}},
		Data:       data,
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "argocd-secret", Namespace: namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}},
		Data:       map[string][]byte{},
	}
	mgr := settings.NewSettingsManager(context.Background(), fake.NewSimpleClientset(cm, secret), namespace)
	overrides, err := mgr.GetResourceOverrides()
	if err != nil {
		fail("reading resource overrides from argocd-cm: %v", err)
	}
	healthOverride := lua.ResourceHealthOverrides(overrides)
	return func(obj *unstructured.Unstructured) result {
		status, err := health.GetResourceHealth(obj, healthOverride)
		if status == nil {
			if err != nil {
				return result{Status: string(health.HealthStatusUnknown), Message: err.Error()}
			}
			return result{}
		}
		return result{Status: string(status.Status), Message: status.Message}
	}
}

func evaluate() {
	var request struct {
		ConfigMapData map[string]string `json:"configMapData"`
		Objects       []json.RawMessage `json:"objects"`
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	if err := json.Unmarshal(input, &request); err != nil {
		fail("decoding the request: %v", err)
	}
	healthOf := controllerHealth(request.ConfigMapData)
	results := make([]result, 0, len(request.Objects))
	for _, raw := range request.Objects {
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(raw); err != nil {
			fail("decoding an object: %v", err)
		}
		results = append(results, healthOf(obj))
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		os.Exit(1)
	}
}

// The shapes of util/lua/health_test.go.
type testStructure struct {
	Tests []individualTest `yaml:"tests"`
}

type individualTest struct {
	InputPath    string              `yaml:"inputPath"`
	HealthStatus health.HealthStatus `yaml:"healthStatus"`
}

type caseResult struct {
	Test      string `json:"test"`
	InputPath string `json:"inputPath"`
	Path      string `json:"path"`
	Expected  result `json:"expected"`
	Actual    result `json:"actual"`
	Error     string `json:"error,omitempty"`
	Pass      bool   `json:"pass"`
}

// readObject reads a testdata object as util/lua/health_test.go's getObj does.
func readObject(path string) (*unstructured.Unstructured, error) {
	yamlBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	obj := make(map[string]interface{})
	if err := yaml.Unmarshal(yamlBytes, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func healthTests(root string) {
	var results []caseResult
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() || info.Name() != "health.lua" {
			return nil
		}
		dir := filepath.Dir(path)
		script, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// resource_customizations/<group>/<Kind>/health.lua is the argocd-cm key <group>_<Kind>.
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 2 {
			return fmt.Errorf("%s: expected <group>/<Kind>/health.lua", path)
		}
		fromConfigMap := controllerHealth(map[string]string{"resource.customizations.health." + parts[0] + "_" + parts[1]: string(script)})
		yamlBytes, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
		if err != nil {
			return err
		}
		var resourceTest testStructure
		if err := yaml.Unmarshal(yamlBytes, &resourceTest); err != nil {
			return err
		}
		if len(resourceTest.Tests) == 0 {
			return fmt.Errorf("%s: no tests", filepath.Join(dir, "health_test.yaml"))
		}
		for _, test := range resourceTest.Tests {
			expected := result{Status: string(test.HealthStatus.Status), Message: test.HealthStatus.Message}
			obj, err := readObject(filepath.Join(dir, test.InputPath))
			if err != nil {
				return err
			}
			// As Argo CD's TestLuaHealthScript runs a built-in script: standard libraries open.
			builtIn := caseResult{Test: filepath.Join(rel, "health_test.yaml"), InputPath: test.InputPath, Path: "built-in", Expected: expected}
			vm := lua.VM{UseOpenLibs: true}
			if status, err := vm.ExecuteHealthLua(obj, string(script)); err != nil {
				builtIn.Error = err.Error()
			} else {
				builtIn.Actual = result{Status: string(status.Status), Message: status.Message}
				builtIn.Pass = *status == test.HealthStatus
			}
			results = append(results, builtIn)
			// As the controller runs a script from argocd-cm: standard libraries closed.
			actual := fromConfigMap(obj)
			results = append(results, caseResult{
				Test: filepath.Join(rel, "health_test.yaml"), InputPath: test.InputPath, Path: "argocd-cm", Expected: expected, Actual: actual,
				Pass: actual == expected,
			})
		}
		return nil
	})
	if err != nil {
		fail("%v", err)
	}
	sort.SliceStable(results, func(i, j int) bool { return results[i].Test < results[j].Test })
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		os.Exit(1)
	}
}

func main() {
	// The settings manager logs its informers' start at info level; keep stdout JSON only and
	// stderr for what matters.
	log.SetOutput(os.Stderr)
	log.SetLevel(log.WarnLevel)
	if len(os.Args) == 3 && os.Args[1] == "health-tests" {
		healthTests(os.Args[2])
		return
	}
	if len(os.Args) != 1 {
		fail("usage: argocd-health < request.json | argocd-health health-tests <resource_customizations dir>")
	}
	evaluate()
}
