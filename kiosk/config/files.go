package config

import (
	"fmt"
	"os"
)

// CheckFiles returns the problems of the files c names that Validate
// cannot see: a token file that is missing or empty (every request would
// be refused forever), and a secret (key file, TLS keys, token file) that
// users other than its owner and group can read. A key file that does not
// exist yet is not a problem here: the data key is created on first start.
// check-config and run both refuse a config with any of them.
func (c Config) CheckFiles() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if f := c.Mgmt.TokenFile; f != "" {
		b, err := os.ReadFile(f)
		switch {
		case err != nil:
			bad("mgmt.token_file", "cannot read %s: %v", f, err)
		case len(trimSpace(b)) == 0:
			bad("mgmt.token_file", "%s is empty: every request would be refused", f)
		}
	}
	secrets := []struct{ key, path string }{
		{"key_file", c.KeyPath()},
		{"mgmt.token_file", c.Mgmt.TokenFile},
		{"mgmt.tls_key", c.Mgmt.TLSKey},
		{"central.key_file", c.Central.KeyFile},
	}
	for _, s := range secrets {
		if s.path == "" {
			continue
		}
		fi, err := os.Stat(s.path)
		if err != nil {
			if !os.IsNotExist(err) || s.key == "mgmt.tls_key" || s.key == "central.key_file" {
				bad(s.key, "cannot read %s: %v", s.path, err)
			}
			continue
		}
		if fi.Mode().Perm()&0o007 != 0 {
			bad(s.key, "%s is accessible to other users (mode %04o): chmod o-rwx %s", s.path, fi.Mode().Perm(), s.path)
		}
	}
	return ps
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
