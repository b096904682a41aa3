package sqlanalysis_test

import (
	"fmt"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

func ExampleAnalyze() {
	a, err := sqlanalysis.Analyze(`
		SELECT u.name, count(o.id)
		FROM public.users u
		LEFT JOIN orders o ON o.user_id = u.id   -- all orders
		WHERE u.org_id = $1
		GROUP BY u.name`)
	if err != nil {
		panic(err)
	}
	fmt.Println(a.Kind, a.Reads, a.Cacheable, a.Placeholders)
	fmt.Println(a.Normalized)
	// Output:
	// Select [orders public.users] true [$1]
	// select u.name, count(o.id) from public.users u left join orders o on o.user_id = u.id where u.org_id = $1 group by u.name
}

func ExampleAnalyze_write() {
	a, _ := sqlanalysis.Analyze("WITH moved AS (DELETE FROM queue WHERE id = $1 RETURNING *) INSERT INTO done SELECT * FROM moved")
	fmt.Println(a.Kind, a.Writes, a.Cacheable, a.UnknownWrite)
	// Output:
	// Insert [done queue] false false
}

func ExampleAnalyze_notCacheable() {
	for _, sql := range []string{
		"SELECT * FROM jobs WHERE state = 'ready' FOR UPDATE SKIP LOCKED",
		"SELECT * FROM events WHERE at > now() - interval '1 hour'",
		"SELECT refresh_totals($1)",
		"SELECT 1; SELECT 2",
	} {
		a, _ := sqlanalysis.Analyze(sql)
		fmt.Printf("%t %t %s\n", a.Cacheable, a.UnknownWrite, a.Reason)
	}
	// Output:
	// false false FOR UPDATE
	// false false volatile function now()
	// false true unknown function refresh_totals()
	// false false 2 statements
}

func ExampleNew() {
	an := sqlanalysis.New(
		sqlanalysis.WithSafeFunctions("billing.net_amount"), // deterministic
		sqlanalysis.WithVolatileFunctions("app_clock"),      // read-only, changes
	)
	for _, sql := range []string{
		"SELECT billing.net_amount(total) FROM invoices",
		"SELECT app_clock()",
	} {
		a, _ := an.Analyze(sql)
		fmt.Printf("cacheable=%t reason=%q\n", a.Cacheable, a.Reason)
	}
	// Output:
	// cacheable=true reason=""
	// cacheable=false reason="volatile function app_clock()"
}

func ExampleNormalize() {
	a, _ := sqlanalysis.Normalize("SELECT  *\nFROM Users /* hot path */ WHERE Email = 'A@x.io'")
	b, _ := sqlanalysis.Normalize("select * from users where email = 'A@x.io' -- same")
	fmt.Println(a)
	fmt.Println(a == b)
	// Output:
	// select * from users where email = 'A@x.io'
	// true
}

func ExampleTable_String() {
	a, _ := sqlanalysis.Analyze(`SELECT * FROM "Sales"."Q1 Orders", sales.q2_orders`)
	for _, t := range a.Reads {
		fmt.Println(t.String())
	}
	// Output:
	// "Sales"."Q1 Orders"
	// sales.q2_orders
}
