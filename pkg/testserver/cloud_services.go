package testserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Event Hubs shared access key CloudTokens' Event Hubs checks SAS tokens
// with, under the key name CloudEventHubsKeyName.
const (
	CloudEventHubsKeyName = "send"
	CloudEventHubsKey     = "c2VuZC1rZXk="
)

// CloudMessage is a message a cloud service of CloudTokens accepted.
type CloudMessage struct {
	// Service is "pubsub" or "eventhubs".
	Service string
	// Target is the Pub/Sub topic (projects/<p>/topics/<t>) or the Event
	// Hub (<namespace host>/<hub>).
	Target string
	// Authorization is the request's Authorization header.
	Authorization string
	// Data is the message body.
	Data []byte
	// Attributes are the Pub/Sub message attributes.
	Attributes map[string]string
	// Header, Query and Body are the request's, as sent.
	Header http.Header
	Query  url.Values
	Body   []byte
}

// Messages returns the messages the cloud services accepted so far.
func (c *CloudTokens) Messages() []CloudMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]CloudMessage(nil), c.messages...)
}

// serveServices answers Google Pub/Sub's publish (REST) and Azure Event
// Hubs' send (REST) for a token this server handed out, and Google's
// token endpoint for service account keys; false when r is none.
func (c *CloudTokens) serveServices(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && r.Host == "oauth2.googleapis.com" && r.URL.Path == "/token":
		c.googleKeyToken(w, r)
	case r.Method == http.MethodPost && r.Host == "pubsub.googleapis.com" && strings.HasPrefix(r.URL.Path, "/v1/projects/") &&
		strings.HasSuffix(r.URL.Path, ":publish"):
		c.pubsubPublish(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.Host, ".servicebus.windows.net") && strings.HasSuffix(r.URL.Path, "/messages"):
		c.eventHubsSend(w, r)
	default:
		return false
	}
	return true
}

func (c *CloudTokens) pubsubPublish(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	auth := r.Header.Get("Authorization")
	tok, _ := strings.CutPrefix(auth, "Bearer ")
	if tok == "" || (tok != c.RegistryPassword && !strings.HasPrefix(tok, "federated.") && !c.keyToken(tok)) {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 401, "status": "UNAUTHENTICATED",
			"message": "Request had invalid authentication credentials."}})
		return
	}
	// PublishRequest: messages[] of PubsubMessage, whose data is base64
	// (encoding/json's []byte) and attributes a string map.
	var req struct {
		Messages []struct {
			Data       []byte            `json:"data"`
			Attributes map[string]string `json:"attributes"`
		} `json:"messages"`
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
	if err == nil {
		err = json.Unmarshal(raw, &req)
	}
	if err != nil || len(req.Messages) == 0 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": 400, "status": "INVALID_ARGUMENT",
			"message": "The request must carry at least one message."}})
		return
	}
	topic := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":publish")
	ids := make([]string, len(req.Messages))
	c.mu.Lock()
	for i, m := range req.Messages {
		c.messages = append(c.messages, CloudMessage{Service: "pubsub", Target: topic, Authorization: auth, Data: m.Data, Attributes: m.Attributes,
			Header: r.Header.Clone(), Query: r.URL.Query(), Body: raw})
		ids[i] = strconv.Itoa(len(c.messages))
	}
	c.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"messageIds": ids})
}

func (c *CloudTokens) eventHubsSend(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	resource := "https://" + r.Host + strings.TrimSuffix(r.URL.Path, "/messages")
	bearer, isBearer := strings.CutPrefix(auth, "Bearer ")
	if !(isBearer && (strings.HasPrefix(bearer, "entra.") || c.azureJWTValid(bearer))) && !sasValid(auth, resource) {
		http.Error(w, "<Error><Code>401</Code><Detail>InvalidSignature: The token is invalid.</Detail></Error>", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || len(body) == 0 {
		http.Error(w, "<Error><Code>400</Code><Detail>The message body is empty.</Detail></Error>", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.messages = append(c.messages, CloudMessage{Service: "eventhubs", Target: r.Host + strings.TrimSuffix(r.URL.Path, "/messages"),
		Authorization: auth, Data: body, Header: r.Header.Clone(), Query: r.URL.Query(), Body: body})
	c.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// sasValid checks an Event Hubs SharedAccessSignature for resource signed
// with CloudEventHubsKey and not expired.
func sasValid(auth, resource string) bool {
	sas, ok := strings.CutPrefix(auth, "SharedAccessSignature ")
	if !ok {
		return false
	}
	q, err := url.ParseQuery(sas)
	if err != nil || q.Get("skn") != CloudEventHubsKeyName || !strings.EqualFold(q.Get("sr"), resource) {
		return false
	}
	expiry, err := strconv.ParseInt(q.Get("se"), 10, 64)
	if err != nil || time.Unix(expiry, 0).Before(time.Now()) {
		return false
	}
	mac := hmac.New(sha256.New, []byte(CloudEventHubsKey))
	mac.Write([]byte(url.QueryEscape(resource) + "\n" + q.Get("se")))
	return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(mac.Sum(nil))), []byte(q.Get("sig")))
}
