package git

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Transport is how a URL is reached.
type Transport string

// Supported transports.
const (
	HTTP  Transport = "http"
	HTTPS Transport = "https"
	SSH   Transport = "ssh"
)

// URL is a parsed, validated remote Git URL.
type URL struct {
	// Transport is http, https or ssh.
	Transport Transport
	// User is the SSH user (default "git"); empty for HTTP(S).
	User string
	// Host is the host name or IP, without port.
	Host string
	// Port is the port as written, empty for the default.
	Port string
	// Path is the repository path, starting with "/" for URL forms; for
	// scp-like addresses it is relative to the login directory.
	Path string
	// scp records an scp-like address ("git@host:org/repo").
	scp bool
}

// ParseURL parses and validates a remote Git URL: http://, https://,
// ssh:// or scp-like "user@host:path". It refuses other schemes (file://,
// ext::), missing hosts and paths, passwords embedded in the URL, and
// control characters, so a URL from a spec can never select a local or
// command transport or leak a secret into status.
func ParseURL(raw string) (*URL, error) {
	if raw == "" {
		return nil, errors.New("empty URL")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		return nil, errors.New("URL contains whitespace or control characters")
	}
	if !strings.Contains(raw, "://") {
		return parseSCP(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("invalid URL: %w", redactURLError(err))
	}
	out := &URL{Transport: Transport(strings.ToLower(u.Scheme)), Host: u.Hostname(), Port: u.Port(), Path: u.Path}
	switch out.Transport {
	case HTTP, HTTPS:
		if u.User != nil {
			return nil, errors.New("credentials in the URL are not allowed: use a secretRef")
		}
	case SSH:
		if _, set := u.User.Password(); set {
			return nil, errors.New("credentials in the URL are not allowed: use a secretRef")
		}
		out.User = u.User.Username()
		if out.User == "" {
			out.User = "git"
		}
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q: want http, https or ssh", u.Scheme)
	}
	if out.Host == "" {
		return nil, errors.New("URL has no host")
	}
	if u.Port() == "" && strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("URL has an empty port")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("URL must not have a query or fragment")
	}
	if strings.Trim(out.Path, "/") == "" {
		return nil, errors.New("URL has no repository path")
	}
	return out, nil
}

// parseSCP parses "user@host:path" (the user is required, as the git CLI
// would otherwise treat "host:path" with a slash-free host as a local path).
func parseSCP(raw string) (*URL, error) {
	at := strings.Index(raw, "@")
	colon := strings.Index(raw, ":")
	if at <= 0 || colon < at+2 {
		return nil, errors.New("invalid URL: want http(s)://, ssh:// or user@host:path")
	}
	user, host, path := raw[:at], raw[at+1:colon], raw[colon+1:]
	if strings.ContainsAny(user, "/:") || strings.ContainsAny(host, "/@[]") || strings.HasPrefix(user, "-") || strings.HasPrefix(host, "-") {
		return nil, errors.New("invalid scp-like URL: want user@host:path")
	}
	if strings.Trim(path, "/") == "" || strings.HasPrefix(path, "-") {
		return nil, errors.New("URL has no repository path")
	}
	return &URL{Transport: SSH, User: user, Host: host, Path: path, scp: true}, nil
}

// String returns the URL in the form go-git and the git CLI accept.
func (u *URL) String() string {
	if u.scp {
		return u.User + "@" + u.Host + ":" + u.Path
	}
	hostPort := u.Host
	if strings.Contains(hostPort, ":") {
		hostPort = "[" + hostPort + "]"
	}
	if u.Port != "" {
		hostPort += ":" + u.Port
	}
	if u.Transport == SSH {
		return "ssh://" + u.User + "@" + hostPort + u.Path
	}
	return string(u.Transport) + "://" + hostPort + u.Path
}

// HostPort returns "host:port" with the transport's default port filled in.
func (u *URL) HostPort() string {
	port := u.Port
	if port == "" {
		switch u.Transport {
		case HTTP:
			port = "80"
		case HTTPS:
			port = "443"
		default:
			port = "22"
		}
	}
	if strings.Contains(u.Host, ":") {
		return "[" + u.Host + "]:" + port
	}
	return u.Host + ":" + port
}

// redactURLError drops the URL (which may hold credentials) from a
// url.Parse error and keeps the reason.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
