package bucket

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/azureblob" // azblob://
	_ "gocloud.dev/blob/fileblob"  // file://
	_ "gocloud.dev/blob/s3blob"    // s3://
)

// Parse checks a folder URL and splits it into what blob.OpenBucket
// takes and the prefix of the keys to list. For s3 and azblob the URL's
// path is the prefix (a folder: "s3://b/exports" lists "exports/...");
// for file the path is the directory itself.
func Parse(folder string) (bucketURL, prefix string, err error) {
	u, err := url.Parse(folder)
	if err != nil {
		return "", "", fmt.Errorf("not a URL: %w", err)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || u.Path == "/" && u.Host == "" {
			return "", "", errors.New("file URL needs a directory, as in file:///var/lib/imports")
		}
		return folder, "", nil
	case "s3", "azblob":
		if u.Host == "" {
			return "", "", fmt.Errorf("%s URL needs a bucket, as in %s://bucket/prefix", u.Scheme, u.Scheme)
		}
		if u.User != nil {
			return "", "", errors.New("credentials in the URL are not supported: set them in the environment")
		}
		prefix = strings.Trim(u.Path, "/")
		if prefix != "" {
			prefix += "/"
		}
		b := *u
		b.Path, b.RawPath = "", ""
		return b.String(), prefix, nil
	case "":
		return "", "", fmt.Errorf("%q has no scheme (use file:///dir, s3://bucket/prefix or azblob://container/prefix)", folder)
	default:
		return "", "", fmt.Errorf("unsupported scheme %q (use file, s3 or azblob)", u.Scheme)
	}
}

// OpenBucket opens the whole bucket of a URL that Parse returned: its
// keys keep the folder's prefix. Blob import reads sources this way, so
// the file names its cursors hold are keys of the bucket.
func OpenBucket(ctx context.Context, bucketURL string) (*blob.Bucket, error) {
	return blob.OpenBucket(ctx, bucketURL)
}

// Open opens a folder URL as a bucket whose keys are relative to the
// folder, for packages that keep files in blob storage (plugin storage).
func Open(ctx context.Context, folder string) (*blob.Bucket, error) {
	bucketURL, prefix, err := Parse(folder)
	if err != nil {
		return nil, err
	}
	b, err := OpenBucket(ctx, bucketURL)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", folder, err)
	}
	if prefix != "" {
		return blob.PrefixedBucket(b, prefix), nil
	}
	return b, nil
}
