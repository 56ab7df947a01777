#!/bin/sh
# Install the Debian 12 packages lrokit needs to build and test, only those
# missing. Idempotent: with everything present it installs nothing and needs
# no root.
set -eu
PKGS="build-essential clang pkg-config libpcap-dev libsqlite3-dev sqlite3 libssl-dev gnuplot-nox
libxen-dev tcpdump tshark tcptrace iproute2 nftables ethtool iperf3 libfuzzer-14-dev
libclang-rt-14-dev perl chromium procps psmisc time util-linux python3"
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && { echo "deps: all packages present"; exit 0; }
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run as root: apt-get install$missing" >&2
	exit 3
fi
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
