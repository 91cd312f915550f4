#!/usr/bin/env bash
# Installs what the local platform needs from the distribution's packages: PostgreSQL (the
# distribution's default major version, or $PG_MAJOR), pg_cron, pgvector, pgTAP, pg_prove and PgBouncer,
# plus the local pg_net stand-in extension (platform/extensions). Where no suitable pgvector
# binary package exists, it is built from Debian's trixie source package against the server's
# own pg_config. Needs root or sudo only to install packages and extension files. Idempotent:
# does nothing when everything is present.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=platform/pg-env.sh
source "$HERE/pg-env.sh"

die() { echo "install-packages: $*" >&2; exit 1; }

sudo_() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root (or sudo) to run: $*"; fi; }

command -v apt-get >/dev/null || die "apt-get not found: the local platform installs PostgreSQL from Debian or Ubuntu packages"
PG_MAJOR=$(pg_detect_major)
if [[ -z $PG_MAJOR ]]; then
  sudo_ apt-get update -q >/tmp/soulprint-apt.log 2>&1 || { tail -n 20 /tmp/soulprint-apt.log >&2; die "apt-get update failed (log: /tmp/soulprint-apt.log)"; }
  PG_MAJOR=$(pg_detect_major)
fi
[[ -n $PG_MAJOR ]] || die "no PostgreSQL package in the apt sources (apt-cache depends postgresql names none); set PG_MAJOR"
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "install-packages: apt-get install ${missing[*]}"
  if ! sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/soulprint-apt.log 2>&1; then
    sudo_ apt-get update -q >>/tmp/soulprint-apt.log 2>&1 || true
    sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/soulprint-apt.log 2>&1 \
      || { tail -n 20 /tmp/soulprint-apt.log >&2; die "could not install Debian packages: ${missing[*]} (log: /tmp/soulprint-apt.log)"; }
  fi
}

ext_dir() { if [[ -x $PG_CONFIG ]]; then "$PG_CONFIG" --sharedir; else echo "/usr/share/postgresql/$PG_MAJOR"; fi; }
have_ext() { [[ -f "$(ext_dir)/extension/$1.control" ]]; }
ext_version() { sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$(ext_dir)/extension/$1.control"; }

# Builds an extension from Debian trixie's source package (deb-src only; no binaries are pulled
# from trixie). $1 = source package, $2 = version prefix wanted.
build_from_source() {
  local src=$1 want=$2 list=/etc/apt/sources.list.d/soulprint-trixie-src.sources
  apt_install dpkg-dev build-essential "postgresql-server-dev-$PG_MAJOR"
  if [[ ! -f $list ]]; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' | sudo_ tee "$list" >/dev/null
    sudo_ apt-get update -q >/tmp/soulprint-apt.log 2>&1 || { tail -n 20 /tmp/soulprint-apt.log >&2; die "apt-get update failed (needed for the $src source package)"; }
  fi
  local work; work=$(mktemp -d)
  echo "install-packages: building $src $want from Debian source"
  ( cd "$work" && apt-get source -q --download-only "$src" >/tmp/soulprint-src.log 2>&1 && dpkg-source -x ./*.dsc build >>/tmp/soulprint-src.log 2>&1 ) \
    || { tail -n 20 /tmp/soulprint-src.log >&2; die "could not fetch Debian source package $src"; }
  ( cd "$work/build" && make -s PG_CONFIG="$PG_CONFIG" >/tmp/soulprint-build.log 2>&1 && sudo_ make -s PG_CONFIG="$PG_CONFIG" install >>/tmp/soulprint-build.log 2>&1 ) \
    || { tail -n 30 /tmp/soulprint-build.log >&2; die "building $src failed (log: /tmp/soulprint-build.log)"; }
  rm -rf "$work"
}

apt_install curl iproute2 "postgresql-$PG_MAJOR" "postgresql-client-$PG_MAJOR" "postgresql-$PG_MAJOR-pgtap" libtap-parser-sourcehandler-pgtap-perl
apt_install "postgresql-$PG_MAJOR-cron"
# The transaction pooler functions connect through (platform.sh start_pooler).
apt_install pgbouncer

if ! have_ext vector; then
  if apt-cache show "postgresql-$PG_MAJOR-pgvector" >/dev/null 2>&1; then apt_install "postgresql-$PG_MAJOR-pgvector"
  else build_from_source pgvector 0.8; fi
fi

# The pg_net stand-in, as a real extension so the migrations' `create extension pg_net` runs
# unchanged. Never replaces a pg_net that is not ours.
install_standin_ext() {
  local name=$1 dir; dir=$(ext_dir)/extension
  if [[ -f $dir/$name.control ]] && ! grep -q 'SoulPrint local' "$dir/$name.control"; then
    die "$dir/$name.control is not the SoulPrint stand-in; remove that $name package to use the local platform"
  fi
  local f changed=0
  for f in "$HERE/extensions/$name.control" "$HERE/extensions/$name"--*.sql; do
    cmp -s "$f" "$dir/$(basename "$f")" || changed=1
  done
  [[ $changed -eq 0 ]] && return 0
  echo "install-packages: installing the $name stand-in extension into $dir"
  sudo_ install -m 644 "$HERE/extensions/$name.control" "$HERE/extensions/$name"--*.sql "$dir/" \
    || die "could not install the $name stand-in into $dir"
}
install_standin_ext pg_net

have_ext vector || die "pgvector is not installed for PostgreSQL $PG_MAJOR"
have_ext pg_cron || die "pg_cron is not installed for PostgreSQL $PG_MAJOR"
have_ext pgtap || die "pgTAP is not installed for PostgreSQL $PG_MAJOR"
command -v pgbouncer >/dev/null || die "pgbouncer is not installed"
have_ext pg_net || die "the pg_net stand-in is not installed for PostgreSQL $PG_MAJOR"
echo "install-packages: PostgreSQL $PG_MAJOR with pg_cron $(ext_version pg_cron), vector $(ext_version vector), pgtap $(ext_version pgtap), pg_net $(ext_version pg_net) (stand-in)"
