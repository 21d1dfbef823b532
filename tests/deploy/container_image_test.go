package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/erpsync/erpsync/internal/erpsynctest"
)

// TestContainerImage builds the image from the Dockerfile and runs it, where
// a Docker engine answers (DOCKER_HOST or the default socket) and the base
// images are there or can be pulled; otherwise it says which is missing and
// skips (TestContainerFiles checks the files statically everywhere), except
// under tests/run.sh, which starts an engine and sets
// ERPSYNC_CONTAINER_TEST=required so that it fails instead. On a
// machine whose engine reaches no registry, tests/deploy/container/
// standin-bases.sh builds local stand-ins of the two base images first.
//
// It checks that --version prints the build arguments; that the default
// command (the deploy-config stream, the shared resources loaded) turns
// healthy through the image's HEALTHCHECK, `erpsync healthcheck`; that the
// demo passes inside the image; and that a shipped stream run twice in two
// containers against the sandbox keeps its checkpoint, KIS write ledger and
// dead letters on the state volume, writing no bill twice.
func TestContainerImage(t *testing.T) {
	// tests/run.sh provides an engine and the base images, and sets this:
	// there a missing engine is a failure, not a reason to skip.
	skip := t.Skipf
	if os.Getenv("ERPSYNC_CONTAINER_TEST") == "required" {
		skip = t.Fatalf
	}
	if runtime.GOOS != "linux" {
		skip("the container test uses host networking, which only Linux has")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		skip("no docker command on the PATH: nothing to build the image with (TestContainerFiles checks the files statically)")
	}
	if out, err := docker(t, 30*time.Second, "version", "--format", "{{.Server.Version}}"); err != nil {
		skip("no Docker engine answers (docker version: %v): %s", err, lastLine(out))
	}
	df, err := os.ReadFile(erpsynctest.Path("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(string(df), -1) {
		if _, err := docker(t, 30*time.Second, "image", "inspect", m[1]); err == nil {
			continue
		}
		if out, err := docker(t, 3*time.Minute, "pull", m[1]); err != nil {
			skip("base image %s is not on this engine and cannot be pulled (%s); "+
				"tests/deploy/container/standin-bases.sh builds local stand-ins", m[1], lastLine(out))
		}
	}

	tag := fmt.Sprintf("erpsync-container-test:%d", time.Now().UnixNano())
	const version, date = "v0.0.0-container-test", "2026-01-02T03:04:05Z"
	if out, err := docker(t, 20*time.Minute, "build", "--network", "host", "-t", tag,
		"--build-arg", "VERSION="+version, "--build-arg", "BUILD_DATE="+date, erpsynctest.Path(".")); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = docker(t, time.Minute, "rmi", "-f", tag) })
	volume := strings.NewReplacer(":", "-").Replace(tag) + "-state"
	t.Cleanup(func() { _, _ = docker(t, time.Minute, "volume", "rm", "-f", volume) })

	t.Run("version", func(t *testing.T) {
		out, err := docker(t, time.Minute, "run", "--rm", "--network", "none", tag, "--version")
		if err != nil || !strings.Contains(out, "Version: "+version) || !strings.Contains(out, "Date: "+date) {
			t.Errorf("erpsync --version in the image (%v) does not print the build arguments %s and %s:\n%s", err, version, date, out)
		}
	})

	t.Run("healthy", func(t *testing.T) {
		// Its own network namespace: 4195 there is nobody else's.
		out, err := docker(t, time.Minute, "run", "-d", "--network", "none", "--health-interval", "1s",
			"--health-start-period", "0s", "-v", volume+":/var/lib/erpsync/state", tag)
		if err != nil {
			t.Fatalf("docker run: %v\n%s", err, out)
		}
		id := strings.TrimSpace(out)
		t.Cleanup(func() { _, _ = docker(t, time.Minute, "rm", "-f", id) })
		deadline := time.Now().Add(time.Minute)
		for {
			status, _ := docker(t, 30*time.Second, "inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", id)
			if strings.TrimSpace(status) == "running healthy" {
				break
			}
			if time.Now().After(deadline) || strings.HasPrefix(status, "exited") {
				logs, _ := docker(t, 30*time.Second, "logs", id)
				health, _ := docker(t, 30*time.Second, "inspect", "--format", "{{json .State.Health}}", id)
				t.Fatalf("the container is %q, not running healthy, after a minute\nhealth: %s\nlogs:\n%s", status, health, logs)
			}
			time.Sleep(500 * time.Millisecond)
		}
		if logs, _ := docker(t, 30*time.Second, "logs", id); !strings.Contains(logs, "Listening for HTTP requests at: http://0.0.0.0:4195") {
			t.Errorf("the default command does not open the HTTP server on 0.0.0.0:4195:\n%s", logs)
		}
	})

	t.Run("demo", func(t *testing.T) {
		args := []string{"run", "--rm", "--network", "host"}
		if dsn := os.Getenv("MYSQL_DSN"); dsn != "" {
			args = append(args, "-e", "MYSQL_DSN="+dsn)
		}
		out, err := docker(t, 10*time.Minute, append(args, tag, "demo", "--records", "200")...)
		if err != nil {
			t.Fatalf("erpsync demo in the image: %v\n%s", err, out)
		}
	})

	t.Run("state persists", func(t *testing.T) {
		env := startSandbox(t)
		runStream := func() {
			t.Helper()
			out, err := docker(t, 5*time.Minute, "run", "--rm", "--network", "host", "--env-file", env.file,
				"-v", volume+":/var/lib/erpsync/state", tag,
				"run", "--set", "http.address=127.0.0.1:0", "-r", "/etc/erpsync/resources/*.yaml",
				"/etc/erpsync/streams/jushuitan_other_inout_to_kis.yaml")
			if err != nil {
				t.Fatalf("the stream in the image: %v\n%s", err, out)
			}
		}
		runStream()
		first := kisBills(t, env.url)
		state := copyState(t, tag, volume)
		if _, err := os.Stat(filepath.Join(state, "checkpoints", "jushuitan_other_inout_to_kis")); err != nil {
			t.Errorf("no checkpoint in the state volume: %v", err)
		}
		ledgers, _ := filepath.Glob(filepath.Join(state, "ledgers", "kis_*"))
		if len(first) == 0 || len(ledgers) != len(first) {
			t.Errorf("the state volume holds %d ledger entries for the %d bills KIS received", len(ledgers), len(first))
		}
		dl, err := os.ReadFile(filepath.Join(state, "dead_letters", "jushuitan_other_inout_to_kis.jsonl"))
		if err != nil || bytes.Count(dl, []byte("\n")) == 0 {
			t.Errorf("no dead letter in the state volume (the sandbox's data has rejected bills): %v", err)
		}

		// A new container on the same volume resumes: nothing is written twice.
		runStream()
		second := kisBills(t, env.url)
		for no, writes := range second {
			if writes != 1 || first[no] != 1 {
				t.Errorf("bill %s written %d times after the second container (%d after the first)", no, writes, first[no])
			}
		}
		if len(second) != len(first) {
			t.Errorf("KIS has %d bills after the second container, %d after the first", len(second), len(first))
		}
	})
}

func docker(t *testing.T, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
	return string(out), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

type sandboxEnv struct{ file, url string }

// startSandbox runs `erpsync sandbox` on the host, its env file pointing the
// shipped configs at it (the containers share the host's network).
func startSandbox(t *testing.T) sandboxEnv {
	t.Helper()
	file := filepath.Join(t.TempDir(), "sandbox.env")
	cmd := exec.Command(erpsynctest.Binary(t), "sandbox", "--addr", "127.0.0.1:0", "--records", "200", "--env-file", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(time.Minute)
	for {
		if b, err := os.ReadFile(file); err == nil {
			if m := regexp.MustCompile(`(?m)^KIS_BASE_URL=(\S+)$`).FindSubmatch(b); m != nil {
				return sandboxEnv{file: file, url: string(m[1])}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox wrote no env file within a minute:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kisBills are the bills the sandbox's KIS holds, by number, with how many
// times each was written.
func kisBills(t *testing.T, base string) map[string]int {
	t.Helper()
	resp, err := http.Get(base + "/_sandbox/kis/bills")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Documents []struct {
			Number string `json:"number"`
			Writes int    `json:"writes"`
		} `json:"documents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("/_sandbox/kis/bills: %v", err)
	}
	out := map[string]int{}
	for _, d := range got.Documents {
		out[d.Number] = d.Writes
	}
	return out
}

// copyState copies the state volume out through a stopped container (the
// image has no shell to list it with).
func copyState(t *testing.T, tag, volume string) string {
	t.Helper()
	out, err := docker(t, time.Minute, "create", "-v", volume+":/var/lib/erpsync/state", tag)
	if err != nil {
		t.Fatalf("docker create: %v\n%s", err, out)
	}
	id := strings.TrimSpace(out)
	defer func() { _, _ = docker(t, time.Minute, "rm", id) }()
	dst := filepath.Join(t.TempDir(), "state")
	if out, err := docker(t, time.Minute, "cp", id+":/var/lib/erpsync/state", dst); err != nil {
		t.Fatalf("docker cp: %v\n%s", err, out)
	}
	return dst
}
