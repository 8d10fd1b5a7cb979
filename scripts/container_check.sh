#!/usr/bin/env bash
# What can be checked of the container without Docker: the Dockerfile's
# build stage — its COPY lines and its RUN command — on a copy holding only
# what that stage copies (so a file the build needs but the Dockerfile
# forgets fails here), then `shardgate check` of the rule file the image
# ships. The docker.toml / prometheus.yml / compose consistency and the
# HEALTHCHECK command are tested by tests/ops_container.rs.
#
#   scripts/container_check.sh
#
# The RUN command is run as written except for --release, which is dropped
# (a debug build, sharing target/ with the other builds) unless
# CONTAINER_CHECK_RELEASE=1.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(repo_root)"
ensure_rust

ROOT=$PWD
CONTEXT=$(mktemp -d "${TMPDIR:-/tmp}/shardgate-container.XXXXXX")
TRACKED_DIRS+=("$CONTEXT")
cleanup_on_exit

# The build stage: from the first FROM to the next one.
stage=$(awk '/^FROM /{n++} n==1' Dockerfile)
[[ -n $stage ]] || die "Dockerfile: no build stage"

# COPY SRC.. DEST (relative to WORKDIR /src): copied into the context.
while read -r _ args; do
  read -ra parts <<<"$args"
  dest=${parts[-1]}
  unset 'parts[-1]'
  for src in "${parts[@]}"; do
    [[ -e $src ]] || die "Dockerfile copies $src, which does not exist"
    if [[ $dest == */ || ${#parts[@]} -gt 1 ]]; then
      mkdir -p "$CONTEXT/$dest"
      cp -R "$src" "$CONTEXT/$dest/"
    else
      mkdir -p "$(dirname "$CONTEXT/$dest")"
      cp -R "$src" "$CONTEXT/$dest"
    fi
  done
done < <(grep -E '^COPY ' <<<"$stage" | grep -v -- '--from')

mapfile -t runs < <(grep -E '^RUN cargo ' <<<"$stage" | sed 's/^RUN //')
((${#runs[@]} == 1)) || die "Dockerfile: expected one RUN cargo line in the build stage"
cmd=${runs[0]}
profile=release
if [[ ${CONTAINER_CHECK_RELEASE:-0} != 1 ]]; then
  cmd=${cmd/ --release/}
  profile=debug
fi
log "build stage in $CONTEXT: $cmd"
(cd "$CONTEXT" && CARGO_TARGET_DIR=$ROOT/target bash -c "$cmd")

log "the image's rule file: shardgate check config/docker.toml"
"$ROOT/target/$profile/shardgate" --config config/docker.toml check
log "container checks passed"
