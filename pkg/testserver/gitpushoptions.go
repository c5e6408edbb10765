package testserver

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// pushOptionsLog is the file, in the bare repository, where the
// pre-receive hook of RecordPushOptions appends each push's options.
const pushOptionsLog = "push-options.log"

// recordHook is run by git-receive-pack (in the bare repository, options
// in GIT_PUSH_OPTION_0..COUNT-1); it writes "push <count>" and then one
// line per option (a push option cannot hold a newline).
const recordHook = `#!/bin/sh
n=${GIT_PUSH_OPTION_COUNT:-0}
{
  echo "push $n"
  i=0
  while [ "$i" -lt "$n" ]; do
    eval "printf '%s\n' \"\$GIT_PUSH_OPTION_$i\""
    i=$((i+1))
  done
} >> ` + pushOptionsLog + `
`

// RecordPushOptions makes repository repo of repos accept push options
// (`git push -o`; receive.advertisePushOptions) and record those each
// push carries, as git-receive-pack hands them to its hooks; PushOptions
// reads them back. Without it the repository does not advertise the
// capability, and clients leave their options out.
func RecordPushOptions(repos *GitRepos, repo string) error {
	dir, err := repos.Path(repo)
	if err != nil {
		return err
	}
	if out, err := exec.Command("git", "--git-dir", dir, "config", "receive.advertisePushOptions", "true").CombinedOutput(); err != nil {
		return fmt.Errorf("git config: %v: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(dir, "hooks"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "hooks", "pre-receive"), []byte(recordHook), 0o755)
}

// PushOptions returns, per push received since RecordPushOptions, the
// push options it carried in the order sent ("key=value" as the client
// encodes them).
func PushOptions(repos *GitRepos, repo string) ([][]string, error) {
	dir, err := repos.Path(repo)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(dir, pushOptionsLog))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pushes [][]string
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		count, ok := strings.CutPrefix(lines[i], "push ")
		n, err := strconv.Atoi(count)
		if !ok || err != nil || n < 0 || n > len(lines)-i-1 {
			return nil, fmt.Errorf("%s: malformed record at line %d", pushOptionsLog, i+1)
		}
		pushes = append(pushes, append([]string{}, lines[i+1:i+1+n]...))
		i += n
	}
	return pushes, nil
}
