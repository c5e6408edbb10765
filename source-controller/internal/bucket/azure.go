package bucket

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// AzureOptions say how to reach an Azure Blob Storage container. At most
// one of AccountKey, SASToken and Credential is set; none is anonymous
// access.
type AzureOptions struct {
	// Endpoint is the storage account's blob service URL
	// (https://<account>.blob.core.windows.net), or a path-style URL
	// (http://127.0.0.1:10000/<account>, as the Azurite emulator serves).
	// Without a scheme, https is used (http with Insecure).
	Endpoint string
	Insecure bool
	// Container is the container (the Bucket's bucketName).
	Container string
	// AccountKey signs requests with the account's Shared Key.
	AccountKey string
	// SASToken is a Shared Access Signature: a query string, or a URL
	// whose query is one.
	SASToken string
	// Credential gets Microsoft Entra tokens for the storage scope.
	Credential azcore.TokenCredential
	// ClientOptions carry the transport (when set, TLS and Proxy are
	// not used).
	ClientOptions azcore.ClientOptions
	// TLS is the client TLS configuration (nil: system roots).
	TLS *tls.Config
	// Proxy, when set, carries every request (spec.proxySecretRef).
	Proxy *url.URL
}

// NewAzure returns a client for the Azure Blob Storage container.
func NewAzure(o AzureOptions) (*Client, error) {
	endpoint := o.Endpoint
	if !strings.Contains(endpoint, "://") {
		scheme := "https://"
		if o.Insecure {
			scheme = "http://"
		}
		endpoint = scheme + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("endpoint %q is not a URL", o.Endpoint)
	}
	co := &azblob.ClientOptions{ClientOptions: o.ClientOptions}
	if co.Transport == nil {
		co.Transport = &http.Client{Transport: transport(o.TLS, o.Proxy)}
	}
	// spec.insecure allows tokens over plain HTTP (an emulator on loopback).
	co.InsecureAllowCredentialWithHTTP = o.Insecure
	var c *azblob.Client
	switch {
	case o.AccountKey != "":
		account, aerr := AzureAccountName(u)
		if aerr != nil {
			return nil, aerr
		}
		cred, kerr := azblob.NewSharedKeyCredential(account, o.AccountKey)
		if kerr != nil {
			return nil, fmt.Errorf("accountKey: %w", kerr)
		}
		c, err = azblob.NewClientWithSharedKeyCredential(u.String(), cred, co)
	case o.SASToken != "":
		sas, serr := sasQuery(o.SASToken)
		if serr != nil {
			return nil, serr
		}
		q := u.Query()
		for k, v := range sas {
			q[k] = v
		}
		u.RawQuery = q.Encode()
		c, err = azblob.NewClientWithNoCredential(u.String(), co)
	case o.Credential != nil:
		c, err = azblob.NewClient(u.String(), o.Credential, co)
	default:
		c, err = azblob.NewClientWithNoCredential(u.String(), co)
	}
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", o.Endpoint, err)
	}
	return &Client{s: azureStore{c: c.ServiceClient().NewContainerClient(o.Container)}, bucket: o.Container}, nil
}

// AzureAccountName is the storage account of a blob service URL: the
// first label of <account>.blob.core.windows.net, or for an IP address or
// localhost (an emulator) the first path segment.
func AzureAccountName(u *url.URL) (string, error) {
	host := u.Hostname()
	if net.ParseIP(host) != nil || host == "localhost" {
		if account, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); account != "" {
			return account, nil
		}
		return "", fmt.Errorf("endpoint %q names no storage account: use http(s)://<host>/<account>", u.Redacted())
	}
	if account, _, ok := strings.Cut(host, "."); ok && account != "" {
		return account, nil
	}
	return "", fmt.Errorf("endpoint %q names no storage account: use https://<account>.blob.core.windows.net", u.Redacted())
}

// sasQuery parses a SAS token given as a query string (with or without
// "?") or as a URL holding one.
func sasQuery(token string) (url.Values, error) {
	token = strings.TrimSpace(token)
	if strings.Contains(token, "://") {
		u, err := url.Parse(token)
		if err != nil {
			return nil, errors.New("sasKey is not a URL or query string")
		}
		token = u.RawQuery
	}
	q, err := url.ParseQuery(strings.TrimPrefix(token, "?"))
	if err != nil || q.Get("sig") == "" {
		return nil, errors.New("sasKey is not a SAS token (a query string with sig)")
	}
	return q, nil
}

type azureStore struct {
	c *container.Client
}

func (s azureStore) list(ctx context.Context, prefix string, add func(Object)) error {
	// A missing container shows in the listing itself: reading its
	// properties instead would need more than a container SAS's read and
	// list permissions.
	o := &container.ListBlobsFlatOptions{}
	if prefix != "" {
		o.Prefix = &prefix
	}
	pager := s.c.NewListBlobsFlatPager(o)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return ErrBucketNotFound
		}
		if err != nil {
			return shortAzure(err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Name == nil || b.Properties == nil {
				continue
			}
			obj := Object{Key: *b.Name}
			if b.Properties.ETag != nil {
				obj.ETag = string(*b.Properties.ETag)
			}
			if b.Properties.ContentLength != nil {
				obj.Size = *b.Properties.ContentLength
			}
			add(obj)
		}
	}
	return nil
}

func (s azureStore) open(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := s.c.NewBlobClient(key).DownloadStream(ctx, nil)
	if err != nil {
		return nil, shortAzure(err)
	}
	return resp.Body, nil
}

// azureRefused reports an Azure error refusing the credentials, or an
// Entra token request that failed.
func azureRefused(err error) bool {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return true
	}
	var re *azcore.ResponseError
	return errors.As(err, &re) && (re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden)
}

// shortError keeps an SDK error's type (for errors.As) under a one-line
// message.
type shortError struct {
	msg string
	err error
}

func (e *shortError) Error() string { return e.msg }
func (e *shortError) Unwrap() error { return e.err }

var entraDescription = regexp.MustCompile(`"error_description":\s*"([^"]*)"`)

// shortAzure shortens the Azure SDK's multi-line errors (request, response
// and body) to the status and error code, or Entra's error description;
// the request's query (a SAS) is never quoted.
func shortAzure(err error) error {
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		first, _, _ := strings.Cut(af.Error(), "\n")
		msg := "Microsoft Entra token request failed: " + strings.TrimSpace(first)
		if m := entraDescription.FindStringSubmatch(af.Error()); m != nil {
			desc, _, _ := strings.Cut(m[1], "\\r")
			msg += ": " + desc
		}
		return &shortError{msg: msg, err: err}
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("%d %s", re.StatusCode, re.ErrorCode)
		if r := re.RawResponse; r != nil && r.Request != nil {
			msg = fmt.Sprintf("%s %s: %s", r.Request.Method, r.Request.URL.Path, msg)
		}
		return &shortError{msg: msg, err: err}
	}
	return err
}
