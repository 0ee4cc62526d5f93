#!/usr/bin/env bash
# Builds (or finds cached) the Rust-enabled test kernel.
#
#   scripts/build-kernel.sh [base|debug]   -> prints the build directory (KDIR)
#   scripts/build-kernel.sh --built [base|debug]
#                                         -> prints it only if already built
#                                            (exit 1 otherwise); never builds
#
# Source: Debian's linux-source-$LINUX_SERIES (scripts/versions.env), unpacked
# once under $IPRP_CACHE. Each
# variant builds out of tree (O=) in a directory keyed by a hash of the
# config fragments, the source package version and the compilers, so a warm
# run only checks a stamp file and rebuilds nothing.
set -euo pipefail

BUILT_ONLY=0
if [ "${1:-}" = --built ]; then BUILT_ONLY=1; shift; fi
VARIANT=${1:-base}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${IPRP_CACHE:-/var/cache/iprp}
CFG_DIR=$HERE/vm-tests/kernel
LLVM=${LLVM:--19}
JOBS=${JOBS:-$(nproc)}

log() { printf '[kernel] %s\n' "$*" >&2; }

# shellcheck source=versions.env
. "$HERE/scripts/versions.env"
src_ver=$(dpkg-query -W -f='${Version}' "linux-source-$LINUX_SERIES")
fragments=("$CFG_DIR/base.config")
[ "$VARIANT" = debug ] && fragments+=("$CFG_DIR/debug.config")
case "$VARIANT" in base|debug) ;; *) echo "unknown variant $VARIANT" >&2; exit 2;; esac

key=$( {
	echo "$src_ver"
	cat "${fragments[@]}"
	rustc --version
	"clang$LLVM" --version | head -1
	bindgen --version
	} | sha256sum | cut -c1-16)
SRC=$CACHE/linux-source-$LINUX_SERIES
OUT=$CACHE/build-$VARIANT-$key
STAMP=$OUT/.iprp-built

if [ "$BUILT_ONLY" = 1 ]; then
	[ -f "$STAMP" ] && [ -f "$OUT/arch/x86/boot/bzImage" ] || exit 1
	echo "$OUT"
	exit 0
fi

# One build per directory at a time: a second caller (another make target
# started meanwhile) waits here and then finds the stamp, instead of
# building into the same directory at once and corrupting both builds.
mkdir -p "$CACHE"
exec 9>"$CACHE/.build-$VARIANT-$key.lock"
if ! flock -n 9; then
	log "another build of $OUT is running; waiting for it"
	flock 9
fi

if [ -f "$STAMP" ] && [ -f "$OUT/arch/x86/boot/bzImage" ]; then
	log "cached: $OUT"
	echo "$OUT"
	exit 0
fi

mkdir -p "$CACHE"
if [ ! -f "$SRC/.iprp-unpacked-$src_ver" ]; then
	log "unpacking linux-source-$LINUX_SERIES $src_ver"
	rm -rf "$SRC"
	tar -C "$CACHE" -xf "/usr/src/linux-source-$LINUX_SERIES.tar.xz"
	touch "$SRC/.iprp-unpacked-$src_ver"
fi

mkdir -p "$OUT"
mk() { make -C "$SRC" O="$OUT" LLVM="$LLVM" "$@"; }

t0=$(date +%s)
mk -s rustavailable >&2
mk -s tinyconfig >&2
# tinyconfig alone is 32-bit on x86_64 and has no /proc, printk, futex...:
# the fragment turns all of that back on.
"$SRC/scripts/kconfig/merge_config.sh" -m -O "$OUT" "$OUT/.config" \
	"$SRC/kernel/configs/kvm_guest.config" "${fragments[@]}" >&2
mk -s olddefconfig >&2

# Every symbol of our fragments must have kept its value.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*) ;; *) continue;; esac
	sym=${line%%=*}; val=${line#*=}
	if [ "$val" = n ]; then
		grep -q "^$sym=" "$OUT/.config" && { log "config: $sym wanted n, got $(grep "^$sym=" "$OUT/.config")"; bad=1; }
	else
		grep -qx "$line" "$OUT/.config" || { log "config: $line not kept ($(grep "^$sym=" "$OUT/.config" || echo unset))"; bad=1; }
	fi
done < <(cat "${fragments[@]}")
[ "$bad" = 0 ] || { log "config fragment not applied; fix vm-tests/kernel/*.config"; exit 1; }

log "building $VARIANT kernel in $OUT (-j$JOBS)"
mk -j"$JOBS" bzImage modules >&2
touch "$STAMP"
log "built in $(( $(date +%s) - t0 )) s"
echo "$OUT"
