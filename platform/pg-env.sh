# Sourced by platform.sh, install-packages.sh and check-migrations.sh: which PostgreSQL major
# version the local platform uses, and where a cluster's files go. No side effects.

# The major version: an existing cluster keeps its own (PG_VERSION); then $PG_MAJOR if set; then
# the distribution's default (its `postgresql` package depends on postgresql-NN), so Debian and
# Ubuntu releases each get the version they package; then the newest one already installed.
# Prints nothing when none can be found (no apt lists yet: apt-get update first).
pg_detect_major() {
  local pgdata=${1:-} v="" d
  if [[ -n $pgdata && -f $pgdata/PG_VERSION ]]; then cat "$pgdata/PG_VERSION"; return; fi
  if [[ -n ${PG_MAJOR:-} ]]; then echo "$PG_MAJOR"; return; fi
  v=$(apt-cache depends postgresql 2>/dev/null | sed -n 's/^ *Depends: postgresql-\([0-9][0-9]*\)$/\1/p' | sort -n | tail -n1)
  if [[ -z $v ]]; then
    for d in /usr/lib/postgresql/*/bin/pg_ctl; do [[ -x $d ]] && v=$(basename "$(dirname "$(dirname "$d")")"); done
  fi
  echo "$v"
}

# Where the PostgreSQL-owned files of the checkout at $1 live (data directory, socket, server
# log). As root the cluster runs as the `postgres` system user, which cannot enter a checkout
# under a private home (/root is mode 700): those clusters go under /var/lib/soulprint, one per
# checkout (named by a hash of its path). Otherwise, and for clusters already made there, they
# stay in the checkout's .platform directory.
pg_cluster_home() {
  local root=$1
  if [[ $(id -u) -ne 0 || -f $root/.platform/pgdata/PG_VERSION ]] || runuser -u postgres -- test -x "$root" 2>/dev/null; then
    echo "$root/.platform"
  else
    echo "/var/lib/soulprint/$(printf '%s' "$root" | sha256sum | cut -c1-16)"
  fi
}
