package sqlanalysis

import "strings"

// funcClass says what calling a function means for caching.
type funcClass uint8

const (
	// funcUnlisted is a function on no list; Analyzer.unlisted decides.
	funcUnlisted funcClass = iota
	// funcSafe returns the same result for the same arguments and data:
	// the statement stays cacheable.
	funcSafe
	// funcVolatile reads no table data the analyzer cannot see and writes
	// none, but its result changes with time, session or chance.
	funcVolatile
	// funcTimeZone depends on the session's TimeZone (or is otherwise date
	// arithmetic the analyzer will not vouch for): treated like funcVolatile.
	funcTimeZone
	// funcWrites may change data the analyzer cannot name.
	funcWrites
)

// defaultSafeFunctions are built-in functions whose result depends only on
// their arguments (given the server's fixed settings). Aggregates and window
// functions are here: they depend only on the rows they are fed.
//
// Deliberately absent: date_trunc, extract, date_part, to_char, age,
// to_timestamp and friends (see defaultTimeZoneFunctions). Their results on
// timestamptz values depend on the session's TimeZone, which applications
// do change per session: they are cacheable only when the key holds it
// (WithTimeZoneInKey).
const defaultSafeFunctions = `
	count sum avg min max array_agg string_agg json_agg jsonb_agg json_agg_strict
	jsonb_agg_strict json_object_agg jsonb_object_agg json_object_agg_strict
	jsonb_object_agg_strict json_object_agg_unique jsonb_object_agg_unique
	json_object_agg_unique_strict jsonb_object_agg_unique_strict bool_and bool_or
	every bit_and bit_or bit_xor stddev stddev_pop stddev_samp variance var_pop
	var_samp corr covar_pop covar_samp regr_avgx regr_avgy regr_count
	regr_intercept regr_r2 regr_slope regr_sxx regr_sxy regr_syy mode
	percentile_cont percentile_disc range_agg range_intersect_agg any_value
	xmlagg grouping merge_action
	row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
	last_value nth_value
	coalesce nullif greatest least cast
	lower upper initcap length char_length character_length octet_length
	bit_length substring substr trim btrim ltrim rtrim replace concat concat_ws
	position strpos left right lpad rpad split_part reverse repeat md5 sha224
	sha256 sha384 sha512 encode decode ascii chr translate starts_with overlay
	quote_ident quote_literal quote_nullable regexp_replace regexp_match
	regexp_matches regexp_split_to_array regexp_split_to_table regexp_like
	regexp_count regexp_instr regexp_substr string_to_array string_to_table
	array_to_string to_hex to_bin to_oct normalize is_normalized unistr
	convert_from convert_to get_byte get_bit set_byte set_bit bit_count crc32
	crc32c parse_ident
	abs ceil ceiling floor round trunc mod power pow sqrt cbrt exp ln log log10
	sign pi degrees radians sin cos tan asin acos atan atan2 sind cosd tand asind
	acosd atand atan2d cot cotd sinh cosh tanh asinh acosh atanh div gcd lcm
	factorial width_bucket scale min_scale trim_scale erf erfc
	int2 int4 int8 float4 float8 text bool
	to_json to_jsonb row_to_json array_to_json json_build_object
	jsonb_build_object json_build_array jsonb_build_array json_object
	jsonb_object json_array_length jsonb_array_length json_extract_path
	json_extract_path_text jsonb_extract_path jsonb_extract_path_text
	json_array_elements json_array_elements_text jsonb_array_elements
	jsonb_array_elements_text json_each json_each_text jsonb_each jsonb_each_text
	json_object_keys jsonb_object_keys json_typeof jsonb_typeof jsonb_set
	jsonb_set_lax jsonb_insert jsonb_strip_nulls json_strip_nulls jsonb_pretty
	jsonb_path_query jsonb_path_exists jsonb_path_match jsonb_path_query_array
	jsonb_path_query_first json_populate_record jsonb_populate_record
	json_populate_recordset jsonb_populate_recordset json_to_record
	jsonb_to_record json_to_recordset jsonb_to_recordset json_table xmltable
	array_length cardinality array_lower array_upper array_ndims array_dims
	array_append array_prepend array_cat array_remove array_replace
	array_position array_positions array_fill trim_array array_reverse
	array_sort unnest generate_series generate_subscripts
	lower_inc upper_inc lower_inf upper_inf isempty range_merge int4range
	int8range numrange daterange tsrange tstzrange multirange int4multirange int8multirange
	nummultirange datemultirange
	make_date make_time make_interval make_timestamp
	num_nonnulls num_nulls pg_size_pretty pg_size_bytes
	host hostmask masklen netmask network broadcast family abbrev set_masklen
	inet_same_family inet_merge
	point box circle lseg line polygon path area center diameter radius npoints
	to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery
	ts_rank ts_rank_cd ts_headline setweight strip numnode querytree
	array_to_tsvector tsvector_to_array ts_delete ts_filter
`

// defaultVolatileFunctions read nothing the analyzer cannot see and write
// no table data, but their result changes between calls: time, chance,
// session state, sequences, locks, server state and statistics. A trailing
// * matches any suffix.
const defaultVolatileFunctions = `
	now current_timestamp current_date current_time localtime localtimestamp
	clock_timestamp statement_timestamp transaction_timestamp timeofday
	random random_normal setseed gen_random_uuid uuidv4 uuidv7 uuid_generate_*
	array_sample array_shuffle
	nextval currval lastval setval
	pg_sleep* txid_* pg_current_* pg_snapshot_* pg_xact_* pg_visible_in_snapshot
	current_user session_user user current_role current_catalog current_schema
	current_schemas current_database current_query current_setting set_config
	system_user version inet_client_addr inet_client_port inet_server_addr
	inet_server_port pg_backend_pid pg_postmaster_start_time pg_conf_load_time
	pg_is_in_recovery pg_last_* pg_trigger_depth pg_blocking_pids
	pg_advisory* pg_try_advisory* pg_notify pg_listening_channels
	pg_notification_queue_usage pg_cancel_backend pg_terminate_backend
	pg_reload_conf pg_rotate_logfile pg_stat_* pg_relation_size
	pg_total_relation_size pg_table_size pg_indexes_size pg_database_size
	pg_tablespace_size pg_column_size pg_relation_filenode pg_relation_filepath
	has_any_column_privilege has_column_privilege has_database_privilege
	has_foreign_data_wrapper_privilege has_function_privilege
	has_language_privilege has_parameter_privilege has_schema_privilege
	has_sequence_privilege has_server_privilege has_table_privilege
	has_tablespace_privilege has_type_privilege pg_has_role row_security_active pg_get_* pg_table_is_visible
	pg_function_is_visible pg_type_is_visible obj_description col_description
	shobj_description format_type pg_typeof to_regclass to_regtype to_regproc
	to_regprocedure to_regoper to_regoperator to_regnamespace to_regrole
	to_regcollation pg_read_file pg_read_binary_file pg_ls_dir pg_stat_file
	pg_ls_* pg_jit_available pg_safe_snapshot_blocking_pids
	format to_number
`

// defaultTimeZoneFunctions are date/time functions whose results depend on
// the session TimeZone for timestamptz values, or on the current time (the
// one-argument age). Not cacheable, but they write nothing.
const defaultTimeZoneFunctions = `
	date_trunc extract date_part to_char age to_timestamp to_date
	make_timestamptz timezone date_bin date_add date_subtract justify_days
	justify_hours justify_interval isfinite jsonb_path_query_tz
	jsonb_path_exists_tz jsonb_path_match_tz jsonb_path_query_array_tz
	jsonb_path_query_first_tz
`

// defaultWritingFunctions may change data in this database that the
// analyzer cannot name.
const defaultWritingFunctions = `dblink* lo_*`

// functionTable maps function names to classes: exact names, then the
// longest matching prefix pattern ("pg_stat_*").
type functionTable struct {
	exact    map[string]funcClass
	prefixes []prefixClass // longest prefix first
}

type prefixClass struct {
	prefix string
	class  funcClass
}

func newFunctionTable() *functionTable {
	return &functionTable{exact: make(map[string]funcClass)}
}

// set records names (lower-cased; "schema.name" qualified; a trailing *
// is a prefix pattern) as class. A later set of the same name wins.
func (ft *functionTable) set(class funcClass, names ...string) {
	for _, name := range names {
		name = strings.ToLower(strings.TrimSpace(name))
		name = strings.TrimPrefix(name, "pg_catalog.")
		if name == "" {
			continue
		}
		if prefix, ok := strings.CutSuffix(name, "*"); ok {
			ft.setPrefix(prefix, class)
			continue
		}
		ft.exact[name] = class
	}
}

func (ft *functionTable) setPrefix(prefix string, class funcClass) {
	for i := range ft.prefixes {
		if ft.prefixes[i].prefix == prefix {
			ft.prefixes[i].class = class
			return
		}
	}
	i := 0
	for i < len(ft.prefixes) && len(ft.prefixes[i].prefix) >= len(prefix) {
		i++
	}
	ft.prefixes = append(ft.prefixes, prefixClass{})
	copy(ft.prefixes[i+1:], ft.prefixes[i:])
	ft.prefixes[i] = prefixClass{prefix, class}
}

// lookup returns the class of name, or funcUnlisted.
func (ft *functionTable) lookup(name string) funcClass {
	if c, ok := ft.exact[name]; ok {
		return c
	}
	for _, p := range ft.prefixes {
		if strings.HasPrefix(name, p.prefix) {
			return p.class
		}
	}
	return funcUnlisted
}

// defaultFunctions is the built-in table every Analyzer falls back to.
var defaultFunctions = func() *functionTable {
	ft := newFunctionTable()
	ft.set(funcSafe, strings.Fields(defaultSafeFunctions)...)
	ft.set(funcVolatile, strings.Fields(defaultVolatileFunctions)...)
	ft.set(funcTimeZone, strings.Fields(defaultTimeZoneFunctions)...)
	ft.set(funcWrites, strings.Fields(defaultWritingFunctions)...)
	return ft
}()
