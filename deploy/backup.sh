#!/bin/bash
# Backs up a SecureStamp site: the database, the file contents and the
# signing keys.
#
#   deploy/backup.sh BACKUP_ROOT
#
# Reads the server's configuration from ENV_FILE (default
# /etc/securestamp/env). Writes
#   BACKUP_ROOT/objects/               the contents, added to on every run
#   BACKUP_ROOT/<UTC time>/database.*  the database dump
#   BACKUP_ROOT/<UTC time>/keys.tar    the signing keys (secret!)
#   BACKUP_ROOT/<UTC time>/env         the configuration (secret!)
#   BACKUP_ROOT/<UTC time>/SHA256SUMS
# Contents are named by their SHA-256 and never change, so objects/ is only
# ever added to, and each dump finds every content it names there.
#
# Needs: bash, rclone, and pg_dump (PostgreSQL) or sqlite3 (SQLite).
# RUN_AS=securestamp runs the securestamp commands as that user.
# SECURESTAMP=/path/to/securestamp if it is not on PATH.
set -euo pipefail

root=${1:?usage: backup.sh BACKUP_ROOT}
env_file=${ENV_FILE:-/etc/securestamp/env}
securestamp=${SECURESTAMP:-securestamp}

# shellcheck source=deploy/site.sh
. "$(dirname "${BASH_SOURCE[0]}")/site.sh"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
dir=$root/$stamp
umask 077
mkdir -p "$root/objects"
mkdir "$dir"

# 1. The database, first: every content it names is then already stored.
case ${DATABASE_URL:-sqlite:} in
    postgres://* | postgresql://*)
        pg_dump --format=custom --no-owner --file="$dir/database.pgdump" "${DATABASE_URL}"
        ;;
    sqlite:*)
        sqlite3 "$(sqlite_path)" ".backup '$dir/database.sqlite3'"
        ;;
    *)
        echo "backup.sh: dump this database yourself (mysqldump --single-transaction)" >&2
        exit 1
        ;;
esac

# 2. The contents. --immutable: a content never changes under its name.
rclone copy --immutable --size-only --transfers 8 "$contents" "$root/objects"

# 3. The signing keys, and the configuration with SECRET_KEY.
run "$securestamp" keys export - > "$dir/keys.tar"
cp "$env_file" "$dir/env"

(cd "$dir" && sha256sum -- * > SHA256SUMS)
echo "backed up to $dir (contents in $root/objects)"
