# shellcheck shell=bash
# How virtme-ng mounts the guest's root, for vm-tests/run.sh and
# bench/run.sh: "${VNG_ROOT[@]}" goes on vng's command line.
#
# The guest's root is the host's, over 9p, read-only. virtme-ng mounts it
# uncached, so every exec, open and stat in the guest is a round trip to
# the host. Nothing writes to that root during a run (the guest writes to
# its --rwdir and its own tmpfs), so cache=loose lets the guest keep it in
# its page and dentry caches. Measured in one boot each (docs/pipeline.md):
# an exec of bash -c true took 0.92 s on the debug kernel and 0.42 s with
# the cache, iprpctl in a namespace 2.27 and 0.87 s. --force-9p keeps these
# flags meaningful where virtiofsd is installed (vng would use virtiofs).
VNG_ROOT=(--force-9p
	--append "rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose")
