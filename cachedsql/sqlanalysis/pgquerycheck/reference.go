// Package pgquerycheck cross-checks sqlanalysis against PostgreSQL's own
// parser (libpg_query, through github.com/pganalyze/pg_query_go). It is a
// separate module because pg_query needs cgo and compiles libpg_query; the
// analyzer itself stays pure Go.
//
// The reference below walks pg_query's JSON parse tree and derives, with
// the same rules the analyzer documents, which tables each statement reads
// and writes. Where the analyzer deliberately differs from a literal reading
// of the tree (an unknown write instead of naming an object), the rule is
// written here, with a comment saying why.
package pgquerycheck

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Expectation is what the reference derives for one SQL string.
type Expectation struct {
	Kind         sqlanalysis.Kind
	Reads        []string // Table.String(), sorted, deduplicated
	Writes       []string
	UnknownWrite bool // the analyzer must report an unknown write
	// MayBeUnknown: the statement calls functions, so the analyzer may
	// (depending on its function lists) report an unknown write.
	MayBeUnknown bool
	// NotCacheable: something in the tree rules out caching even if the
	// kind is Select (locking clause, TABLESAMPLE, SELECT INTO).
	NotCacheable bool
}

type node = map[string]any

type cteScope struct {
	names  []string
	parent *cteScope
}

func (s *cteScope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if slices.Contains(s.names, name) {
			return true
		}
	}
	return false
}

type walker struct {
	reads, writes []string
	unknown       bool
	funcs         bool
	notCacheable  bool
}

// Reference parses sql with pg_query and derives its expectation. The
// error is pg_query's when PostgreSQL's grammar rejects the text.
func Reference(sql string) (*Expectation, error) {
	js, err := pg_query.ParseToJSON(sql)
	if err != nil {
		return nil, err
	}
	var tree struct {
		Stmts []struct {
			Stmt node `json:"stmt"`
		} `json:"stmts"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return nil, fmt.Errorf("decoding pg_query JSON: %w", err)
	}
	w := &walker{}
	exp := &Expectation{Kind: sqlanalysis.Utility} // an empty string does nothing
	for _, s := range tree.Stmts {
		exp.Kind = w.statement(s.Stmt)
	}
	if len(tree.Stmts) > 1 {
		exp.Kind = sqlanalysis.Multiple
	}
	exp.Reads = sortUnique(w.reads)
	exp.Writes = sortUnique(w.writes)
	exp.UnknownWrite = w.unknown
	exp.MayBeUnknown = w.funcs
	exp.NotCacheable = w.notCacheable || len(tree.Stmts) != 1
	return exp, nil
}

func sortUnique(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// only returns the type name and body of a Node wrapper {"Type": {...}}.
func only(n node) (string, node) {
	for k, v := range n {
		body, _ := v.(map[string]any)
		return k, body
	}
	return "", nil
}

// tableName renders a RangeVar the way the analyzer's Table.String does.
func tableName(rv node) string {
	str := func(k string) string { s, _ := rv[k].(string); return s }
	return sqlanalysis.Table{Catalog: str("catalogname"), Schema: str("schemaname"), Name: str("relname")}.String()
}

// tableFromList renders the name list of a DropStmt object.
func tableFromList(items []any) string {
	var parts []string
	for _, it := range items {
		_, s := only(it.(map[string]any))
		parts = append(parts, s["sval"].(string))
	}
	t := sqlanalysis.Table{Name: parts[len(parts)-1]}
	if len(parts) >= 2 {
		t.Schema = parts[len(parts)-2]
	}
	if len(parts) == 3 {
		t.Catalog = parts[0]
	}
	return t.String()
}

func (w *walker) write(rv any) {
	if m, ok := rv.(map[string]any); ok {
		w.writes = append(w.writes, tableName(m))
	}
}

// tableLike are the relation kinds whose ALTER and DROP the analyzer
// reports as writes of the relation; others are unknown writes.
var tableLike = map[string]bool{
	"OBJECT_TABLE": true, "OBJECT_VIEW": true, "OBJECT_MATVIEW": true,
	"OBJECT_SEQUENCE": true, "OBJECT_FOREIGN_TABLE": true,
}

// utilityStmts neither read cacheable data nor write table data.
var utilityStmts = map[string]bool{
	"VariableSetStmt": true, "VariableShowStmt": true, "TransactionStmt": true,
	"ListenStmt": true, "UnlistenStmt": true, "NotifyStmt": true,
	"VacuumStmt": true, "LockStmt": true, "PrepareStmt": true,
	"DeallocateStmt": true, "DiscardStmt": true, "CheckPointStmt": true,
	"LoadStmt": true, "FetchStmt": true, "ClosePortalStmt": true,
	"ClusterStmt": true, "ReindexStmt": true, "ConstraintsSetStmt": true,
	// COMMENT ON changes no data a query returns.
	"CommentStmt": true,
}

// statement derives the kind of one top-level statement and records its
// tables.
func (w *walker) statement(n node) sqlanalysis.Kind {
	typ, s := only(n)
	switch typ {
	case "SelectStmt":
		w.walk(n, nil)
		if s["intoClause"] != nil {
			return sqlanalysis.DDL
		}
		return sqlanalysis.Select
	case "InsertStmt":
		w.walk(n, nil)
		return sqlanalysis.Insert
	case "UpdateStmt":
		w.walk(n, nil)
		return sqlanalysis.Update
	case "DeleteStmt":
		w.walk(n, nil)
		return sqlanalysis.Delete
	case "MergeStmt":
		w.walk(n, nil)
		return sqlanalysis.Merge
	case "TruncateStmt":
		for _, r := range s["relations"].([]any) {
			_, rv := only(r.(map[string]any))
			w.write(rv)
		}
		// CASCADE truncates referencing tables the analyzer cannot name.
		if s["behavior"] == "DROP_CASCADE" {
			w.unknown = true
		}
		return sqlanalysis.Truncate
	case "CopyStmt":
		switch {
		case s["query"] != nil:
			w.walk(s["query"], nil)
		case s["is_from"] == true:
			w.write(s["relation"])
		default:
			w.reads = append(w.reads, tableName(s["relation"].(map[string]any)))
		}
		return sqlanalysis.Copy
	case "CreateStmt":
		w.createTable(s)
		return sqlanalysis.DDL
	case "CreateForeignTableStmt":
		w.createTable(s["base"].(map[string]any))
		return sqlanalysis.DDL
	case "CreateTableAsStmt":
		w.write(s["into"].(map[string]any)["rel"])
		if q, _ := s["query"].(map[string]any); q != nil {
			if qt, _ := only(q); qt == "ExecuteStmt" {
				w.unknown = true // the prepared statement is not visible
			} else {
				w.walk(q, nil)
			}
		}
		return sqlanalysis.DDL
	case "ViewStmt":
		w.write(s["view"])
		w.walk(s["query"], nil)
		return sqlanalysis.DDL
	case "IndexStmt":
		// An index changes no data, but the analyzer names the indexed
		// table rather than dropping every cached result.
		w.write(s["relation"])
		return sqlanalysis.DDL
	case "CreateSeqStmt", "AlterSeqStmt":
		w.write(s["sequence"])
		return sqlanalysis.DDL
	case "RefreshMatViewStmt":
		w.write(s["relation"])
		return sqlanalysis.DDL
	case "AlterTableStmt":
		if !tableLike[s["objtype"].(string)] {
			w.unknown = true // ALTER INDEX …: not a table the analyzer resolves
			return sqlanalysis.DDL
		}
		w.write(s["relation"])
		for _, c := range asList(s["cmds"]) {
			_, cmd := only(c.(map[string]any))
			if def, _ := cmd["def"].(map[string]any); def != nil {
				if dt, pc := only(def); dt == "PartitionCmd" {
					w.write(pc["name"])
				}
			}
		}
		return sqlanalysis.DDL
	case "RenameStmt":
		kind, _ := s["renameType"].(string)
		switch kind {
		case "OBJECT_TABCONSTRAINT":
			// ALTER TABLE t RENAME CONSTRAINT: the grammar leaves
			// relationType unset; the relation is a table.
			kind = "OBJECT_TABLE"
		case "OBJECT_COLUMN", "OBJECT_TRIGGER", "OBJECT_POLICY", "OBJECT_RULE":
			// A column rename names the relation kind; a trigger, policy
			// or rule rename (ALTER TRIGGER … ON t) is not ALTER TABLE.
			kind, _ = s["relationType"].(string)
		}
		if s["relation"] == nil || !tableLike[kind] {
			w.unknown = true
			return sqlanalysis.DDL
		}
		w.write(s["relation"])
		return sqlanalysis.DDL
	case "AlterObjectSchemaStmt":
		if s["relation"] == nil || !tableLike[s["objectType"].(string)] {
			w.unknown = true
			return sqlanalysis.DDL
		}
		w.write(s["relation"])
		return sqlanalysis.DDL
	case "DropStmt":
		if !tableLike[s["removeType"].(string)] {
			w.unknown = true // DROP INDEX, FUNCTION, SCHEMA, …
			return sqlanalysis.DDL
		}
		for _, o := range asList(s["objects"]) {
			_, l := only(o.(map[string]any))
			w.writes = append(w.writes, tableFromList(l["items"].([]any)))
		}
		// CASCADE drops dependent objects the analyzer cannot name.
		if s["behavior"] == "DROP_CASCADE" {
			w.unknown = true
		}
		return sqlanalysis.DDL
	case "ExplainStmt":
		analyze := false
		for _, o := range asList(s["options"]) {
			_, de := only(o.(map[string]any))
			if de["defname"] == "analyze" {
				analyze = defElemTrue(de)
			}
		}
		if analyze {
			w.statement(s["query"].(map[string]any))
		}
		w.notCacheable = true
		return sqlanalysis.Utility
	case "DeclareCursorStmt":
		w.walk(s["query"], nil)
		return sqlanalysis.Utility
	case "CallStmt", "DoStmt", "ExecuteStmt":
		w.unknown = true
		return sqlanalysis.Unknown
	}
	if utilityStmts[typ] {
		return sqlanalysis.Utility
	}
	// Every other statement defines, alters or drops an object that is not
	// a table the analyzer resolves (functions, triggers, rules, policies,
	// types, roles, privileges, …): it may change what queries return, so
	// the analyzer reports an unknown write.
	w.unknown = true
	return sqlanalysis.DDL
}

// defElemTrue reports whether an EXPLAIN option is on: no argument, or
// true/on/1.
func defElemTrue(de node) bool {
	arg, _ := de["arg"].(map[string]any)
	if arg == nil {
		return true
	}
	typ, v := only(arg)
	switch typ {
	case "String":
		s := strings.ToLower(fmt.Sprint(v["sval"]))
		return s != "false" && s != "off" && s != "0"
	case "Boolean":
		return v["boolval"] == true
	case "Integer":
		return v["ival"] != nil && v["ival"] != float64(0)
	}
	return true
}

// createTable records CREATE TABLE: the table and its PARTITION OF /
// INHERITS parents are written. FOREIGN KEY targets and LIKE sources are
// neither read nor written (no data of theirs is involved).
func (w *walker) createTable(s node) {
	w.write(s["relation"])
	for _, p := range asList(s["inhRelations"]) {
		_, rv := only(p.(map[string]any))
		w.write(rv)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// walk visits a subtree: RangeVars in read positions are reads (unless they
// name a visible CTE), the target relations of INSERT, UPDATE, DELETE and
// MERGE and the INTO of SELECT are writes.
func (w *walker) walk(v any, sc *cteScope) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			w.walk(e, sc)
		}
	case map[string]any:
		if len(v) == 1 {
			typ, body := only(v)
			if typ != "" && typ[0] >= 'A' && typ[0] <= 'Z' && body != nil {
				w.typed(typ, body, sc)
				return
			}
		}
		for _, child := range v {
			w.walk(child, sc)
		}
	}
}

func (w *walker) typed(typ string, n node, sc *cteScope) {
	switch typ {
	case "RangeVar":
		schema, _ := n["schemaname"].(string)
		name, _ := n["relname"].(string)
		if schema == "" && n["catalogname"] == nil && sc.has(name) {
			return
		}
		w.reads = append(w.reads, tableName(n))
		return
	case "FuncCall", "SQLValueFunction":
		w.funcs = true
	case "RangeTableSample":
		w.notCacheable = true
	case "SelectStmt", "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt":
		sc = w.with(n["withClause"], sc)
		rest := node{}
		for k, val := range n {
			switch k {
			case "withClause":
			case "relation":
				// The target of a data-modifying statement: never a CTE.
				w.write(val)
			case "intoClause":
				w.write(val.(map[string]any)["rel"])
				w.notCacheable = true
			case "lockingClause":
				// FOR UPDATE OF names FROM items, not extra reads.
				w.notCacheable = true
			default:
				rest[k] = val
			}
		}
		for _, child := range rest {
			w.walk(child, sc)
		}
		return
	}
	for _, child := range n {
		w.walk(child, sc)
	}
}

// with walks a WITH clause and returns the scope its CTE names open: a
// plain WITH lets each CTE see the ones before it; WITH RECURSIVE lets
// every CTE see all of them.
func (w *walker) with(v any, sc *cteScope) *cteScope {
	wc, _ := v.(map[string]any)
	if wc == nil {
		return sc
	}
	ns := &cteScope{parent: sc}
	recursive := wc["recursive"] == true
	var ctes []node
	for _, c := range asList(wc["ctes"]) {
		_, cte := only(c.(map[string]any))
		ctes = append(ctes, cte)
		if recursive {
			ns.names = append(ns.names, cte["ctename"].(string))
		}
	}
	for _, cte := range ctes {
		body := &cteScope{parent: sc, names: slices.Clone(ns.names)}
		w.walk(cte["ctequery"], body)
		if !recursive {
			ns.names = append(ns.names, cte["ctename"].(string))
		}
	}
	return ns
}
