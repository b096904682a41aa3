package tiered

import (
	"slices"
	"strings"
	"testing"
)

func TestMessageRoundTrip(t *testing.T) {
	id := [idLen]byte{1, 2, 3, 15: 0xff}
	tests := []struct {
		name  string
		kind  byte
		items []string
	}{
		{"one key", kindKeys, []string{"users:42"}},
		{"empty key", kindKeys, []string{""}},
		{"odd bytes", kindKeys, []string{"a\x00b", "ключ/🔑", "colons:and|pipes", strings.Repeat("long", 300)}},
		{"tags", kindTags, []string{"app:t:public.orders", "app:t:public.users"}},
		{"none", kindTags, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := parseMessage(string(appendMessage(nil, tc.kind, id, tc.items)))
			if err != nil {
				t.Fatal(err)
			}
			if m.kind != tc.kind || m.sender != id || !slices.Equal(m.items, tc.items) {
				t.Fatalf("got %c %x %q, want %c %x %q", m.kind, m.sender, m.items, tc.kind, id, tc.items)
			}
		})
	}
}

func TestParseMessageRejects(t *testing.T) {
	good := string(appendMessage(nil, kindKeys, [idLen]byte{}, []string{"k"}))
	tests := []struct {
		name, payload string
	}{
		{"empty", ""},
		{"foreign", "hello, subscribers"},
		{"bad kind", good[:1] + "x" + good[2:]},
		{"truncated", good[:len(good)-1]},
		{"trailing bytes", good + "x"},
		{"huge count", good[:messageHeader] + "\xff\xff\xff\xff\x0f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseMessage(tc.payload); err == nil {
				t.Fatalf("parseMessage(%q) accepted it", tc.payload)
			}
		})
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add(string(appendMessage(nil, kindKeys, [idLen]byte{}, []string{"a", "b"})))
	f.Add(string(appendMessage(nil, kindTags, [idLen]byte{9}, nil)))
	f.Fuzz(func(t *testing.T, payload string) {
		m, err := parseMessage(payload)
		if err != nil {
			return
		}
		// Whatever parses survives a round trip.
		again, err := parseMessage(string(appendMessage(nil, m.kind, m.sender, m.items)))
		if err != nil || again.kind != m.kind || again.sender != m.sender || !slices.Equal(again.items, m.items) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", payload, again, err, m)
		}
	})
}
