#!/bin/sh
# Before the first start, loads the site's signing keys from the archive
# made by `securestamp keys export` (a compose secret), so that every
# instance signs with the same keys. Then runs securestamp.
set -eu
archive=${KEYS_ARCHIVE:-/run/secrets/signing_keys}
if [ "${1:-serve}" = serve ] && [ ! -e "$DATA_DIR/keys" ] && [ -e "$archive" ]; then
    mkdir -p "$DATA_DIR"
    securestamp keys import "$archive"
fi
exec securestamp "$@"
