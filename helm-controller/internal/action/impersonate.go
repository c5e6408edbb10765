package action

import (
	"fmt"
	"sync"

	"k8s.io/client-go/rest"
)

// Impersonator hands out the shared clients of each service account a
// HelmRelease names in spec.serviceAccountName, built once per account.
type Impersonator struct {
	base *rest.Config

	mu      sync.Mutex
	clients map[string]*Clients
}

// NewImpersonator returns an Impersonator acting from cfg's identity.
func NewImpersonator(cfg *rest.Config) *Impersonator {
	return &Impersonator{base: rest.CopyConfig(cfg), clients: map[string]*Clients{}}
}

// Clients returns the clients impersonating namespace/serviceAccount.
func (i *Impersonator) Clients(namespace, serviceAccount string) (*Clients, error) {
	user := ServiceAccountUser(namespace, serviceAccount)
	i.mu.Lock()
	defer i.mu.Unlock()
	if c, ok := i.clients[user]; ok {
		return c, nil
	}
	cfg := rest.CopyConfig(i.base)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := NewClients(cfg)
	if err != nil {
		return nil, err
	}
	i.clients[user] = c
	return c, nil
}

// ServiceAccountUser is the user name a service account is impersonated as.
func ServiceAccountUser(namespace, serviceAccount string) string {
	return fmt.Sprintf("system:serviceaccount:%s:%s", namespace, serviceAccount)
}
