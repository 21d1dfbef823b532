package deploy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// The container files, checked statically against the shipped configs: the
// repository's CI has a Docker engine only by chance and no image registry,
// so the image is not built in every run (TestIntegrationContainerImage
// builds and runs it where an engine answers).
const (
	nonrootUID = "65532" // distroless nonroot
	httpAddr   = "0.0.0.0:4195"
	// Where the image keeps the shipped streams and resources, as
	// .env.example and deploy/README.md name them.
	imageStreams   = "/etc/erpsync/streams"
	imageResources = "/etc/erpsync/resources/*.yaml"
)

var (
	// Benthos's own pattern of an environment variable in a config
	// (internal/config/env_vars.go), and Bloblang's env("NAME").
	reBenthosEnv = regexp.MustCompile(`\${([0-9A-Za-z_.]+)(:((\${[^}]+})|[^}])*)?(?:\|[0-9A-Za-z]+)?}`)
	reBloblEnv   = regexp.MustCompile(`env\("([A-Za-z0-9_]+)"\)`)
	// A folder of the state directory a config writes to.
	reStateSub = regexp.MustCompile(`\${ERPSYNC_STATE_DIR(?::[^}]*)?}/([A-Za-z0-9_]+)/`)
	// A default relative to the working directory: ${VAR:./dir/...}.
	reRelDefault = regexp.MustCompile(`\${[A-Z0-9_]+:\./([A-Za-z0-9_]+)/`)
	// Compose interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}.
	reCompose = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}`)
)

// containerFiles are the texts under test, so that TestContainerFileChecksFail
// can break each of them.
type containerFiles struct {
	dockerfile, compose, envExample, dockerignore string
}

func readContainerFiles(t *testing.T) containerFiles {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(erpsynctest.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return containerFiles{read("Dockerfile"), read("docker-compose.yml"), read(".env.example"), read(".dockerignore")}
}

// TestContainerFiles: `docker compose up` with a filled-in .env can run every
// shipped stream, one or all, with its state on a volume, its health checked
// and its ports reachable; see checkContainerFiles for the rules.
func TestContainerFiles(t *testing.T) {
	for _, p := range checkContainerFiles(erpsynctest.Path("."), readContainerFiles(t)) {
		t.Error(p)
	}
}

// TestContainerFileChecksFail breaks the files one way at a time: each
// check must notice.
func TestContainerFileChecksFail(t *testing.T) {
	cases := []struct {
		name      string
		file      string // dockerfile, compose, env, ignore
		old, new  string
		wantIssue string
	}{
		{"variable missing from .env.example", "env", "\nXBB_TOKEN=\n", "\n", "XBB_TOKEN, read by config/streams/xbb_products_to_mysql.yaml, is not in .env.example"},
		{"no env_file", "compose", "    env_file: .env\n", "", "KIS_PID, read by config/streams/jushuitan_other_inout_to_kis.yaml, does not reach the container"},
		{"stale variable", "env", "\nXBB_TOKEN=\n", "\nXBB_TOKEN=\nXBB_OLD_TOKEN=\n", ".env.example names XBB_OLD_TOKEN, which no shipped config and not docker-compose.yml reads"},
		{"compose variable not documented", "compose", "${ERPSYNC_RESTART:-unless-stopped}", "${RESTART_POLICY:-unless-stopped}", "docker-compose.yml reads ${RESTART_POLICY}, which .env.example does not list"},
		{"state dir elsewhere in compose", "compose", "ERPSYNC_STATE_DIR: /var/lib/erpsync/state", "ERPSYNC_STATE_DIR: /state", "ERPSYNC_STATE_DIR is /var/lib/erpsync/state in the image but /state in docker-compose.yml"},
		{"state not a volume", "compose", "      - erpsync-state:/var/lib/erpsync/state\n", "", "the state directory /var/lib/erpsync/state is not mounted on a named volume"},
		{"state volume undeclared", "compose", "\n  erpsync-state:\n", "\n", "the named volume erpsync-state is not declared"},
		{"no VOLUME", "dockerfile", `VOLUME ["/var/lib/erpsync/state"]`, "", "the state directory /var/lib/erpsync/state is not a VOLUME"},
		{"state not writable", "dockerfile", "COPY --from=build --chown=65532:65532 /out/work", "COPY --from=build /out/work", "/var/lib/erpsync/state is not owned by nonroot"},
		{"no dead_letters folder", "dockerfile", "/out/work/state/dead_letters", "", "state folder dead_letters (config/streams/"},
		{"no import folder", "dockerfile", " /out/work/import", "", "the relative default ./import/ (config/streams/excel_to_kingdee_materials.yaml) is not a folder of the working directory"},
		{"runs as root", "dockerfile", "USER 65532:65532", "USER root", "the image runs as root, not nonroot"},
		{"no http.address in CMD", "dockerfile", `"--set", "http.address=0.0.0.0:4195", `, "", "Dockerfile CMD: does not set http.address=0.0.0.0:4195"},
		{"no http.address in compose", "compose", "      - --set\n      - http.address=0.0.0.0:4195\n", "", "docker-compose.yml command: does not set http.address=0.0.0.0:4195"},
		{"no resources in compose", "compose", "      - /etc/erpsync/resources/*.yaml\n", "      - /etc/erpsync/resource/*.yaml\n", "docker-compose.yml command: does not load the shipped resources (-r " + imageResources},
		{"resources not copied", "dockerfile", "COPY config/resources /etc/erpsync/resources", "COPY config/resources /etc/erpsync/res", "Dockerfile CMD: does not load the shipped resources"},
		{"streams not copied", "dockerfile", "COPY config/streams /etc/erpsync/streams", "COPY config/streams /etc/streams", "names /etc/erpsync/streams/xbb_products_to_mysql.yaml, which is not a file in the image"},
		{"default stream missing", "dockerfile", "COPY deploy-config /config", "COPY deploy-config /conf", "Dockerfile CMD: names /config/stream.yaml, which is not a file in the image"},
		{"no healthcheck", "dockerfile", `CMD ["erpsync", "healthcheck"]`, `CMD ["true"]`, "the HEALTHCHECK does not run erpsync healthcheck"},
		{"compose healthcheck", "compose", `test: ["CMD", "erpsync", "healthcheck"]`, `test: ["CMD", "curl", "-f", "http://127.0.0.1:4195/ready"]`, "docker-compose.yml healthcheck does not run erpsync healthcheck"},
		{"webhook not published", "compose", "      - ${WEBHOOK_PUBLISH:-8080}:8080\n", "", "the webhook receiver's port 8080 (WEBHOOK_ADDR 0.0.0.0:8080) is not published"},
		{"webhook on loopback", "compose", "WEBHOOK_ADDR: 0.0.0.0:8080", "WEBHOOK_ADDR: 127.0.0.1:8080", "the webhook receiver listens on 127.0.0.1:8080"},
		{"http not published", "compose", "      - ${ERPSYNC_HTTP_PUBLISH:-127.0.0.1:4195}:4195\n", "", "the HTTP server's port 4195 is not published"},
		{"no build date arg", "dockerfile", "ARG BUILD_DATE=\"\"\n", "", "the Dockerfile does not pass ARG BUILD_DATE to buildinfo.Date"},
		{"no build date ldflag", "dockerfile", "-X github.com/erpsync/erpsync/internal/buildinfo.Date=${BUILD_DATE}", "", "the Dockerfile does not pass ARG BUILD_DATE to buildinfo.Date"},
		{"compose build date", "compose", "        BUILD_DATE: ${BUILD_DATE:-}\n", "", "docker-compose.yml does not pass the build argument BUILD_DATE"},
		{"plugin excluded", "ignore", "/state\n", "**/state\n", "plugins/state/"},
		{"git kept", "ignore", ".git\n", "", ".dockerignore does not exclude .git"},
		{"env kept", "ignore", ".env\n", "", ".dockerignore does not exclude .env"},
	}
	root := erpsynctest.Path(".")
	orig := readContainerFiles(t)
	if p := checkContainerFiles(root, orig); len(p) > 0 {
		t.Fatalf("the files as shipped fail already: %v", p)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := orig
			target := map[string]*string{"dockerfile": &f.dockerfile, "compose": &f.compose, "env": &f.envExample, "ignore": &f.dockerignore}[tc.file]
			if !strings.Contains(*target, tc.old) {
				t.Fatalf("the %s file no longer contains %q: update the case", tc.file, tc.old)
			}
			*target = strings.Replace(*target, tc.old, tc.new, 1)
			problems := checkContainerFiles(root, f)
			for _, p := range problems {
				if strings.Contains(p, tc.wantIssue) {
					return
				}
			}
			t.Errorf("breaking %s (%q -> %q) was not noticed as %q; problems:\n%s", tc.file, tc.old, tc.new, tc.wantIssue, strings.Join(problems, "\n"))
		})
	}
}

// TestHealthcheckDefaultURL: `erpsync healthcheck` without flags asks the
// port the container's command opens.
func TestHealthcheckDefaultURL(t *testing.T) {
	_, port, _ := strings.Cut(httpAddr, ":")
	out, err := exec.Command(erpsynctest.Binary(t), "healthcheck", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("erpsync healthcheck --help: %v\n%s", err, out)
	}
	if want := "http://127.0.0.1:" + port + "/ready"; !strings.Contains(string(out), want) {
		t.Errorf("erpsync healthcheck does not default to %s, the port of http.address=%s:\n%s", want, httpAddr, out)
	}
}

// checkContainerFiles returns every rule the files break:
//   - every variable the shipped configs read is in .env.example and
//     reaches the container (env_file .env, or environment); every variable
//     .env.example names is read by a config or by docker-compose.yml, and
//     every one docker-compose.yml reads is in .env.example;
//   - ERPSYNC_STATE_DIR is the same in the image and in compose, a VOLUME, a
//     named volume in compose, a folder of the image owned by nonroot,
//     holding every folder the configs write under it; relative defaults
//     (./import/*.xlsx) are folders of the working directory; the image runs
//     as nonroot;
//   - the Dockerfile's command, and compose's for every shipped stream and
//     for streams mode, runs erpsync run|streams with http.address
//     0.0.0.0:4195, the shipped resources (-r) and a path in the image;
//   - the health checks run `erpsync healthcheck`; the HTTP server and the
//     webhook receiver listen on every interface and are published;
//   - the build passes BUILD_DATE to buildinfo.Date;
//   - .dockerignore keeps what the build copies and excludes .git, .env and
//     local state.
func checkContainerFiles(root string, f containerFiles) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	df, err := parseDockerfile(f.dockerfile)
	if err != nil {
		return []string{"Dockerfile: " + err.Error()}
	}
	img := imageLayout{root: root, df: df}
	var cf composeFile
	if err := yaml.Unmarshal([]byte(f.compose), &cf); err != nil {
		return []string{"docker-compose.yml: " + err.Error()}
	}
	svc, ok := cf.Services["erpsync"]
	if !ok {
		return []string{"docker-compose.yml has no service erpsync"}
	}
	envExample := parseDotEnv(f.envExample)

	// Variables.
	configVars, stateSubs, relDefaults := configReads(root)
	viaEnvFile := slices.Contains(svc.envFiles(), ".env")
	for _, v := range sortedKeys(configVars) {
		if _, ok := envExample[v]; !ok {
			fail("%s, read by %s, is not in .env.example", v, configVars[v])
		}
		if _, ok := svc.Environment[v]; !ok && !viaEnvFile {
			fail("%s, read by %s, does not reach the container (neither env_file .env nor environment in docker-compose.yml)", v, configVars[v])
		}
	}
	composeVars := map[string]bool{}
	for _, m := range reCompose.FindAllStringSubmatch(f.compose, -1) {
		composeVars[m[1]] = true
	}
	for _, v := range sortedKeys(envExample) {
		if _, ok := configVars[v]; !ok && !composeVars[v] {
			fail(".env.example names %s, which no shipped config and not docker-compose.yml reads", v)
		}
	}
	for _, v := range sortedKeys(composeVars) {
		if _, ok := envExample[v]; !ok {
			fail("docker-compose.yml reads ${%s}, which .env.example does not list", v)
		}
	}
	interp := func(s string, env map[string]string) string {
		return reCompose.ReplaceAllStringFunc(s, func(m string) string {
			g := reCompose.FindStringSubmatch(m)
			v, set := env[g[1]]
			if g[2] == ":-" && v == "" || g[2] == "-" && !set {
				return g[3]
			}
			return v
		})
	}
	// The container's environment as .env.example leaves it: env_file, then
	// environment over it.
	containerEnv := func(dotEnv map[string]string) map[string]string {
		e := map[string]string{}
		if viaEnvFile {
			maps.Copy(e, dotEnv)
		}
		for k, v := range svc.Environment {
			e[k] = interp(v, dotEnv)
		}
		return e
	}(envExample)

	// State.
	stateDir := df.env["ERPSYNC_STATE_DIR"]
	if stateDir == "" {
		fail("the Dockerfile sets no ENV ERPSYNC_STATE_DIR")
	} else {
		if c, ok := svc.Environment["ERPSYNC_STATE_DIR"]; ok && interp(c, envExample) != stateDir {
			fail("ERPSYNC_STATE_DIR is %s in the image but %s in docker-compose.yml", stateDir, interp(c, envExample))
		}
		if !slices.Contains(df.volumes, stateDir) {
			fail("the state directory %s is not a VOLUME of the Dockerfile", stateDir)
		}
		named := ""
		for _, v := range svc.Volumes {
			src, dst, _ := strings.Cut(interp(v, envExample), ":")
			dst, _, _ = strings.Cut(dst, ":")
			if dst == stateDir && src != "" && !strings.ContainsAny(src[:1], "./~") {
				named = src
			}
		}
		if named == "" {
			fail("the state directory %s is not mounted on a named volume in docker-compose.yml", stateDir)
		} else if _, ok := cf.Volumes[named]; !ok {
			fail("the named volume %s is not declared under volumes: in docker-compose.yml", named)
		}
		if dir, owner := img.stat(stateDir); !dir {
			fail("the state directory %s is not a folder of the image", stateDir)
		} else if owner != nonrootUID {
			fail("%s is not owned by nonroot (%s) in the image (owner %q): erpsync cannot write its state", stateDir, nonrootUID, owner)
		}
		for _, sub := range sortedKeys(stateSubs) {
			if dir, owner := img.stat(path.Join(stateDir, sub)); !dir || owner != nonrootUID {
				fail("state folder %s (%s) is not a folder of the image owned by nonroot, under %s", sub, stateSubs[sub], stateDir)
			}
		}
	}
	if df.user != nonrootUID && !strings.HasPrefix(df.user, nonrootUID+":") && !strings.HasPrefix(df.user, "nonroot") {
		fail("the image runs as %s, not nonroot (%s)", orRoot(df.user), nonrootUID)
	}
	if df.workdir == "" {
		fail("the Dockerfile sets no WORKDIR")
	} else if dir, owner := img.stat(df.workdir); !dir || owner != nonrootUID {
		fail("the working directory %s is not a folder of the image owned by nonroot", df.workdir)
	}
	for _, sub := range sortedKeys(relDefaults) {
		if dir, _ := img.stat(path.Join(df.workdir, sub)); !dir {
			fail("the relative default ./%s/ (%s) is not a folder of the working directory %s in the image", sub, relDefaults[sub], df.workdir)
		}
	}

	// Commands.
	if !slices.Equal(df.entrypoint, []string{"erpsync"}) {
		fail("the ENTRYPOINT is %q, not [\"erpsync\"]", df.entrypoint)
	}
	checkCommand := func(what string, args []string) {
		if len(args) == 0 || args[0] != "run" && args[0] != "streams" {
			fail("%s: %q does not start with run or streams", what, args)
			return
		}
		var sets, resources []string
		for i := 1; i < len(args)-1; i++ {
			switch args[i] {
			case "--set", "-s":
				sets = append(sets, args[i+1])
				i++
			case "-r", "--resources":
				resources = append(resources, args[i+1])
				i++
			}
		}
		if !slices.Contains(sets, "http.address="+httpAddr) {
			fail("%s: does not set http.address=%s (--set): the HTTP server would listen on loopback only", what, httpAddr)
		}
		shipped, _ := filepath.Glob(filepath.Join(root, "config", "resources", "*.yaml"))
		if !slices.Contains(resources, imageResources) || len(img.glob(imageResources)) != len(shipped) || len(shipped) == 0 {
			fail("%s: does not load the shipped resources (-r %s, every file of config/resources/ in the image)", what, imageResources)
		}
		target := args[len(args)-1]
		dir, _ := img.stat(target)
		file := img.isFile(target)
		switch {
		case args[0] == "run" && !file:
			fail("%s: names %s, which is not a file in the image", what, target)
		case args[0] == "streams" && !dir:
			fail("%s: names %s, which is not a folder in the image", what, target)
		}
	}
	checkCommand("Dockerfile CMD", df.cmd)
	checkCommand("docker-compose.yml command", interpCmd(svc.Command, envExample, interp))
	streams, _ := filepath.Glob(filepath.Join(root, "config", "streams", "*.yaml"))
	for _, s := range streams {
		if strings.HasSuffix(s, "_benthos_test.yaml") {
			continue
		}
		env := copyMap(envExample)
		env["ERPSYNC_COMMAND"], env["ERPSYNC_STREAM"] = "run", imageStreams+"/"+filepath.Base(s)
		checkCommand("docker-compose.yml command with ERPSYNC_STREAM="+env["ERPSYNC_STREAM"], interpCmd(svc.Command, env, interp))
	}
	env := copyMap(envExample)
	env["ERPSYNC_COMMAND"], env["ERPSYNC_STREAM"] = "streams", imageStreams
	checkCommand("docker-compose.yml command in streams mode", interpCmd(svc.Command, env, interp))
	if !strings.Contains(f.envExample, imageStreams) {
		fail(".env.example does not say that the shipped streams are in %s", imageStreams)
	}

	// Health and ports.
	if len(df.healthcheck) < 2 || df.healthcheck[0] != "erpsync" || df.healthcheck[1] != "healthcheck" {
		fail("the HEALTHCHECK does not run erpsync healthcheck (the image has no curl): %q", df.healthcheck)
	}
	if t := svc.Healthcheck.Test; len(t) > 0 && (len(t) < 3 || t[0] != "CMD" || t[1] != "erpsync" || t[2] != "healthcheck") {
		fail("docker-compose.yml healthcheck does not run erpsync healthcheck: %q", t)
	}
	published := map[string]bool{}
	for _, p := range svc.Ports {
		p = interp(p, envExample)
		p, _, _ = strings.Cut(p, "/")
		published[p[strings.LastIndex(p, ":")+1:]] = true
	}
	_, httpPort, _ := strings.Cut(httpAddr, ":")
	if !published[httpPort] {
		fail("the HTTP server's port %s is not published in docker-compose.yml", httpPort)
	}
	if !slices.Contains(df.expose, httpPort) {
		fail("the Dockerfile does not EXPOSE the HTTP server's port %s", httpPort)
	}
	if _, read := configVars["WEBHOOK_ADDR"]; read {
		addr := containerEnv["WEBHOOK_ADDR"]
		if addr == "" {
			addr = configDefault(root, "WEBHOOK_ADDR")
		}
		host, port, _ := strings.Cut(addr, ":")
		if host != "0.0.0.0" && host != "" {
			fail("the webhook receiver listens on %s in the container: not reachable from outside it", addr)
		}
		if !published[port] {
			fail("the webhook receiver's port %s (WEBHOOK_ADDR %s) is not published in docker-compose.yml", port, addr)
		}
		if !slices.Contains(df.expose, port) {
			fail("the Dockerfile does not EXPOSE the webhook receiver's port %s", port)
		}
	}

	// Build date.
	if !slices.Contains(df.args, "BUILD_DATE") || !strings.Contains(f.dockerfile, "buildinfo.Date=${BUILD_DATE}") {
		fail("the Dockerfile does not pass ARG BUILD_DATE to buildinfo.Date (-ldflags -X)")
	}
	if _, ok := svc.Build.Args["BUILD_DATE"]; !ok {
		fail("docker-compose.yml does not pass the build argument BUILD_DATE")
	}

	// .dockerignore.
	ign := parseDockerignore(f.dockerignore)
	for _, must := range []string{".git", ".env", "state", ".bin"} {
		if !ign.excluded(must) {
			fail(".dockerignore does not exclude %s", must)
		}
	}
	needed := func(rel string) bool {
		if rel == "go.mod" || rel == "go.sum" || strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") {
			return true
		}
		for _, c := range df.copies {
			if c.from == "" && (rel == c.src || strings.HasPrefix(rel, c.src+"/")) {
				return true
			}
		}
		return false
	}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() && (rel == ".git" || rel == ".bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && needed(rel) && ign.excluded(rel) {
			fail("%s, which the image build needs, is excluded by .dockerignore", rel)
		}
		return nil
	})
	return problems
}

// configReads scans the shipped configs: the variables each reads (with the
// first file reading it), the folders under ERPSYNC_STATE_DIR they write
// and the folders their relative defaults name.
func configReads(root string) (vars, stateSubs, relDefaults map[string]string) {
	vars, stateSubs, relDefaults = map[string]string{}, map[string]string{}, map[string]string{}
	var files []string
	for _, dir := range []string{"config/streams", "config/resources", "deploy-config"} {
		m, _ := filepath.Glob(filepath.Join(root, dir, "*.yaml"))
		files = append(files, m...)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		rel, _ := filepath.Rel(root, f)
		rel = filepath.ToSlash(rel)
		add := func(m map[string]string, k string) {
			if _, ok := m[k]; !ok {
				m[k] = rel
			}
		}
		for _, m := range reBenthosEnv.FindAllStringSubmatch(string(b), -1) {
			add(vars, m[1])
		}
		for _, m := range reBloblEnv.FindAllStringSubmatch(string(b), -1) {
			add(vars, m[1])
		}
		for _, m := range reStateSub.FindAllStringSubmatch(string(b), -1) {
			add(stateSubs, m[1])
		}
		for _, m := range reRelDefault.FindAllStringSubmatch(string(b), -1) {
			if m[1] != "state" { // ERPSYNC_STATE_DIR's own default, replaced in the image
				add(relDefaults, m[1])
			}
		}
	}
	return vars, stateSubs, relDefaults
}

// configDefault is the default the shipped configs give a variable.
func configDefault(root, name string) string {
	re := regexp.MustCompile(`\$\{` + name + `:([^}]*)\}`)
	files, _ := filepath.Glob(filepath.Join(root, "config", "streams", "*.yaml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return ""
}

// dockerfile is what the checks read of a Dockerfile: the last stage's
// instructions and what the earlier stages built.
type dockerfile struct {
	copies                []dockerCopy // of the last stage, in order
	built                 map[string]bool
	builtFiles            map[string]bool
	env                   map[string]string
	args, volumes, expose []string
	workdir, user         string
	entrypoint, cmd       []string
	healthcheck           []string
}

type dockerCopy struct {
	from, chown, src, dst string
}

func parseDockerfile(text string) (*dockerfile, error) {
	df := &dockerfile{built: map[string]bool{}, builtFiles: map[string]bool{}, env: map[string]string{}}
	var lines []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "#") || t == "" && cur == "" {
			continue
		}
		if strings.HasSuffix(t, "\\") {
			cur += strings.TrimSuffix(t, "\\") + " "
			continue
		}
		lines = append(lines, cur+t)
		cur = ""
	}
	stage := 0
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		fields := strings.Fields(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			stage++
			df.copies, df.env, df.volumes, df.expose = nil, map[string]string{}, nil, nil
			df.workdir, df.user, df.entrypoint, df.cmd, df.healthcheck = "", "", nil, nil, nil
		case "ARG":
			for _, a := range fields {
				name, _, _ := strings.Cut(a, "=")
				df.args = append(df.args, name)
			}
		case "RUN":
			// Folders made with mkdir -p and the go build output, for COPY --from.
			for _, cmd := range regexp.MustCompile(`&&|;`).Split(rest, -1) {
				w := strings.Fields(cmd)
				if len(w) > 2 && w[0] == "mkdir" && w[1] == "-p" {
					for _, d := range w[2:] {
						for ; d != "/" && d != "."; d = path.Dir(d) {
							df.built[d] = true
						}
					}
				}
				for i, x := range w {
					if x == "-o" && i+1 < len(w) && len(w) > 1 && slices.Contains(w, "build") {
						df.builtFiles[w[i+1]] = true
					}
				}
			}
		case "COPY":
			var c dockerCopy
			var paths []string
			for _, w := range fields {
				switch {
				case strings.HasPrefix(w, "--from="):
					c.from = strings.TrimPrefix(w, "--from=")
				case strings.HasPrefix(w, "--chown="):
					c.chown, _, _ = strings.Cut(strings.TrimPrefix(w, "--chown="), ":")
				case strings.HasPrefix(w, "--"):
				default:
					paths = append(paths, w)
				}
			}
			if len(paths) < 2 {
				return nil, fmt.Errorf("COPY %s: expected a source and a destination", rest)
			}
			dst := paths[len(paths)-1]
			for _, src := range paths[:len(paths)-1] {
				c.src, c.dst = path.Clean(src), path.Clean(dst)
				if len(paths) > 2 || strings.HasSuffix(dst, "/") {
					c.dst = path.Join(dst, path.Base(src))
				}
				df.copies = append(df.copies, c)
			}
		case "ENV":
			for _, kv := range fields {
				k, v, _ := strings.Cut(kv, "=")
				df.env[k] = v
			}
		case "WORKDIR":
			df.workdir = rest
		case "USER":
			df.user = rest
		case "EXPOSE":
			for _, p := range fields {
				p, _, _ = strings.Cut(p, "/")
				df.expose = append(df.expose, p)
			}
		case "VOLUME":
			if err := jsonOrFields(rest, &df.volumes); err != nil {
				return nil, fmt.Errorf("VOLUME: %v", err)
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(rest), &df.entrypoint); err != nil {
				return nil, fmt.Errorf("ENTRYPOINT must be a JSON array: %v", err)
			}
		case "CMD":
			if err := json.Unmarshal([]byte(rest), &df.cmd); err != nil {
				return nil, fmt.Errorf("CMD must be a JSON array: %v", err)
			}
		case "HEALTHCHECK":
			if _, c, ok := strings.Cut(rest, "CMD "); ok {
				if err := json.Unmarshal([]byte(strings.TrimSpace(c)), &df.healthcheck); err != nil {
					return nil, fmt.Errorf("HEALTHCHECK CMD must be a JSON array: %v", err)
				}
			}
		}
	}
	if stage < 2 {
		return nil, fmt.Errorf("expected a build stage and a runtime stage, found %d stage(s)", stage)
	}
	return df, nil
}

func jsonOrFields(s string, into *[]string) error {
	if strings.HasPrefix(s, "[") {
		return json.Unmarshal([]byte(s), into)
	}
	*into = strings.Fields(s)
	return nil
}

// imageLayout answers what the runtime image holds at a path: the last
// stage's COPY instructions over the build context and the build stage.
type imageLayout struct {
	root string
	df   *dockerfile
}

// stat tells whether p is a folder of the image and its owner ("0" for root).
func (l imageLayout) stat(p string) (dir bool, owner string) {
	p = path.Clean(p)
	for i := len(l.df.copies) - 1; i >= 0; i-- {
		c := l.df.copies[i]
		rel, ok := under(p, c.dst)
		if !ok {
			continue
		}
		owner := c.chown
		if owner == "" {
			owner = "0"
		}
		if c.from != "" {
			if l.df.built[path.Join(c.src, rel)] {
				return true, owner
			}
			continue
		}
		if fi, err := os.Stat(filepath.Join(l.root, c.src, rel)); err == nil && fi.IsDir() {
			return true, owner
		}
	}
	return false, ""
}

// isFile tells whether p is a file of the image.
func (l imageLayout) isFile(p string) bool {
	p = path.Clean(p)
	for i := len(l.df.copies) - 1; i >= 0; i-- {
		c := l.df.copies[i]
		rel, ok := under(p, c.dst)
		if !ok {
			continue
		}
		if c.from != "" {
			if l.df.builtFiles[path.Join(c.src, rel)] {
				return true
			}
			continue
		}
		if fi, err := os.Stat(filepath.Join(l.root, c.src, rel)); err == nil && !fi.IsDir() {
			return true
		}
	}
	return false
}

// glob lists the files of the image a pattern matches (the last element
// may hold a wildcard), as the repository paths they come from.
func (l imageLayout) glob(pattern string) []string {
	dir, base := path.Split(pattern)
	dir = path.Clean(dir)
	for i := len(l.df.copies) - 1; i >= 0; i-- {
		c := l.df.copies[i]
		rel, ok := under(dir, c.dst)
		if !ok || c.from != "" {
			continue
		}
		m, _ := filepath.Glob(filepath.Join(l.root, c.src, rel, base))
		if len(m) > 0 {
			return m
		}
	}
	return nil
}

// under returns p relative to dir when p is dir or inside it.
func under(p, dir string) (string, bool) {
	if p == dir {
		return ".", true
	}
	if strings.HasPrefix(p, dir+"/") {
		return strings.TrimPrefix(p, dir+"/"), true
	}
	return "", false
}

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeService struct {
	Build struct {
		Context string            `yaml:"context"`
		Args    map[string]string `yaml:"args"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	EnvFile     yaml.Node         `yaml:"env_file"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
}

// envFiles are the env_file paths, in any of compose's forms.
func (s composeService) envFiles() []string {
	var one string
	if s.EnvFile.Decode(&one) == nil && one != "" {
		return []string{one}
	}
	var list []yaml.Node
	_ = s.EnvFile.Decode(&list)
	var out []string
	for _, n := range list {
		var p string
		if n.Decode(&p) == nil {
			out = append(out, p)
			continue
		}
		var long struct {
			Path string `yaml:"path"`
		}
		if n.Decode(&long) == nil {
			out = append(out, long.Path)
		}
	}
	return out
}

func interpCmd(cmd []string, env map[string]string, interp func(string, map[string]string) string) []string {
	out := make([]string, len(cmd))
	for i, a := range cmd {
		out[i] = interp(a, env)
	}
	return out
}

// parseDotEnv reads KEY=value lines.
func parseDotEnv(s string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), `'"`)
		}
	}
	return out
}

// dockerignore matches paths as Docker does: a path is excluded when the
// last pattern matching it or one of its parents is not a "!" exception.
type dockerignore []struct {
	re     *regexp.Regexp
	negate bool
}

func parseDockerignore(s string) dockerignore {
	var out dockerignore
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		neg := strings.HasPrefix(l, "!")
		l = strings.TrimPrefix(strings.TrimPrefix(l, "!"), "/")
		var re strings.Builder
		re.WriteString("^")
		for i := 0; i < len(l); i++ {
			switch {
			case strings.HasPrefix(l[i:], "**/"):
				re.WriteString("(.*/)?")
				i += 2
			case strings.HasPrefix(l[i:], "**"):
				re.WriteString(".*")
				i++
			case l[i] == '*':
				re.WriteString("[^/]*")
			case l[i] == '?':
				re.WriteString("[^/]")
			default:
				re.WriteString(regexp.QuoteMeta(l[i : i+1]))
			}
		}
		re.WriteString("$")
		out = append(out, struct {
			re     *regexp.Regexp
			negate bool
		}{regexp.MustCompile(re.String()), neg})
	}
	return out
}

func (d dockerignore) excluded(rel string) bool {
	excluded := false
	for _, p := range d {
		for q := rel; q != "." && q != "/" && q != ""; q = path.Dir(q) {
			if p.re.MatchString(q) {
				excluded = !p.negate
				break
			}
		}
	}
	return excluded
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	maps.Copy(out, m)
	return out
}

func orRoot(user string) string {
	if user == "" {
		return "root"
	}
	return user
}
