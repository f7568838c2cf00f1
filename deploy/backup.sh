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

# The rclone remote "store:" is the bucket, configured from the same
# variables as the server.
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

# The SQLite file DATABASE_URL names (the default when it is unset).
sqlite_path() {
    local url=${DATABASE_URL:-}
    if [[ -z $url ]]; then echo "$DATA_DIR/securestamp.sqlite3"; return; fi
    url=${url#sqlite:}
    if [[ $url == ///* ]]; then url=${url#///}
    elif [[ $url == //* ]]; then url=${url#//}
    fi
    echo "${url%%\?*}"
}

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
