#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Generates the netlink code of the "iprp" family from its YNL spec,
# include/uapi/linux/iprp.yaml (the contract), with the kernel's own
# generator (tools/net/ynl/pyynl/ynl_gen_c.py), as the kernel does for
# WireGuard or ovpn:
#
#   include/uapi/linux/iprp.h   --mode uapi     the UAPI header
#   src/netlink-gen.h           --mode kernel   declarations of the ops
#   src/netlink-gen.c           --mode kernel   policies and the ops table
#
# usage: scripts/ynl-gen.sh [--check] [LINUX_SRC]
#
# --check regenerates into a temporary directory and fails if any file in
# the tree differs (make ynl-check, run by make lint). LINUX_SRC defaults to
# the newest unpacked kernel source in $IPRP_CACHE (/var/cache/iprp).
#
# The generator finds the schema at <spec dir>/../../<protocol>.yaml and
# names the spec by its path below the nearest directory with a MAINTAINERS
# file, so it runs on a copy of the spec laid out that way; the output then
# names include/uapi/linux/iprp.yaml, as in this tree.
set -euo pipefail

cd "$(dirname "$0")/.."
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
IPRP_CACHE=${IPRP_CACHE:-/var/cache/iprp}
linux=${1:-${LINUX_SRC:-$(ls -d "$IPRP_CACHE"/linux-source-* 2>/dev/null | sort -V | tail -1)}}
gen=$linux/tools/net/ynl/pyynl/ynl_gen_c.py
[ -f "$gen" ] || { echo "ynl-gen: no $gen (unpack the kernel source: scripts/build-kernel.sh)" >&2; exit 1; }

# The generator needs PyYAML and jsonschema: the distribution's python3 has
# them (python3-yaml, python3-jsonschema); the project's venv does not.
py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import yaml, jsonschema' 2>/dev/null; then
		py=$p
		break
	fi
done
[ -n "$py" ] || { echo "ynl-gen: no python3 with PyYAML and jsonschema" >&2; exit 1; }

spec=include/uapi/linux/iprp.yaml
proto=$("$py" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1])).get("protocol", "genetlink"))' "$spec")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/root/include/uapi/linux" "$work/out"
touch "$work/root/MAINTAINERS"
cp "$spec" "$work/root/$spec"
ln -s "$linux/Documentation/netlink/$proto.yaml" "$work/root/include/uapi/$proto.yaml"

# name mode kind: one output file
run() {
	(cd "$work/root" && "$py" "$gen" --mode "$2" "--$3" --spec "$spec" -o "$work/out/$1")
	# The kernel's regeneration script does not apply to this tree.
	sed -i 's@To regenerate run: tools/net/ynl/ynl-regen.sh@To regenerate run: make ynl-gen@' \
		"$work/out/$1"
}
run iprp.h uapi header
run netlink-gen.h kernel header
run netlink-gen.c kernel source

status=0
for f in include/uapi/linux/iprp.h src/netlink-gen.h src/netlink-gen.c; do
	new=$work/out/$(basename "$f")
	if [ $check = 1 ]; then
		if ! cmp -s "$new" "$f"; then
			echo "ynl-check: $f differs from what $spec generates (run make ynl-gen):" >&2
			diff -u "$f" "$new" >&2 || true
			status=1
		fi
	elif ! cmp -s "$new" "$f"; then
		cp "$new" "$f"
		echo "  GEN     $f"
	fi
done
exit $status
