# Sourced by the benches that run the `engine` bench (bench-trees.sh, bench-cnn-zoo.sh,
# bench-cnn-layers.sh): builds it as the shipped binary is built (static, for
# x86_64-unknown-linux-gnu) and sets $engine to its path. Fails, with cargo's own messages, when the build fails.
engine_json=$(RUSTFLAGS="-C target-feature=+crt-static" cargo bench --locked --target x86_64-unknown-linux-gnu \
  --bench engine --no-run --message-format=json)
engine=$(python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "engine" and m.get("executable"):
        print(m["executable"])' <<<"$engine_json")
if [ -z "$engine" ]; then
  echo "the engine bench was not built" >&2
  exit 1
fi
