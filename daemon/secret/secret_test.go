package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestValueNeverPrints(t *testing.T) {
	const canary = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCANARYKEY1"
	v := New(canary)
	type holder struct{ Secret Value }
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "secret", v, "holder", holder{v})
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "secret", v)
	js, _ := json.Marshal(holder{v})
	out := strings.Join([]string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q", v, holder{v}, holder{v}, v, v),
		fmt.Errorf("failed: %v", v).Error(), logged.String(), string(js),
	}, "\n")
	if strings.Contains(out, canary) {
		t.Fatalf("secret printed:\n%s", out)
	}
	if v.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
}

func TestMaskKeyID(t *testing.T) {
	if got := MaskKeyID("AKIAIOSFODNN7EXAMPLE"); got != "****************MPLE" {
		t.Errorf("got %q", got)
	}
	if got := MaskKeyID("ABC"); got != "***" {
		t.Errorf("short id: %q", got)
	}
}
