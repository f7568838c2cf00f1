#!/bin/bash
# Restores a backup made by deploy/backup.sh onto a new, empty site.
#
#   deploy/restore.sh BACKUP_ROOT/<UTC time>
#
# ENV_FILE (default /etc/securestamp/env) describes the new site: an empty
# database (create it first, e.g. createdb -O securestamp securestamp), the
# bucket prefix or UPLOAD_FOLDER to fill, and a DATA_DIR without keys. Its
# SECRET_KEY may be the old one (from the backup's env file: sessions and
# API tokens go on working) or a new one (everyone signs in again).
# Stop every server of the site before restoring; start them afterwards.
#
# Needs: bash, rclone, and pg_restore and psql (PostgreSQL) or sqlite3.
# RUN_AS=securestamp runs the securestamp commands as that user.
set -euo pipefail

dir=${1:?usage: restore.sh BACKUP_ROOT/TIME}
dir=${dir%/}
root=$(dirname "$dir")
env_file=${ENV_FILE:-/etc/securestamp/env}
securestamp=${SECURESTAMP:-securestamp}

(cd "$dir" && sha256sum --quiet --check SHA256SUMS)

# shellcheck source=deploy/site.sh
. "$(dirname "${BASH_SOURCE[0]}")/site.sh"

if [[ -e $DATA_DIR/keys ]]; then
    echo "restore.sh: $DATA_DIR/keys exists: this is not a new site" >&2
    exit 1
fi

# 1. The database, into an empty one.
case ${DATABASE_URL:-sqlite:} in
    postgres://* | postgresql://*)
        tables=$(psql "$DATABASE_URL" -Atc "select count(*) from pg_tables where schemaname = 'public'")
        if [[ $tables != 0 ]]; then
            echo "restore.sh: the database in DATABASE_URL is not empty" >&2
            exit 1
        fi
        pg_restore --no-owner --no-privileges --exit-on-error \
            --dbname="$DATABASE_URL" "$dir/database.pgdump"
        blobs() { psql "$DATABASE_URL" -Atc "select sha256 from blobs"; }
        ;;
    sqlite:*)
        db=$(sqlite_path)
        if [[ -e $db ]]; then
            echo "restore.sh: $db exists" >&2
            exit 1
        fi
        install -d -m 0700 "$(dirname "$db")"
        cp "$dir/database.sqlite3" "$db"
        [[ -z ${RUN_AS:-} ]] || chown "$RUN_AS:" "$(dirname "$db")" "$db"
        blobs() { sqlite3 "$db" "select sha256 from blobs"; }
        ;;
    *)
        echo "restore.sh: restore this database yourself" >&2
        exit 1
        ;;
esac

# 2. The contents.
rclone copy --immutable --size-only --transfers 8 "$root/objects" "$contents"
if [[ -z ${STORAGE_URL:-} && -n ${RUN_AS:-} ]]; then
    chown -R "$RUN_AS:" "$UPLOAD_FOLDER"
fi

# 3. The signing keys.
install -d -m 0700 "$DATA_DIR"
[[ -z ${RUN_AS:-} ]] || chown "$RUN_AS:" "$DATA_DIR"
run "$securestamp" keys import - < "$dir/keys.tar"

# 4. Every content the database names must be there.
present=$(mktemp)
trap 'rm -f "$present"' EXIT
rclone lsf --recursive --files-only "$contents" | sed 's|.*/||' | sort > "$present"
missing=$(blobs | sort | comm -23 - "$present")
if [[ -n $missing ]]; then
    echo "restore.sh: contents missing from the backup:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "restored $dir: $(wc -l < "$present") contents; the old env file is $dir/env"
