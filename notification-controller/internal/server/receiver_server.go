package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/fluxcd/pkg/runtime/conditions"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"gotk.dev/notification-controller/internal/webhook"
	notificationv1 "gotk.dev/pkg/apis/notification/v1"
)

// WebhookPathIndex indexes Receivers by status.webhookPath so a request
// finds its Receiver without listing them all.
const WebhookPathIndex = ".status.webhookPath"

// MaxWebhookBody bounds a webhook body; push payloads of large
// repositories stay well under it.
const MaxWebhookBody = 4 << 20

// IndexReceivers registers WebhookPathIndex with the manager's cache.
func IndexReceivers(ctx context.Context, mgr manager.Manager) error {
	return mgr.GetFieldIndexer().IndexField(ctx, &notificationv1.Receiver{}, WebhookPathIndex, func(o client.Object) []string {
		r, ok := o.(*notificationv1.Receiver)
		if !ok || r.Status.WebhookPath == "" {
			return nil
		}
		return []string{r.Status.WebhookPath}
	})
}

// ReceiverServer serves the Receivers' webhook paths: it verifies each
// request for the Receiver's type and asks the selected objects to
// reconcile now.
type ReceiverServer struct {
	// Addr is the bind address (--receiverAddr), used when Listener is nil.
	Addr string
	// Listener, when set, is served instead of listening on Addr.
	Listener net.Listener
	// Client finds Receivers by path (cached, indexed) and patches objects.
	Client client.Client
	// APIReader reads Secrets and lists the selected objects uncached.
	APIReader client.Reader
	// SecretMeta, when set, reads Secret metadata from the manager's cache
	// (the Receiver controller's metadata-only Secret watch); a token is
	// then re-read from the API only when its Secret's resourceVersion
	// changed, which saves a round trip per webhook.
	SecretMeta client.Reader
	// NoCrossNamespaceRefs refuses resources in other namespaces.
	NoCrossNamespaceRefs bool
	// Issuers verifies the OIDC tokens of gcr and generic-oidc Receivers;
	// nil uses Google's issuer and the default HTTP client.
	Issuers *webhook.Issuers
	// Log is the server's logger.
	Log logr.Logger

	once   sync.Once
	tokens sync.Map // namespace/name → cachedSecret
}

type cachedSecret struct {
	resourceVersion string
	data            map[string][]byte
}

// NeedLeaderElection is false: every replica answers webhooks.
func (s *ReceiverServer) NeedLeaderElection() bool { return false }

// Start serves until ctx is done.
func (s *ReceiverServer) Start(ctx context.Context) error {
	s.once.Do(registerMetrics)
	s.Log.Info("starting the webhook receiver server", "addr", s.Addr)
	return serve(ctx, s.Addr, s.Listener, s)
}

// ServeHTTP handles one webhook request.
func (s *ReceiverServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.once.Do(registerMetrics)
	code, msg := s.handle(r.Context(), w, r)
	webhooksTotal.WithLabelValues(strconv.Itoa(code)).Inc()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg+"\n")
}

func (s *ReceiverServer) handle(ctx context.Context, w http.ResponseWriter, r *http.Request) (int, string) {
	path := r.URL.Path
	if !strings.HasPrefix(path, notificationv1.ReceiverWebhookPath) || len(path) <= len(notificationv1.ReceiverWebhookPath) {
		return http.StatusNotFound, "not found"
	}
	if r.Method != http.MethodPost {
		return http.StatusMethodNotAllowed, "only POST is accepted"
	}
	var list notificationv1.ReceiverList
	if err := s.Client.List(ctx, &list, client.MatchingFields{WebhookPathIndex: path}); err != nil {
		s.Log.Error(err, "listing Receivers failed")
		return http.StatusInternalServerError, "internal error"
	}
	if len(list.Items) == 0 {
		return http.StatusNotFound, "not found"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", MaxWebhookBody)
		}
		return http.StatusBadRequest, "reading the body failed"
	}
	// Paths are unique in practice (they hash the name and namespace);
	// every Receiver on the path must accept the request.
	code, msg := http.StatusOK, ""
	for i := range list.Items {
		c, m := s.receive(ctx, &list.Items[i], r.Header, body)
		if c != http.StatusOK || msg == "" {
			code, msg = c, m
		}
		if c != http.StatusOK {
			break
		}
	}
	return code, msg
}

// receive verifies the request for one Receiver and annotates its resources.
func (s *ReceiverServer) receive(ctx context.Context, rcv *notificationv1.Receiver, h http.Header, body []byte) (int, string) {
	log := s.Log.WithValues("receiver", client.ObjectKeyFromObject(rcv).String(), "type", rcv.Spec.Type)
	if rcv.Spec.Suspend {
		return http.StatusServiceUnavailable, "the receiver is suspended"
	}
	// Only a Receiver whose current generation was reconciled Ready serves.
	if !conditions.IsReady(rcv) || rcv.Status.ObservedGeneration != rcv.Generation {
		return http.StatusServiceUnavailable, "the receiver is not ready"
	}
	var data map[string][]byte
	token := ""
	// generic-oidc has no Secret: its path hashes name and namespace only.
	if rcv.Spec.Type != notificationv1.GenericOIDCReceiver {
		var err error
		if data, err = s.secretData(ctx, rcv); err != nil {
			log.Info("the receiver's token is unavailable", "error", err.Error())
			return http.StatusServiceUnavailable, "the receiver is not ready"
		}
		token = string(data["token"])
	}
	// A rotated token moves the path; the old path must stop working even
	// before the Receiver is reconciled again.
	if subtle.ConstantTimeCompare([]byte(rcv.GetWebhookPath(token)), []byte(rcv.Status.WebhookPath)) != 1 {
		return http.StatusNotFound, "not found"
	}
	res, err := webhook.Verify(rcv.Spec.Type, webhook.Request{Header: h, Body: body, Token: []byte(token),
		Events: rcv.Spec.Events, Secret: data, OIDCProviders: rcv.Spec.OIDCProviders, Issuers: s.Issuers, Context: ctx})
	if err != nil {
		var we *webhook.Error
		if errors.As(err, &we) {
			log.V(1).Info("webhook refused", "status", we.Status, "reason", we.Msg)
			return we.Status, we.Msg
		}
		return http.StatusServiceUnavailable, err.Error()
	}
	if !res.Act {
		return http.StatusOK, res.Note
	}
	n, err := s.annotate(ctx, rcv, filterInput(h, body, res.Claims))
	if err != nil {
		log.Error(err, "requesting reconciles failed")
		return http.StatusInternalServerError, "requesting reconciles failed"
	}
	log.V(1).Info("reconciles requested", "objects", n)
	return http.StatusOK, fmt.Sprintf("reconcile requested for %d object(s)", n)
}

// secretData reads spec.secretRef, which must hold a non-empty `token`.
func (s *ReceiverServer) secretData(ctx context.Context, rcv *notificationv1.Receiver) (map[string][]byte, error) {
	if rcv.Spec.SecretRef == nil {
		return nil, errors.New("spec.secretRef is not set")
	}
	key := client.ObjectKey{Namespace: rcv.Namespace, Name: rcv.Spec.SecretRef.Name}
	if s.SecretMeta != nil {
		m := &metav1.PartialObjectMetadata{}
		m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
		if err := s.SecretMeta.Get(ctx, key, m); err == nil {
			if c, ok := s.tokens.Load(key); ok && c.(cachedSecret).resourceVersion == m.ResourceVersion {
				return c.(cachedSecret).data, nil
			}
		}
	}
	sec, err := getSecret(ctx, s.APIReader, key.Namespace, key.Name)
	if err != nil {
		s.tokens.Delete(key)
		return nil, err
	}
	if len(sec.Data["token"]) == 0 {
		s.tokens.Delete(key)
		return nil, fmt.Errorf("secret %s has no `token`", key.Name)
	}
	s.tokens.Store(key, cachedSecret{resourceVersion: sec.ResourceVersion, data: sec.Data})
	return sec.Data, nil
}
