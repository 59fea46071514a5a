// Package blobtest starts real blob storage servers for tests: Azurite
// (Microsoft's Azure Storage emulator) for azblob:// and s3rver (an
// S3-compatible server) for s3://, both from npm, each as its own
// process on a free loopback port, stopped when the test ends.
//
// Clients find their credentials in the environment, as in production:
// call SetEnv (from TestMain, before any bucket is opened: the Azure
// driver reads its environment once) or pass Env to a child process.
//
// Where a server cannot be had (no npm, no registry), the
// test is skipped with a message saying what is missing; under CI=true it
// fails instead.
package blobtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/weftdata/weft/internal/bucket"
	"github.com/weftdata/weft/internal/npmtest"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/s3blob"    // s3://
)

// Azurite's well-known development account.
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// The npm packages of the servers, pinned: Azurite 3.36 and later need
// Node.js 21 or 22, newer than Debian's.
const (
	AzuriteVersion = "azurite@3.35.0"
	S3rverVersion  = "s3rver@3.7.1"
)

// s3rver's built-in credentials: it checks request signatures.
const (
	S3Key    = "S3RVER"
	S3Secret = "S3RVER"
)

// Env is the environment the blob drivers read their credentials from:
// Azurite's account and key, fixed S3 keys and region, and no EC2
// metadata lookups (which would leave the machine).
func Env() []string {
	return []string{
		"AZURE_STORAGE_ACCOUNT=" + AzuriteAccount,
		"AZURE_STORAGE_KEY=" + AzuriteKey,
		"AWS_ACCESS_KEY_ID=" + S3Key,
		"AWS_SECRET_ACCESS_KEY=" + S3Secret,
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		// s3rver predates the SDK's default CRC checksums on uploads
		// (sent as aws-chunked trailers); S3 and MinIO accept either.
		"AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
		"AWS_RESPONSE_CHECKSUM_VALIDATION=when_required",
	}
}

// SetEnv sets Env in this process.
func SetEnv() {
	for _, kv := range Env() {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
}

// Server is a running blob server.
type Server struct {
	// Scheme is "azblob" or "s3".
	Scheme string
	// Endpoint is the server's base URL.
	Endpoint string
	query    string
}

// SourceURL is the URL of a folder of a bucket (or container) on the
// server, with the options that reach it.
func (s *Server) SourceURL(bucket, prefix string) string {
	u := s.Scheme + "://" + bucket
	if prefix != "" {
		u += "/" + prefix
	}
	return u + "?" + s.query
}

// Bucket creates a bucket (or container) and opens it, closed when the
// test ends.
func (s *Server) Bucket(t testing.TB, name string) *blob.Bucket {
	t.Helper()
	ctx := context.Background()
	b, err := bucket.OpenBucket(ctx, s.SourceURL(name, ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	switch s.Scheme {
	case "azblob":
		var c *container.Client
		if !b.As(&c) {
			t.Fatal("blobtest: not an Azure container")
		}
		_, err = c.Create(ctx, nil)
	case "s3":
		var c *s3.Client
		if !b.As(&c) {
			t.Fatal("blobtest: not an S3 bucket")
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	}
	if err != nil {
		t.Fatalf("blobtest: create %s: %v", name, err)
	}
	return b
}

// unavailable skips the test, or fails it under CI.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	npmtest.Unavailable(t, "blobtest: "+fmt.Sprintf(format, args...))
}

// Azurite starts azurite-blob with in-memory storage, installing Azurite
// from npm into the user's cache directory on first use.
func Azurite(t testing.TB) *Server {
	t.Helper()
	bin, err := installNPM(AzuriteVersion, "azurite-blob")
	if err != nil {
		unavailable(t, "Azurite is not installed and cannot be: %v", err)
	}
	port := freePort(t)
	start(t, "azurite", port, bin,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--inMemoryPersistence", "--disableTelemetry", "--skipApiVersionCheck", "--silent")
	domain := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return &Server{
		Scheme:   "azblob",
		Endpoint: "http://" + domain + "/" + AzuriteAccount,
		query:    url.Values{"domain": {domain}, "protocol": {"http"}}.Encode(),
	}
}

// S3 starts s3rver, an S3-compatible server (npm), with its data in a
// temporary directory, installing it from npm on first use.
func S3(t testing.TB) *Server {
	t.Helper()
	bin, err := installNPM(S3rverVersion, "s3rver")
	if err != nil {
		unavailable(t, "s3rver is not installed and cannot be: %v", err)
	}
	port := freePort(t)
	start(t, "s3rver", port, bin, "-d", t.TempDir(), "-a", "127.0.0.1", "-p", strconv.Itoa(port), "--no-vhost-buckets", "--silent")
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	return &Server{
		Scheme:   "s3",
		Endpoint: endpoint,
		query:    url.Values{"endpoint": {endpoint}, "use_path_style": {"true"}, "region": {"us-east-1"}}.Encode(),
	}
}

// installNPM returns the path of a package's command, installing the
// package on first use.
func installNPM(pkg, command string) (string, error) {
	name, _ := npmtest.Split(pkg)
	dir, err := npmtest.Install(name, pkg)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "node_modules", ".bin", command), nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs a server in its own process group until the test ends and
// waits until its port accepts connections.
func start(t testing.TB, name string, port int, bin string, args ...string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	output := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		unavailable(t, "start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("blobtest: %s exited: %s", name, output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("blobtest: %s does not listen on %s: %s", name, addr, output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
