package main

import "testing"

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"sig3 small", sig3(16.5), "16.5"},
		{"sig3 pad", sig3(41), "41.0"},
		{"sig3 integer", sig3(600.4), "600"},
		{"sig3 round up", sig3(9.996), "10.0"},
		{"sig3 fraction", sig3(0.4523), "0.452"},
		{"time ns", fmtTime(40.97), "41.0 ns"},
		{"time µs", fmtTime(7211), "7.21 µs"},
		{"time ms", fmtTime(1.2e6), "1.20 ms"},
		{"time s", fmtTime(2.5e9), "2.50 s"},
		{"bytes small", fmtBytes(1217), "1217 B"},
		{"bytes KiB", fmtBytes(169239), "165 KiB"},
		{"bytes MiB", fmtBytes(50 << 20), "50.0 MiB"},
		{"number", fmtNumber(2817), "2817"},
		{"number fraction", fmtNumber(0.5), "0.500"},
		{"number big", fmtNumber(12345678), "12.3M"},
		{"factor", fmtFactor(183.4), "183×"},
		{"tick", fmtTick(20000), "20 µs"},
		{"tick fraction", fmtTick(2500), "2.5 µs"},
		{"tick zero", fmtTick(0), "0 ns"},
		{"clock", fmtClock(62e9), "1:02"},
		{"clock hours", fmtClock(3725e9), "1:02:05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestFmtSpread(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		want   string
	}{
		{"one run", []float64{10}, ""},
		{"percent", []float64{9, 10, 12}, "±20%"},
		{"below one percent", []float64{999, 1000, 1004}, "±0.4%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmtSpread(&Metric{Values: tt.values}); got != tt.want {
				t.Errorf("fmtSpread = %q, want %q", got, tt.want)
			}
		})
	}
}
