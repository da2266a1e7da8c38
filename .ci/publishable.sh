# Sourced by the .ci scripts. `publishable FIELD [lib]` prints, one per line,
# FIELD (`name`, `manifest_path`, `version`, `rust_version`) of every
# workspace member that is published (whose manifest does not say
# `publish = false`); with `lib`, only those that have a library target.
# Found with `cargo metadata`, so a new crate is covered without editing a list.
publishable() {
    cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
field, only_libs = sys.argv[1], sys.argv[2:] == ["lib"]
meta = json.load(sys.stdin)
members = set(meta["workspace_members"])
for pkg in meta["packages"]:
    # publish is null (any registry) or a list of registries; [] is never.
    if pkg["id"] not in members or pkg.get("publish") == []:
        continue
    if only_libs and not any("lib" in t["kind"] for t in pkg["targets"]):
        continue
    print(pkg[field])
' "$@"
}
