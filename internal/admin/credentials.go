package admin

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/acl"
)

// credFlags are the global ACL flags: keys on the command line, or a
// file (safer: the secret stays out of the process list and history).
type credFlags struct {
	accessKey, secretKey, file string
}

func (c *credFlags) register(pf *pflag.FlagSet) {
	pf.StringVar(&c.accessKey, "accessKey", "", "ACL access key: sign every request (needs --secretKey)")
	pf.StringVar(&c.secretKey, "secretKey", "", "ACL secret key (prefer --credentials: a flag shows in the process list)")
	pf.StringVar(&c.file, "credentials", "", "file with accessKey and secretKey (and optional securityToken) lines,\n"+
		`"key: value" (as RocketMQ's conf/tools.yml) or "key=value"`)
}

// credentials returns what to sign with: zero when no flag is given. A
// half-given pair or an incomplete file is a usage error; an unreadable
// file is a failure.
func (c *credFlags) credentials() (acl.Credentials, error) {
	var cr acl.Credentials
	if c.file != "" {
		if c.accessKey != "" || c.secretKey != "" {
			return cr, usagef("give either --credentials or --accessKey/--secretKey, not both")
		}
		data, err := os.ReadFile(c.file)
		if err != nil {
			return cr, fmt.Errorf("read credentials: %w", err)
		}
		cr, err = parseCredentials(data)
		if err != nil {
			return cr, usagef("credentials file %s: %v", c.file, err)
		}
		return cr, nil
	}
	if (c.accessKey == "") != (c.secretKey == "") {
		return cr, usagef("--accessKey and --secretKey go together")
	}
	return acl.Credentials{AccessKey: c.accessKey, SecretKey: c.secretKey}, nil
}

// parseCredentials reads "key: value" or "key=value" lines; blank lines
// and lines starting with '#' are skipped, values may be quoted.
func parseCredentials(data []byte) (acl.Credentials, error) {
	var cr acl.Credentials
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.IndexAny(line, ":=")
		if i < 0 {
			return cr, fmt.Errorf("line %d: want key: value", n)
		}
		k, v := strings.TrimSpace(line[:i]), strings.Trim(strings.TrimSpace(line[i+1:]), `"'`)
		switch k {
		case "accessKey":
			cr.AccessKey = v
		case "secretKey":
			cr.SecretKey = v
		case "securityToken":
			cr.SecurityToken = v
		default:
			return cr, fmt.Errorf("line %d: unknown key %q (want accessKey, secretKey, securityToken)", n, k)
		}
	}
	if err := sc.Err(); err != nil {
		return cr, err
	}
	if !cr.Valid() {
		return cr, fmt.Errorf("needs both accessKey and secretKey")
	}
	return cr, nil
}
