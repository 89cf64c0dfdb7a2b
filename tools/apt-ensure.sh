# shellcheck shell=sh
# Sourced by tools/install-deps.sh and tools/pkg-deps.sh (not run by itself).
# apt_ensure NAME PKG...: installs, with apt-get, those of the Debian packages
# not installed yet; idempotent. NAME prefixes the messages. Root only.
apt_ensure() {
    name=$1
    shift
    if [ "$(id -u)" -ne 0 ]; then
        echo "$name: must run as root (apt-get)" >&2
        exit 1
    fi
    missing=""
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing="$missing $p"
        fi
    done
    if [ -n "$missing" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        # shellcheck disable=SC2086
        apt-get install -y -q --no-install-recommends $missing
    fi
}
