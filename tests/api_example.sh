#!/bin/sh
# Extracts the embedding example from docs/api.md, compiles it against
# build/libcortex.a and runs it on a small model converted from a golden file.
set -eu
B=${B:-build}
mkdir -p "$B/api"
awk '/^```c$/{on=1; next} /^```$/{if(on) exit} on' docs/api.md > "$B/api/example.c"
[ -s "$B/api/example.c" ] || { echo "api example: no \`\`\`c block in docs/api.md"; exit 1; }
${CC:-gcc} -std=c11 -Wall -Wextra -Werror -Iinclude "$B/api/example.c" "$B/libcortex.a" -o "$B/api/example" -lpthread -lm
"$B/cortex-convert" tests/data/golden/resnet18.pth --arch resnet18 -o "$B/api/model.ctx" --quiet
"$B/api/example" "$B/api/model.ctx" >"$B/api/out.txt"
n=$(grep -c '^thread [1-4]: logit' "$B/api/out.txt")
[ "$n" = 4 ] || { echo "api example: expected 4 threads' output, got:"; cat "$B/api/out.txt"; exit 1; }
echo "api example: 4 threads ran one shared model: ok"
