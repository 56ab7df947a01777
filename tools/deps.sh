#!/bin/sh
# Install the Debian 12 packages lrokit needs, only those missing.
#
#   tools/deps.sh [all]   everything to build and test (make check, make deps):
#                         compilers, fuzzing, tshark/tcptrace/chromium for tests
#   tools/deps.sh bench   only what `make bench` needs: building lrokit and
#                         running the testbed, collectors and report
#
# Idempotent: with everything present it installs nothing and needs no root.
set -eu
mode=${1:-all}
# build lrokit (pkg-config finds libpcap, sqlite3, libgcrypt, xenstat, and
# zlib/libzstd/liblzma to read compressed captures, liburing for the stages'
# batched I/O), run the testbed (ip, tc,
# ethtool), draw the report (gnuplot with cairo terminals)
BENCH="build-essential pkg-config libpcap-dev libsqlite3-dev libgcrypt20-dev libxen-dev
zlib1g-dev libzstd-dev liblzma-dev liburing-dev gnuplot-nox iproute2 ethtool procps zstd"
# tests, fuzzing, peer tools compared against, the report's browser check;
# zstd and xz-utils compress the test captures, wireshark-common has mergecap
# and editcap; openssh-server and -client for the bench --hosts test (tests/t-hosts-ssh.sh)
TEST="clang sqlite3 tcpdump tshark wireshark-common tcptrace nftables iperf3
libfuzzer-14-dev libclang-rt-14-dev perl chromium psmisc time util-linux python3
openssh-server openssh-client
gzip zstd xz-utils"
case "$mode" in
all) PKGS="$BENCH $TEST" ;;
bench) PKGS="$BENCH" ;;
*) echo "deps: unknown set '$mode' (all, bench)" >&2; exit 2 ;;
esac
missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && { echo "deps ($mode): all packages present"; exit 0; }
echo "deps ($mode): installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages and not root; run as root: apt-get install$missing" >&2
	exit 3
fi
command -v apt-get >/dev/null || { echo "deps: apt-get not found (Debian 12 expected); install:$missing" >&2; exit 3; }
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
