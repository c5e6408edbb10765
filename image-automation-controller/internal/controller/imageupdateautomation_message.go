package controller

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/types"

	"gotk.dev/image-automation-controller/internal/setters"
	imagev1 "gotk.dev/pkg/apis/image/v1"
	"gotk.dev/pkg/runtime/reconcile"
)

// DefaultCommitMessage is used when spec.git.commit.messageTemplate is empty.
const DefaultCommitMessage = "Update from image update automation"

// InvalidMessageTemplateReason means the commit message template does not
// parse or fails to render.
const InvalidMessageTemplateReason = "InvalidMessageTemplate"

// removedTemplateFields are template fields older Flux releases offered;
// using them is reported instead of rendering an empty value.
var removedTemplateFields = regexp.MustCompile(`\.Updated\b|\.Changed\.ImageResult\b`)

// MessageData is what a commit message template sees.
type MessageData struct {
	// AutomationObject is the automation's namespace/name.
	AutomationObject types.NamespacedName
	// Changed holds the changes made.
	Changed ChangeSet
	// Values are spec.git.commit.messageTemplateValues.
	Values map[string]string
}

// ChangeSet is the changes of one update, grouped as templates use them.
type ChangeSet struct {
	// FileChanges maps each changed file to its changed objects.
	FileChanges map[string]map[setters.ObjectID][]setters.Change
	// Objects maps each changed object to its changes.
	Objects map[setters.ObjectID][]setters.Change
	// Changes lists every change.
	Changes []setters.Change
}

func newChangeSet(res setters.Result) ChangeSet {
	cs := ChangeSet{FileChanges: map[string]map[setters.ObjectID][]setters.Change{}, Objects: res.Objects(), Changes: res.Changes}
	for file, changes := range res.FileChanges() {
		m := map[setters.ObjectID][]setters.Change{}
		for _, c := range changes {
			m[c.Object] = append(m[c.Object], c)
		}
		cs.FileChanges[file] = m
	}
	return cs
}

// parseMessageTemplate checks the template; errors stall with
// RemovedTemplateField or InvalidMessageTemplate.
func parseMessageTemplate(obj *imagev1.ImageUpdateAutomation) (*template.Template, error) {
	text := obj.Spec.GitSpec.Commit.MessageTemplate
	if text == "" {
		text = DefaultCommitMessage
	}
	if m := removedTemplateFields.FindString(text); m != "" {
		return nil, reconcile.Stall(imagev1.RemovedTemplateFieldReason,
			"commit message template uses %s, which was removed; use .Changed.FileChanges or .Changed.Objects", m)
	}
	tmpl, err := template.New("commit message").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, reconcile.Stall(InvalidMessageTemplateReason, "invalid commit message template: %s", err)
	}
	return tmpl, nil
}

func renderMessage(tmpl *template.Template, obj *imagev1.ImageUpdateAutomation, res setters.Result) (string, error) {
	var b strings.Builder
	data := MessageData{
		AutomationObject: types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name},
		Changed:          newChangeSet(res),
		Values:           obj.Spec.GitSpec.Commit.MessageTemplateValues,
	}
	if err := tmpl.Execute(&b, data); err != nil {
		return "", reconcile.Stall(InvalidMessageTemplateReason, "rendering the commit message template: %s", err)
	}
	msg := b.String()
	if strings.TrimSpace(msg) == "" {
		return "", reconcile.Stall(InvalidMessageTemplateReason, "the commit message template renders an empty message")
	}
	return msg, nil
}

// describeCommit is the Ready message after a push.
func describeCommit(hash, branch string) string {
	short := hash
	if len(short) > 7 {
		short = short[:7]
	}
	return fmt.Sprintf("committed and pushed commit '%s' to branch '%s'", short, branch)
}
