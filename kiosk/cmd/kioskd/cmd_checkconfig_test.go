package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigTrapsRefused: check-config and run refuse each configuration
// that would start but never work or expose a secret, naming the key.
func TestConfigTrapsRefused(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	token := file("token", "t0ken\n", 0o600)
	empty := file("empty-token", "\n", 0o600)
	openKey := file("open.key", strings.Repeat("k", 32), 0o644)
	base := "data_dir = \"" + filepath.Join(dir, "data") + "\"\n"
	for _, tc := range []struct{ name, conf, key string }{
		{"missing token file", base + "[mgmt]\ntoken_file = \"" + filepath.Join(dir, "nope") + "\"\n", "mgmt.token_file"},
		{"empty token file", base + "[mgmt]\ntoken_file = \"" + empty + "\"\n", "mgmt.token_file"},
		{"client CA without TLS", base + "[mgmt]\nlisten = \"0.0.0.0:0\"\nclient_ca = \"" + token + "\"\n", "mgmt.client_ca"},
		{"token in clear", base + "[mgmt]\nlisten = \"0.0.0.0:0\"\ntoken_file = \"" + token + "\"\n", "mgmt.token_file"},
		{"key readable by others", base + "key_file = \"" + openKey + "\"\n", "key_file"},
		{"UI off loopback", base + "[ui]\nlisten = \"0.0.0.0:0\"\n", "ui.listen"},
		{"agency in one language only", base + "[receipt.zh-CN]\nagency = \"北京市社会保障卡服务中心\"\n", "receipt.vi.agency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := file(strings.ReplaceAll(tc.name, " ", "-")+".toml", tc.conf, 0o600)
			if err := runCheckConfig(context.Background(), []string{cfg}); err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("check-config: %v, want a problem naming %s", err, tc.key)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // should it start after all, it stops at once
			if err := runDaemon(ctx, []string{"--config", cfg}); err == nil || !strings.Contains(err.Error(), tc.key+":") {
				t.Errorf("run: %v, want a refusal naming %s", err, tc.key)
			}
		})
	}
}
