package sqlanalysis

// Kind classifies a statement by what it does.
type Kind int

const (
	// Unknown is a statement the analyzer cannot classify (CALL, DO,
	// EXECUTE, an unrecognised verb): it may write anything.
	Unknown Kind = iota
	// Select is a query: SELECT, VALUES, TABLE, or WITH … SELECT.
	Select
	// Insert is INSERT, including INSERT … ON CONFLICT.
	Insert
	// Update is UPDATE.
	Update
	// Delete is DELETE.
	Delete
	// Merge is MERGE.
	Merge
	// Truncate is TRUNCATE.
	Truncate
	// Copy is COPY, in either direction.
	Copy
	// DDL creates, alters or drops schema objects, including SELECT … INTO,
	// CREATE TABLE … AS and REFRESH MATERIALIZED VIEW.
	DDL
	// Utility neither returns cacheable data nor changes table data: SET,
	// SHOW, transaction control, LISTEN/NOTIFY, VACUUM, EXPLAIN, LOCK, …
	Utility
	// Multiple is a string holding several statements.
	Multiple
)

var kindNames = [...]string{
	Unknown:  "Unknown",
	Select:   "Select",
	Insert:   "Insert",
	Update:   "Update",
	Delete:   "Delete",
	Merge:    "Merge",
	Truncate: "Truncate",
	Copy:     "Copy",
	DDL:      "DDL",
	Utility:  "Utility",
	Multiple: "Multiple",
}

// String returns the kind's name, such as "Select".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + itoa(int(k)) + ")"
}

// ParseKind is the inverse of [Kind.String]; ok is false for an unknown name.
func ParseKind(s string) (k Kind, ok bool) {
	for i, name := range kindNames {
		if name == s {
			return Kind(i), true
		}
	}
	return Unknown, false
}
