// Package bucket opens folders of blob storage by URL, with the gocloud
// drivers of the schemes Weft supports registered: file:///dir,
// s3://bucket/prefix?region=... and azblob://container/prefix. Blob import
// reads its sources through it and plugins keep their files in it.
//
// Credentials come from the environment, as the gocloud drivers read them,
// never from the URL: a URL carrying user information is refused, so a
// secret cannot end up in a stored job config, a run's parameters or a log.
package bucket
