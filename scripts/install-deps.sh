#!/usr/bin/env bash
# Installs everything iprp needs on a Debian 12 machine: apt pins, kernel
# build tools, QEMU, test programs, Rust kernel prerequisites, virtme-ng.
# Idempotent: each step checks first, so a warm machine finishes in seconds.
set -euo pipefail

VENV=${IPRP_VENV:-/opt/iprp-venv}
# shellcheck source=versions.env
. "$(dirname "$0")/versions.env"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

log() { printf '[deps] %s\n' "$*"; }

APT_FILE=/etc/apt/sources.list.d/iprp-extra.sources
PIN_FILE=/etc/apt/preferences.d/iprp-pins

if [ ! -f "$APT_FILE" ] || [ ! -f "$PIN_FILE" ]; then
	log "adding bookworm-backports, trixie, trixie-backports, sid with pins"
	$SUDO tee "$APT_FILE" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports trixie trixie-backports sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	# Without these pins a plain install pulls sid's libc and systemd.
	$SUDO tee "$PIN_FILE" >/dev/null <<'PIN'
Package: *
Pin: release n=bookworm
Pin-Priority: 700

Package: *
Pin: release n=bookworm-backports
Pin-Priority: 650

Package: *
Pin: release n=trixie-backports
Pin-Priority: 60

Package: *
Pin: release n=trixie
Pin-Priority: 50

Package: *
Pin: release n=sid
Pin-Priority: 50
PIN
	rm -f /var/lib/iprp-apt-updated
fi

# Package lists are refreshed before an install when they are a day old or
# were never fetched with our sources (not on every run: a warm machine
# installs nothing and needs no network).
apt_update() {
	if [ -z "$(find /var/lib/iprp-apt-updated -mmin -1440 2>/dev/null)" ]; then
		log "apt-get update"
		$SUDO apt-get update -qq
		$SUDO touch /var/lib/iprp-apt-updated
	fi
}

BASE_PKGS="flex bison libelf-dev bc cpio busybox-static clang-19 lld-19 llvm-19
libclang-19-dev iperf3 socat tcpdump nftables ipvsadm python3 python3-venv
iputils-ping iproute2 udev curl make gcc kmod xz-utils python3-yaml
python3-jsonschema jq gnuplot-nox python3-prometheus-client keepalived"
missing=""
for p in $BASE_PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	apt_update
	log "installing:$missing"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

# bookworm's QEMU 7.2 conflicts with the installed qemu-utils 10.0.
if ! command -v qemu-system-x86_64 >/dev/null; then
	apt_update
	log "installing QEMU from bookworm-backports"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		-t bookworm-backports qemu-system-x86 qemu-system-common qemu-system-data seabios ipxe-qemu
fi

if [ ! -f "/usr/src/linux-source-$LINUX_SERIES.tar.xz" ]; then
	apt_update
	log "installing linux-source-$LINUX_SERIES from trixie-backports"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		-t trixie-backports "linux-source-$LINUX_SERIES"
fi

if ! command -v cargo >/dev/null; then
	echo "cargo/rustup not found: install Rust with rustup first" >&2
	exit 1
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
	log "rustup component add rust-src"
	rustup component add rust-src
fi
for c in rustfmt clippy; do
	rustup component list --installed 2>/dev/null | grep -q "^$c" || rustup component add "$c"
done
if [ "$(bindgen --version 2>/dev/null)" != "bindgen $BINDGEN_VERSION" ]; then
	log "cargo install bindgen-cli@$BINDGEN_VERSION"
	cargo install --locked "bindgen-cli@$BINDGEN_VERSION"
fi

# sed, not grep -q: grep would stop reading, and pip's broken pipe would
# fail the pipeline under pipefail, reinstalling on every run.
if [ "$("$VENV/bin/pip" show virtme-ng 2>/dev/null | sed -n 's/^Version: //p')" != "$VIRTME_NG_VERSION" ]; then
	log "virtme-ng $VIRTME_NG_VERSION into $VENV"
	[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "virtme-ng==$VIRTME_NG_VERSION"
fi
log "ok"
