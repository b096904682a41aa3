package sqlanalysis_test

import (
	"fmt"
	"testing"

	"github.com/dogpile-go/dogpile/cachedsql/sqlanalysis"
)

// TestTxControl covers the statements that start or end a transaction by
// their text, alone and within strings of several statements, and the
// look-alikes that do not.
func TestTxControl(t *testing.T) {
	begin := sqlanalysis.TxStatement{Verb: sqlanalysis.TxBegin}
	commit := sqlanalysis.TxStatement{Verb: sqlanalysis.TxCommit}
	rollback := sqlanalysis.TxStatement{Verb: sqlanalysis.TxRollback}
	tests := []struct {
		sql   string
		want  []sqlanalysis.TxStatement
		count int
	}{
		{"BEGIN", []sqlanalysis.TxStatement{begin}, 1},
		{"begin work", []sqlanalysis.TxStatement{begin}, 1},
		{"BEGIN ISOLATION LEVEL SERIALIZABLE", []sqlanalysis.TxStatement{begin}, 1},
		{"BEGIN IMMEDIATE TRANSACTION", []sqlanalysis.TxStatement{begin}, 1}, // SQLite
		{"START TRANSACTION READ ONLY", []sqlanalysis.TxStatement{begin}, 1},
		{"COMMIT", []sqlanalysis.TxStatement{commit}, 1},
		{"END TRANSACTION", []sqlanalysis.TxStatement{commit}, 1},
		{"COMMIT AND CHAIN", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxCommit, Chain: true}}, 1},
		{"COMMIT WORK AND NO CHAIN", []sqlanalysis.TxStatement{commit}, 1},
		{"ROLLBACK", []sqlanalysis.TxStatement{rollback}, 1},
		{"ABORT AND CHAIN", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxRollback, Chain: true}}, 1},
		{"PREPARE TRANSACTION 'tx 1'", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxPrepare, GID: "tx 1"}}, 1},
		{"COMMIT PREPARED 'tx 1'", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxCommitPrepared, GID: "tx 1"}}, 1},
		{"ROLLBACK PREPARED 'tx 1'", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxRollbackPrepared, GID: "tx 1"}}, 1},
		// Look-alikes that start and end nothing.
		{"ROLLBACK TO SAVEPOINT a", nil, 1},
		{"ROLLBACK WORK TO a", nil, 1},
		{"ROLLBACK TRANSACTION TO SAVEPOINT a", nil, 1},
		{"SAVEPOINT a", nil, 1},
		{"RELEASE SAVEPOINT a", nil, 1},
		{"PREPARE q AS SELECT 1", nil, 1},
		{"START REPLICATION", nil, 1},
		{"SELECT 'begin; commit'", nil, 1},
		{"UPDATE t SET a = 1", nil, 1},
		// Several statements: each one, in order.
		{"BEGIN; UPDATE t SET a = 1", []sqlanalysis.TxStatement{begin}, 2},
		{"UPDATE t SET a = 1; COMMIT", []sqlanalysis.TxStatement{commit}, 2},
		{"COMMIT; BEGIN; DELETE FROM t; ROLLBACK AND CHAIN",
			[]sqlanalysis.TxStatement{commit, begin, {Verb: sqlanalysis.TxRollback, Chain: true}}, 4},
		{"UPDATE t SET a = 1; PREPARE TRANSACTION 'g'", []sqlanalysis.TxStatement{{Verb: sqlanalysis.TxPrepare, GID: "g"}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.sql, func(t *testing.T) {
			a, err := sqlanalysis.New().Analyze(tc.sql)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(a.TxControl) != fmt.Sprint(tc.want) || len(a.TxControl) != len(tc.want) {
				t.Errorf("TxControl = %+v; want %+v", a.TxControl, tc.want)
			}
			if a.Statements != tc.count || len(a.Kinds) != tc.count {
				t.Errorf("Statements = %d, Kinds %v; want %d of each", a.Statements, a.Kinds, tc.count)
			}
		})
	}
	a, err := sqlanalysis.New().Analyze("UPDATE t SET a = 1; SET search_path = x; SELECT 1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []sqlanalysis.Kind{sqlanalysis.Update, sqlanalysis.Utility, sqlanalysis.Select}; fmt.Sprint(a.Kinds) != fmt.Sprint(want) {
		t.Errorf("Kinds = %v; want %v", a.Kinds, want)
	}
	if s := sqlanalysis.TxCommitPrepared.String(); s != "CommitPrepared" {
		t.Errorf("TxCommitPrepared.String() = %q", s)
	}
}
