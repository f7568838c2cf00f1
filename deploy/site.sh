#!/bin/bash
# What deploy/backup.sh and deploy/restore.sh share: the site's
# configuration read from ENV_FILE, and where its database and contents are.
# Sourced, not run; expects env_file to be set.
# shellcheck shell=bash disable=SC2154,SC2034
# (env_file comes from the script that sources this; contents is used there.)

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
