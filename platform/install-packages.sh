#!/usr/bin/env bash
# Installs the Debian packages the local platform needs: PostgreSQL (15 on Debian 12, 17 on
# Debian 13), pg_cron, pgvector, pgTAP, pg_prove and PgBouncer. Where Debian
# ships no suitable binary package, the extension is built from Debian's trixie source package
# against the server's own pg_config. Idempotent: does nothing when everything is present.
set -euo pipefail

die() { echo "install-packages: $*" >&2; exit 1; }

major_for_debian() {
  local v; v=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo "")
  case "$v" in
    12) echo 15 ;;
    13) echo 17 ;;
    *) if [[ "$(cat /etc/debian_version 2>/dev/null)" == trixie* ]]; then echo 17; else
         die "unsupported OS: /etc/debian_version is '$(cat /etc/debian_version 2>/dev/null)'; Debian 12 or 13 is required"; fi ;;
  esac
}

PG_MAJOR=${PG_MAJOR:-$(major_for_debian)}
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
[[ -x $PG_CONFIG ]] || PG_CONFIG=/usr/bin/pg_config

sudo_() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root (or sudo) to run: $*"; fi; }

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

ext_dir() { "$PG_CONFIG" --sharedir; }
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

have_ext vector || die "pgvector is not installed for PostgreSQL $PG_MAJOR"
have_ext pg_cron || die "pg_cron is not installed for PostgreSQL $PG_MAJOR"
have_ext pgtap || die "pgTAP is not installed for PostgreSQL $PG_MAJOR"
command -v pgbouncer >/dev/null || die "pgbouncer is not installed"
echo "install-packages: PostgreSQL $PG_MAJOR with pg_cron $(ext_version pg_cron), vector $(ext_version vector), pgtap $(ext_version pgtap)"
