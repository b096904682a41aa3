module github.com/dogpile-go/dogpile/cachedsql/sqlanalysis/pgquerycheck

go 1.26.0

require (
	github.com/dogpile-go/dogpile v0.0.0-00010101000000-000000000000
	github.com/pganalyze/pg_query_go/v6 v6.2.5
)

require google.golang.org/protobuf v1.33.0 // indirect

replace github.com/dogpile-go/dogpile => ../../..
