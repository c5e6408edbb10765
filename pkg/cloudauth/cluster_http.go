package cloudauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
)

// getJSON sends an authorized request to a cloud's REST API through
// o.HTTPClient and decodes its JSON answer into out.
func getJSON(ctx context.Context, method, url, token string, o Options, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		// The clouds' error bodies say why (not found, forbidden) and
		// carry no credentials.
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Error.Message)
		}
		return errors.New(resp.Status)
	}
	return json.Unmarshal(body, out)
}

// kubeconfigServers returns the server addresses of a kubeconfig's
// clusters, its current context's first, and that cluster's CA.
func kubeconfigServers(data []byte) ([]string, []byte, error) {
	raw, err := clientcmd.Load(data)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeconfig: %w", err)
	}
	current := ""
	if ctx, ok := raw.Contexts[raw.CurrentContext]; ok {
		current = ctx.Cluster
	}
	names := make([]string, 0, len(raw.Clusters))
	for n := range raw.Clusters {
		if n != current {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := raw.Clusters[current]; ok {
		names = append([]string{current}, names...)
	}
	if len(names) == 0 {
		return nil, nil, errors.New("kubeconfig has no cluster")
	}
	var addrs []string
	for _, n := range names {
		addrs = append(addrs, raw.Clusters[n].Server)
	}
	return addrs, raw.Clusters[names[0]].CertificateAuthorityData, nil
}

// concise puts an SDK error on one line without its separator and
// troubleshooting lines (Azure's are a page long), redacted, for a
// condition message.
func concise(err error) string {
	var parts []string
	for _, line := range strings.Split(redact(err), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Trim(line, "-") == "" || strings.HasPrefix(line, "To troubleshoot") {
			continue
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, " ")
}
