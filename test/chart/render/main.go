// flowlens-chart-render renders a Helm chart the way `helm template` does, so
// that the chart can be tested on a machine where Helm cannot be installed.
//
// It uses the engine Helm itself uses, Go's text/template with the sprig
// function library (both from Debian's packages), and implements the Helm
// built-ins the flowlens chart needs: include, tpl, required, toYaml,
// fromYaml, fromYamlArray, fromJson, lookup (always empty, as in
// `helm template`), .Values (values.yaml deep-merged with each -f file, a
// null in a later file deleting the key), .Release, .Chart, .Capabilities,
// .Template and .Files (Get, GetBytes, Glob, Lines, AsConfig).
//
// Values are read the way Helm reads them: YAML converted to JSON and decoded,
// so every number is a float64 (Helm's own quirk: {{ .Values.n }} of 1000000
// prints 1e+06, which toYaml and int avoid).
//
// It does not validate values against values.schema.json: the tests do that
// with a JSON-schema validator on the merged values printed by --values-json.
//
// Usage:
//
//	flowlens-chart-render --chart DIR [-f values.yaml]... [--name RELEASE]
//	  [--namespace NS] [--kube-version v1.30.0] [--api-versions G/V,...]
//	  [--values-json] [--notes]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"gopkg.in/yaml.v2"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// --- values --------------------------------------------------------------

// parseYAML decodes YAML into JSON-shaped data (map[string]interface{},
// []interface{}, float64, string, bool, nil), as sigs.k8s.io/yaml does for Helm.
func parseYAML(data []byte) (interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	js, err := json.Marshal(jsonable(raw))
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(js, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// jsonable turns yaml.v2's map[interface{}]interface{} into string-keyed maps.
func jsonable(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			m[fmt.Sprint(k)] = jsonable(val)
		}
		return m
	case []interface{}:
		for i := range t {
			t[i] = jsonable(t[i])
		}
		return t
	default:
		return v
	}
}

func readValues(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	v, err := parseYAML(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if v == nil {
		return map[string]interface{}{}, nil
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("%s: the top level must be a mapping", file)
	}
	return m, nil
}

// mergeValues deep-merges src over dst as Helm does for -f files: maps merge
// key by key, anything else (lists included) replaces, and null deletes.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, sv := range src {
		if sv == nil {
			delete(dst, k)
			continue
		}
		sm, sIsMap := sv.(map[string]interface{})
		dm, dIsMap := dst[k].(map[string]interface{})
		if sIsMap && dIsMap {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = sv
		}
	}
	return dst
}

// --- built-in objects ----------------------------------------------------

type chartMeta struct {
	APIVersion  string
	Name        string
	Version     string
	AppVersion  string
	Description string
	Type        string
	KubeVersion string
	Home        string
	Keywords    []interface{}
	Annotations map[string]interface{}
}

type release struct {
	Name      string
	Namespace string
	Service   string
	IsInstall bool
	IsUpgrade bool
	Revision  int
}

type kubeVersion struct {
	Version    string
	Major      string
	Minor      string
	GitVersion string
}

func (k kubeVersion) String() string { return k.Version }

type apiVersions []string

// Has answers "apps/v1" as well as "apps/v1/DaemonSet", as Helm does.
func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type capabilities struct {
	KubeVersion kubeVersion
	APIVersions apiVersions
}

type templateMeta struct {
	Name     string
	BasePath string
}

// files holds every chart file outside templates/, keyed by chart-relative path.
type files map[string][]byte

func (f files) GetBytes(name string) []byte { return f[name] }
func (f files) Get(name string) string      { return string(f[name]) }

func (f files) Glob(pattern string) files {
	out := files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f files) Lines(name string) []string {
	s := strings.TrimSuffix(string(f[name]), "\n")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// AsConfig renders the files as a ConfigMap's data: base name -> content.
func (f files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	return toYAML(m)
}

type topLevel struct {
	Values       map[string]interface{}
	Release      release
	Chart        chartMeta
	Capabilities capabilities
	Files        files
	Template     templateMeta
}

// Templates index .Values etc. by these names through a map, as in Helm.
func (t topLevel) asMap() map[string]interface{} {
	return map[string]interface{}{
		"Values":       t.Values,
		"Release":      t.Release,
		"Chart":        t.Chart,
		"Capabilities": t.Capabilities,
		"Files":        t.Files,
		"Template":     t.Template,
	}
}

// --- functions -----------------------------------------------------------

// toYAML is Helm's toYaml (sigs.k8s.io/yaml): JSON first, so struct tags and
// map keys behave as in JSON, then that JSON read as YAML and written out,
// which keeps integers integers and sorts keys.
func toYAML(v interface{}) string {
	js, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var generic interface{}
	if err := yaml.Unmarshal(js, &generic); err != nil {
		return ""
	}
	out, err := yaml.Marshal(generic)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func fromYAML(s string) map[string]interface{} {
	v, err := parseYAML([]byte(s))
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	m, ok := v.(map[string]interface{})
	if !ok {
		return map[string]interface{}{}
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	v, err := parseYAML([]byte(s))
	if err != nil {
		return []interface{}{err.Error()}
	}
	a, _ := v.([]interface{})
	return a
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func required(msg string, v interface{}) (interface{}, error) {
	if v == nil {
		return nil, errors.New(msg)
	}
	if s, ok := v.(string); ok && s == "" {
		return nil, errors.New(msg)
	}
	return v, nil
}

type engine struct {
	tmpl *template.Template
	top  topLevel
}

func (e *engine) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a chart must not depend on the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["fromJson"] = fromJSON
	f["required"] = required
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	// Replaced once the template set exists (they need it).
	f["include"] = func(string, interface{}) (string, error) { return "", nil }
	f["tpl"] = func(string, interface{}) (string, error) { return "", nil }
	return f
}

func (e *engine) include(name string, data interface{}) (string, error) {
	var buf bytes.Buffer
	if err := e.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// tpl renders a string as a template with access to the chart's named templates.
func (e *engine) tpl(text string, data interface{}) (string, error) {
	t, err := e.tmpl.Clone()
	if err != nil {
		return "", err
	}
	t, err = t.New("tpl").Parse(text)
	if err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

// --- chart loading and rendering -----------------------------------------

func loadChart(dir string) (chartMeta, map[string]string, files, error) {
	var meta chartMeta
	raw, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return meta, nil, nil, err
	}
	v, err := parseYAML(raw)
	if err != nil {
		return meta, nil, nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	m, _ := v.(map[string]interface{})
	str := func(k string) string { s, _ := m[k].(string); return s }
	meta = chartMeta{
		APIVersion: str("apiVersion"), Name: str("name"), Version: str("version"),
		AppVersion: str("appVersion"), Description: str("description"), Type: str("type"),
		KubeVersion: str("kubeVersion"), Home: str("home"),
	}
	meta.Keywords, _ = m["keywords"].([]interface{})
	meta.Annotations, _ = m["annotations"].(map[string]interface{})
	if meta.Name == "" || meta.Version == "" {
		return meta, nil, nil, errors.New("Chart.yaml: name and version are required")
	}

	templates := map[string]string{}
	other := files{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "ci" {
				return filepath.SkipDir // as with .helmignore: test scenarios are not packaged
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasPrefix(rel, "templates/") {
			templates[meta.Name+"/"+rel] = string(data)
		} else {
			other[rel] = data
		}
		return nil
	})
	return meta, templates, other, err
}

type options struct {
	chart       string
	values      valueFiles
	name        string
	namespace   string
	kubeVersion string
	apiVersions string
	valuesJSON  bool
	notes       bool
}

func run(o options) error {
	meta, sources, chartFiles, err := loadChart(o.chart)
	if err != nil {
		return err
	}
	values, err := readValues(filepath.Join(o.chart, "values.yaml"))
	if err != nil {
		return err
	}
	for _, f := range o.values {
		extra, err := readValues(f)
		if err != nil {
			return err
		}
		values = mergeValues(values, extra)
	}
	if o.valuesJSON {
		out, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}

	kv := strings.TrimPrefix(o.kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	if len(parts) < 2 {
		return fmt.Errorf("--kube-version %q: expected vMAJOR.MINOR.PATCH", o.kubeVersion)
	}
	apis := apiVersions{"v1", "apps/v1", "rbac.authorization.k8s.io/v1", "discovery.k8s.io/v1", "batch/v1"}
	for _, a := range strings.Split(o.apiVersions, ",") {
		if a = strings.TrimSpace(a); a != "" {
			apis = append(apis, a)
		}
	}
	top := topLevel{
		Values:  values,
		Release: release{Name: o.name, Namespace: o.namespace, Service: "Helm", IsInstall: true, Revision: 1},
		Chart:   meta,
		Capabilities: capabilities{
			KubeVersion: kubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv},
			APIVersions: apis,
		},
		Files: chartFiles,
	}

	e := &engine{top: top}
	root := template.New("gotpl").Option("missingkey=zero")
	root.Funcs(e.funcs())
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := root.New(n).Parse(sources[n]); err != nil {
			return err
		}
	}
	e.tmpl = root
	root.Funcs(template.FuncMap{"include": e.include, "tpl": e.tpl})

	var out strings.Builder
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue // partials hold named templates only
		}
		isNotes := base == "NOTES.txt"
		if isNotes != o.notes {
			continue
		}
		top.Template = templateMeta{Name: n, BasePath: meta.Name + "/templates"}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, n, top.asMap()); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			out.WriteString(text)
			continue
		}
		if strings.TrimSpace(text) == "" {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", n, strings.TrimSpace(text))
	}
	fmt.Print(out.String())
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.chart, "chart", "", "chart directory")
	flag.Var(&o.values, "f", "values file merged over values.yaml (repeatable; later wins)")
	flag.StringVar(&o.name, "name", "flowlens", "release name")
	flag.StringVar(&o.namespace, "namespace", "default", "release namespace")
	flag.StringVar(&o.kubeVersion, "kube-version", "v1.30.0", "Kubernetes version for .Capabilities")
	flag.StringVar(&o.apiVersions, "api-versions", "", "extra API versions for .Capabilities.APIVersions, comma-separated")
	flag.BoolVar(&o.valuesJSON, "values-json", false, "print the merged values as JSON and exit")
	flag.BoolVar(&o.notes, "notes", false, "render NOTES.txt only")
	flag.Parse()
	if o.chart == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: flowlens-chart-render --chart DIR [-f values.yaml]... [--name R] [--namespace NS] [--kube-version V] [--api-versions LIST] [--values-json] [--notes]")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
