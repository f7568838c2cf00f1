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

set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
if [[ -z ${KEY_PASSPHRASE_FILE:-} && -r /etc/securestamp/key-passphrase ]]; then
    export KEY_PASSPHRASE_FILE=/etc/securestamp/key-passphrase
fi
DATA_DIR=${DATA_DIR:-data}
UPLOAD_FOLDER=${UPLOAD_FOLDER:-uploads}

run() {
    if [[ -n ${RUN_AS:-} ]]; then runuser -u "$RUN_AS" -- "$@"; else "$@"; fi
}

s3_remote() {
    export RCLONE_CONFIG_STORE_TYPE=s3
    export RCLONE_CONFIG_STORE_ENV_AUTH=false
    export RCLONE_CONFIG_STORE_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-}
    export RCLONE_CONFIG_STORE_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-}
    export RCLONE_CONFIG_STORE_SESSION_TOKEN=${AWS_SESSION_TOKEN:-}
    export RCLONE_CONFIG_STORE_REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
    local endpoint=${AWS_ENDPOINT_URL_S3:-${AWS_ENDPOINT_URL:-}}
    if [[ -n $endpoint ]]; then
        export RCLONE_CONFIG_STORE_PROVIDER=Other
        export RCLONE_CONFIG_STORE_ENDPOINT=$endpoint
        export RCLONE_CONFIG_STORE_FORCE_PATH_STYLE=true
    else
        export RCLONE_CONFIG_STORE_PROVIDER=AWS
    fi
    export RCLONE_CONFIG_STORE_NO_CHECK_BUCKET=true
    # rclone takes a CA bundle as its own option, and fails on the AWS one.
    if [[ -n ${AWS_CA_BUNDLE:-} ]]; then
        export RCLONE_CA_CERT=$AWS_CA_BUNDLE
        unset AWS_CA_BUNDLE
    fi
}

# Where the contents are: an rclone path to the objects/ folder.
if [[ -n ${STORAGE_URL:-} ]]; then
    s3_remote
    bucket_prefix=${STORAGE_URL#s3://}
    contents=store:${bucket_prefix%/}/objects
else
    contents=$UPLOAD_FOLDER/objects
fi

sqlite_path() {
    local url=${DATABASE_URL:-}
    if [[ -z $url ]]; then echo "$DATA_DIR/securestamp.sqlite3"; return; fi
    url=${url#sqlite:}
    if [[ $url == ///* ]]; then url=${url#///}
    elif [[ $url == //* ]]; then url=${url#//}
    fi
    echo "${url%%\?*}"
}

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
