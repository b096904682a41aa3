#!/usr/bin/env bash
# test-deps.sh: make sure this machine has what the test suite needs.
#
# The tests start real servers from local binaries (internal/testenv), so a
# fresh machine or CI clone needs them installed. This script is idempotent:
# it installs only what is missing (running `apt-get update` only when it has
# to install something), prints one line per dependency saying what it found
# or did, and exits non-zero with a clear message when something cannot be had.
#
#   redis-server, redis-sentinel, redis-cli   Debian packages redis-server,
#                                              redis-sentinel, redis-tools
#   memcached                                  Debian package memcached
#   PostgreSQL (postgres, initdb, psql)        checked on PATH and in
#                                              /usr/lib/postgresql/*/bin;
#                                              Debian package postgresql if absent
#   OS user postgres (when run as root)        PostgreSQL refuses to run as
#                                              root, so testenv runs it as this user
#
# Services that the Debian packages would start on install (redis on :6379,
# memcached on :11211) are kept from starting: the tests start their own on
# free loopback ports.
set -euo pipefail

say() { printf 'test-deps: %-15s %s\n' "$1" "$2"; }
die() {
	printf 'test-deps: ERROR: %s\n' "$*" >&2
	exit 1
}

# as_root runs a command as root, through sudo when this script is not root.
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		die "need root to run '$*' (not root, and no password-less sudo); run this script as root or install it by hand"
	fi
}

# find_pg_bin prints the directory holding the PostgreSQL server binaries:
# that of `postgres` on PATH, else the newest /usr/lib/postgresql/N/bin.
find_pg_bin() {
	local p d
	if p=$(command -v postgres 2>/dev/null); then
		d=$(dirname "$(readlink -f "$p")")
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5 -n -r); do
		if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# ---- what is missing ----------------------------------------------------
declare -A pkg_for=(
	[redis-server]=redis-server
	[redis-sentinel]=redis-sentinel
	[redis-cli]=redis-tools
	[memcached]=memcached
)
commands=(redis-server redis-sentinel redis-cli memcached)

declare -A was_missing=()
packages=()
for cmd in "${commands[@]}"; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		was_missing[$cmd]=1
		packages+=("${pkg_for[$cmd]}")
	fi
done
pg_missing=0
if ! find_pg_bin >/dev/null; then
	pg_missing=1
	packages+=(postgresql)
fi

# ---- install ------------------------------------------------------------
if [ "${#packages[@]}" -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 ||
		die "missing ${packages[*]} and there is no apt-get here to install them; install them by hand"
	log=$(mktemp "${TMPDIR:-/tmp}/test-deps-apt.XXXXXX")
	policy=/usr/sbin/policy-rc.d
	made_policy=0
	cleanup() {
		if [ "$made_policy" -eq 1 ]; then as_root rm -f "$policy"; fi
		rm -f "$log"
	}
	trap cleanup EXIT
	# Keep the packages' init scripts from starting system-wide servers.
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# written by scripts/test-deps.sh for the length of one install\nexit 101\n' |
			as_root tee "$policy" >/dev/null
		as_root chmod 755 "$policy"
		made_policy=1
	fi
	say apt "installing ${packages[*]} (apt-get update first)"
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get -o DPkg::Lock::Timeout=120 update -qq >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "apt-get update failed (output above); cannot install ${packages[*]}"
	fi
	if ! as_root apt-get -o DPkg::Lock::Timeout=120 install -y -qq --no-install-recommends \
		"${packages[@]}" >"$log" 2>&1; then
		tail -n 20 "$log" >&2
		die "apt-get install ${packages[*]} failed (output above)"
	fi
fi

# ---- report, one line per dependency -----------------------------------
for cmd in "${commands[@]}"; do
	if ! path=$(command -v "$cmd" 2>/dev/null); then
		die "$cmd still not found after installing ${pkg_for[$cmd]}"
	fi
	if [ -n "${was_missing[$cmd]:-}" ]; then
		say "$cmd" "installed (package ${pkg_for[$cmd]}): $path"
	else
		say "$cmd" "found: $path"
	fi
done

if ! pg_bin=$(find_pg_bin); then
	die "PostgreSQL server binaries (postgres, initdb) not found on PATH nor in /usr/lib/postgresql/*/bin"
fi
pg_version=$("$pg_bin/postgres" --version 2>/dev/null || echo "unknown version")
for b in postgres initdb pg_ctl psql; do
	[ -x "$pg_bin/$b" ] || die "PostgreSQL's $b is missing from $pg_bin"
done
if [ "$pg_missing" -eq 1 ]; then
	say postgresql "installed (package postgresql): $pg_bin ($pg_version)"
else
	say postgresql "found: $pg_bin ($pg_version)"
fi

if [ "$(id -u)" -eq 0 ]; then
	if id postgres >/dev/null 2>&1; then
		say postgres-user "found: uid $(id -u postgres)"
	else
		useradd --system --user-group --no-create-home \
			--home-dir /var/lib/postgresql --shell /bin/bash postgres ||
			die "could not create the OS user postgres (PostgreSQL refuses to run as root)"
		say postgres-user "created: uid $(id -u postgres)"
	fi
else
	say postgres-user "not needed: running as $(id -un), PostgreSQL runs as this user"
fi
