# SPDX-License-Identifier: GPL-2.0
"""Loads include/uapi/linux/iprp.yaml with the kernel's YNL library, which
validates it against the schema (Documentation/netlink/<protocol>.yaml),
and prints every constant the spec defines as "GROUP C_NAME VALUE" lines,
GROUP being the C enum (iprp_attr, iprp_cmd, ...) or "define".

usage: ynl_spec.py LINUX_SRC SPEC
"""
import sys

linux, spec_path = sys.argv[1], sys.argv[2]
sys.path.insert(0, f"{linux}/tools/net/ynl/pyynl")
from lib.nlspec import SpecFamily  # noqa: E402
import yaml  # noqa: E402

raw = yaml.safe_load(open(spec_path, encoding="utf-8"))
schema = f"{linux}/Documentation/netlink/{raw.get('protocol', 'genetlink')}.yaml"
try:
    fam = SpecFamily(spec_path, schema)
except Exception as e:  # jsonschema.ValidationError, SpecException
    where = "/".join(str(p) for p in getattr(e, "absolute_path", []))
    sys.exit(f"{spec_path}: invalid against {schema}: "
             f"{getattr(e, 'message', e)} (at /{where})")


def c(prefix, name):
    return (prefix + name).upper().replace("-", "_")


def out(group, name, value):
    print(group, name, value)


family = fam.name.replace("-", "_")
out("define", c("", raw["c-family-name"]), '"' + fam.name + '"')
for d in raw.get("definitions", []):
    if d["type"] == "const":
        out("define", c(family + "-", d["name"]), d["value"])
        continue
    e = fam.consts[d["name"]]
    group = d.get("enum-name") or f"{family}_{d['name'].replace('-', '_')}"
    prefix = d.get("name-prefix", f"{family}-{d['name']}-")
    for entry in e.entries.values():
        out(group, c(prefix, entry.name), entry.user_value())

for name, aset in fam.attr_sets.items():
    if "subset-of" in aset.yaml:
        continue
    group = aset.yaml.get("enum-name") or f"{family}_{name.replace('-', '_')}"
    prefix = aset.yaml.get("name-prefix", f"{family}-{name}-a-")
    for attr in aset.attrs.values():
        out(group, c(prefix, attr.name), attr.value)

ops = raw["operations"]
group = ops.get("enum-name") or f"{family}_cmd"
prefix = ops.get("name-prefix", f"{family}-cmd-")
for name, op in fam.msgs.items():
    out(group, c(prefix, name), op.req_value)

# Completeness: every attribute of the main set is carried by some
# operation (request or reply, or a notification) or by a nest (subset)
# of it.
used = set()
for op in raw["operations"]["list"]:
    for kind in ("do", "dump"):
        for part in ("request", "reply"):
            used.update(op.get(kind, {}).get(part, {}).get("attributes", []))
    used.update(op.get("event", {}).get("attributes", []))
for aset in raw["attribute-sets"]:
    if "subset-of" in aset:
        used.update(a["name"] for a in aset["attributes"])
main = fam.attr_sets[family]
for attr in main.attrs.values():
    if attr.type not in ("unused", "pad") and attr.name not in used:
        print("unused-attr", attr.name, "-")
print("ok")
