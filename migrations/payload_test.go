package migrations_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	"github.com/dogpile-go/dogpile/migrations"
)

func TestFormatTable(t *testing.T) {
	for _, tc := range []struct {
		name, schema, table, want string
	}{
		{"plain", "public", "users", "public.users"},
		{"underscore and digits", "_s1", "t_2", "_s1.t_2"},
		{"dollar", "public", "t$1", "public.t$1"},
		{"capitals", "Sales", "Orders", `"Sales"."Orders"`},
		{"leading digit", "public", "1t", `public."1t"`},
		{"leading dollar", "public", "$t", `public."$t"`},
		{"dot", "a.b", "c", `"a.b".c`},
		{"quote", "public", `we"ird`, `public."we""ird"`},
		{"space", "public", "two words", `public."two words"`},
		{"non-ASCII", "public", "café", `public."café"`},
		{"keyword", "public", "select", "public.select"},
		{"star", "public", "*", `public."*"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := migrations.FormatTable(tc.schema, tc.table)
			if got != tc.want {
				t.Fatalf("FormatTable(%q, %q) = %q, want %q", tc.schema, tc.table, got, tc.want)
			}
			// The tag a cached query gets from analysing SQL that names the
			// table with its schema.
			if a := (sqlanalysis.Table{Schema: tc.schema, Name: tc.table}).String(); a != got {
				t.Errorf("sqlanalysis writes %q, FormatTable %q", a, got)
			}
			c, err := migrations.ParsePayload(got)
			if err != nil || c != (migrations.Change{Schema: tc.schema, Table: tc.table}) {
				t.Errorf("ParsePayload(%q) = %+v, %v", got, c, err)
			}
			if c.String() != got {
				t.Errorf("Change.String() = %q, want %q", c.String(), got)
			}
		})
	}
}

func TestParsePayload(t *testing.T) {
	if c, err := migrations.ParsePayload("*"); err != nil || !c.All || c.String() != "*" {
		t.Errorf(`ParsePayload("*") = %+v, %v`, c, err)
	}
	for _, bad := range []string{
		"", "users", ".users", "public.", "public..users", "a.b.c",
		`"public".users`, `public."users"`, // not canonical
		`public."Users`, `"Sales.Orders`, `public."A"x`, `"*"`, "**",
	} {
		t.Run(bad, func(t *testing.T) {
			c, err := migrations.ParsePayload(bad)
			if !errors.Is(err, migrations.ErrBadPayload) {
				t.Errorf("ParsePayload(%q) = %+v, %v; want ErrBadPayload", bad, c, err)
			}
		})
	}
}

func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{"*", "public.users", `"A"."b""c"`, `public."x.y"`, `a."`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload string) {
		c, err := migrations.ParsePayload(payload)
		if err != nil {
			return
		}
		// Whatever parses is canonical: it is what FormatTable writes.
		if c.String() != payload {
			t.Fatalf("ParsePayload(%q) = %+v, which formats as %q", payload, c, c.String())
		}
	})
}

func ExampleFormatTable() {
	fmt.Println(migrations.FormatTable("public", "users"))
	fmt.Println(migrations.FormatTable("Sales", "Order Lines"))
	// Output:
	// public.users
	// "Sales"."Order Lines"
}

func ExampleParsePayload() {
	for _, payload := range []string{`sales."Orders"`, migrations.PayloadAll} {
		c, err := migrations.ParsePayload(payload)
		if err != nil {
			// Not a payload dogpile sends: treat it as a change to every table.
			c = migrations.Change{All: true}
		}
		if c.All {
			fmt.Println("invalidate everything")
			continue
		}
		fmt.Printf("invalidate table %s in schema %s\n", c.Table, c.Schema)
	}
	// Output:
	// invalidate table Orders in schema sales
	// invalidate everything
}
