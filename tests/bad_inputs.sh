#!/bin/sh
# shellcheck disable=SC2046  # word splitting of byte lists is intended
# Bad-input test for the command-line tools (CONTRACT.md, "Exit codes and errors"):
# every corrupt, truncated or hostile file, and every bad command line, must end
# with exit 1 (2 for usage errors) and ONE stderr line
# "cortex: error: <file>: <what is wrong>" -- never a crash, a sanitizer or
# valgrind report, or a hang.
#
#   B=build sh tests/bad_inputs.sh            (from the repo root; make test runs it)
#   BAD_VALGRIND=1 B=build sh tests/bad_inputs.sh   every tool run under valgrind
#   B=build/asan sh tests/bad_inputs.sh       the ASan/UBSan build
#
# The hostile files are made here, in $B/bad/, from the committed good fixtures
# (tests/data/golden, npy, image, pth) with head/dd/printf/od only; the few that
# need PyTorch or a checksum are committed in tests/data/bad/ (made by
# tests/data/bad/make_bad.py, see there).
set -u
B=${B:-build}
D=$B/bad
G=tests/data/golden
PTH=$G/resnet18_ckpt.pth           # a small resnet18 checkpoint (dict with 'state_dict')
FIX=tests/data/bad

for t in cortex cortex-convert cortex-bench; do
    [ -x "$B/$t" ] || { echo "bad inputs: $B/$t is missing (build first)"; exit 1; }
done
rm -rf "$D" && mkdir -p "$D" || exit 1

WRAP=
TO=20
if [ "${BAD_VALGRIND:-0}" = 1 ]; then
    WRAP="valgrind -q --error-exitcode=99"
    TO=300
fi
# sanitizer builds: any report (memory error, leak, UB) exits 98
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=98}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export ASAN_OPTIONS UBSAN_OPTIONS

pass=0
fail=0

# t CASE WANT FILE CMD...
#   WANT: 0 = success (sanity checks of the fixtures)
#         1 = failure, one stderr line "cortex: error: " naming FILE (if FILE non-empty)
#         2 = usage error: exit 2, first stderr line "cortex: error: ..." (then the usage text)
#         01 = either success (exit 0) or a proper exit-1 failure as above (inputs that
#              may legitimately be accepted); never a crash or hang
t() {
    case_=$1 want=$2 file=$3
    shift 3
    # shellcheck disable=SC2086
    timeout "$TO" $WRAP "$@" >"$D/.out" 2>"$D/.err" </dev/null
    rc=$?
    why=
    lines=0
    first=
    while IFS= read -r l || [ -n "$l" ]; do      # builtins only: no fork per case
        [ "$lines" -eq 0 ] && first=$l
        lines=$((lines + 1))
    done <"$D/.err"
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then why="hang (timeout ${TO}s)"
    elif [ "$rc" -ge 128 ]; then why="crash (signal $((rc - 128)))"
    elif [ "$rc" -eq 99 ] && [ -n "$WRAP" ]; then why="valgrind error"
    elif [ "$rc" -eq 98 ]; then why="sanitizer report"
    elif [ "$want" = 0 ]; then [ "$rc" -eq 0 ] || why="exit $rc, want 0"
    elif [ "$want" = 01 ] && [ "$rc" -eq 0 ]; then why=
    elif [ "$want" = 2 ]; then
        if [ "$rc" -ne 2 ]; then why="exit $rc, want 2"
        else case $first in "cortex: error: "?*) ;; *) why="first stderr line is not 'cortex: error: ...'";; esac
        fi
    else
        if [ "$rc" -ne 1 ]; then why="exit $rc, want 1"
        elif [ "$lines" -ne 1 ]; then
            why="stderr has $lines lines, want exactly 1"
        else
            case $first in "cortex: error: "?*) ;; *) why="stderr line is not 'cortex: error: ...'";; esac
            if [ -z "$why" ] && [ -n "$file" ]; then
                case $first in "cortex: error: "*"$file"*) ;; *) why="stderr line does not name '$file'";; esac
            fi
        fi
    fi
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        echo "ok   $case_"
    else
        fail=$((fail + 1))
        echo "FAIL $case_: $why: rc=$rc, stderr=$(head -c 600 "$D/.err" | tr '\n' '|')"
    fi
}

size() { wc -c <"$1" | tr -d ' '; }
# trunc SRC N DST: the first N bytes of SRC
trunc() { head -c "$2" "$1" >"$3"; }
# u8 FILE OFF: the byte at OFF, as a number
u8() { echo $(( $(od -An -tu1 -j "$2" -N1 "$1") )); }
# u32 FILE OFF: little-endian u32 at OFF
u32() { set -- $(od -An -tu1 -j "$2" -N4 "$1"); echo $(( $1 + 256 * ($2 + 256 * ($3 + 256 * $4)) )); }
# esc V...: sets $esc to the printf octal escapes of byte values V (no fork)
esc() { esc=; for b in "$@"; do esc="$esc\\$((b / 64))$((b / 8 % 8))$((b % 8))"; done; }
# put FILE OFF BYTE...: overwrite bytes (decimal values) at OFF, in place
put() {
    f=$1 o=$2
    shift 2
    esc "$@"
    # shellcheck disable=SC2059
    printf "$esc" | dd of="$f" bs=1 seek="$o" conv=notrunc 2>/dev/null
}
# flip SRC OFF DST: copy with the byte at OFF inverted
flip() { cp "$1" "$3" && put "$3" "$2" $(( $(u8 "$1" "$2") ^ 255 )); }

# npy HEADERDICT NBYTES DST: a v1.0 .npy with that header dict and NBYTES zero data bytes
npy() {
    h=$1
    _n=$(( ${#h} + 1 ))
    pad=$(( (64 - (10 + _n) % 64) % 64 ))
    hl=$(( _n + pad ))
    { printf '\223NUMPY\001\000'
      bytes $((hl % 256)) $((hl / 256))
      printf '%s' "$h"
      printf "%${pad}s\n" ''
      head -c "$2" /dev/zero; } >"$3"
}

# crc32 (zlib) of a file, for PNG chunks; shell arithmetic only (small files)
crc32() {
    c=4294967295
    for b in $(od -An -tu1 -v "$1"); do
        c=$(( c ^ b ))
        i=0
        while [ $i -lt 8 ]; do
            if [ $(( c & 1 )) -eq 1 ]; then c=$(( (c >> 1) ^ 3988292384 )); else c=$(( c >> 1 )); fi
            i=$((i + 1))
        done
    done
    echo $(( c ^ 4294967295 ))
}
be32() { # be32 N: 4 big-endian bytes, as decimal values
    echo "$(( ($1 >> 24) & 255 )) $(( ($1 >> 16) & 255 )) $(( ($1 >> 8) & 255 )) $(( $1 & 255 ))"
}
bytes() { # bytes V...: write raw bytes given as decimal values to stdout
    esc "$@"
    # shellcheck disable=SC2059
    printf "$esc"
}

CX=$B/cortex
CV=$B/cortex-convert
CB=$B/cortex-bench
OUT=$D/out.ctx

# ============================================================ cortex-convert: .pth
echo "== cortex-convert: bad .pth"
n=$(size "$PTH")
for L in 0 1 4 21 22 30 100 1000 $((n / 2)) $((n - 22)) $((n - 23)) $((n - 1)); do
    trunc "$PTH" "$L" "$D/trunc_$L.pth"
    t "pth truncated to $L of $n bytes" 1 "$D/trunc_$L.pth" "$CV" "$D/trunc_$L.pth" --arch resnet18 -o "$OUT"
done
{ cat "$PTH"; printf 'junk'; } >"$D/trailing.pth"
t "pth with 4 trailing bytes" 01 "$D/trailing.pth" "$CV" "$D/trailing.pth" --arch resnet18 -o "$OUT"

# byte flips: zip structures (local header, name, pickle, central directory, EOCD)
eocd=$((n - 22))
cdoff=$(u32 "$PTH" $((eocd + 16)))
for off in 0 2 8 26 28 30 40 64 80 200 300 $((cdoff)) $((cdoff + 10)) $((cdoff + 20)) \
           $((cdoff + 28)) $((cdoff + 42)) $((cdoff + 46)) $((eocd)) $((eocd + 8)) $((eocd + 10)) \
           $((eocd + 12)) $((eocd + 16)) $((eocd + 20)); do
    flip "$PTH" "$off" "$D/flip_$off.pth"
    t "pth byte $off flipped" 1 "$D/flip_$off.pth" "$CV" "$D/flip_$off.pth" --arch resnet18 -o "$OUT"
done
# flips in fields the reader may ignore (local header CRC and sizes: torch sets the
# data-descriptor flag), in the pickle and in tensor data (the reader checks no CRC):
# they may convert, but never crash
for off in 14 18 22 90 100 500 1000 2000 5000 9000 13000 20000 30000 40000 $((cdoff - 100)); do
    flip "$PTH" "$off" "$D/flipd_$off.pth"
    t "pth byte $off flipped (pickle/data)" 01 "$D/flipd_$off.pth" "$CV" "$D/flipd_$off.pth" --arch resnet18 -o "$OUT"
done

printf 'hello, this is not a checkpoint\n' >"$D/text.pth"
t "pth: text file" 1 "$D/text.pth" "$CV" "$D/text.pth" --arch resnet18 -o "$OUT"
: >"$D/empty.pth"
t "pth: empty file" 1 "$D/empty.pth" "$CV" "$D/empty.pth" --arch resnet18 -o "$OUT"
mkdir -p "$D/dir.pth"
t "pth: a directory" 1 "$D/dir.pth" "$CV" "$D/dir.pth" --arch resnet18 -o "$OUT"
t "pth: nonexistent" 1 "$D/nonexistent.pth" "$CV" "$D/nonexistent.pth" --arch resnet18 -o "$OUT"
if [ "$(id -u)" != 0 ]; then
    cp "$PTH" "$D/noread.pth" && chmod 000 "$D/noread.pth"
    t "pth: no read permission" 1 "$D/noread.pth" "$CV" "$D/noread.pth" --arch resnet18 -o "$OUT"
    chmod 644 "$D/noread.pth"
    mkdir -p "$D/ro" && chmod 555 "$D/ro"
    t "output: in a read-only directory" 1 "$D/ro/out.ctx" "$CV" "$PTH" --arch resnet18 -o "$D/ro/out.ctx"
    chmod 755 "$D/ro"
else
    echo "skip pth: no read permission, output: read-only directory (running as root)"
fi
if command -v zip >/dev/null 2>&1; then
    seq 1 2000 >"$D/numbers.txt"
    rm -f "$D/deflated.zip"
    (cd "$D" && zip -q -9 deflated.zip numbers.txt) && mv "$D/deflated.zip" "$D/deflated.pth"
    t "pth: zip with a deflated entry (zip)" 1 "$D/deflated.pth" "$CV" "$D/deflated.pth" --arch resnet18 -o "$OUT"
fi
t "pth: zip with a deflated entry (python zipfile)" 1 tests/data/pth/deflated.pth \
    "$CV" tests/data/pth/deflated.pth --arch resnet18 -o "$OUT"
t "pth: legacy (pre-1.6) torch format" 1 tests/data/pth/legacy.pth "$CV" tests/data/pth/legacy.pth --arch resnet18 -o "$OUT"
t "pth: a .npy" 1 "$G/resnet18.in.npy" "$CV" "$G/resnet18.in.npy" --arch resnet18 -o "$OUT"
t "pth: resnet18 weights as resnet50 (wrong shape)" 1 "$PTH" "$CV" "$PTH" --arch resnet50 -o "$OUT"
t "pth: resnet18 weights as resnet34 (missing keys)" 1 "$PTH" "$CV" "$PTH" --arch resnet34 -o "$OUT"
t "pth: resnet34 weights as resnet18 (unexpected keys)" 1 "$G/resnet34.pth" "$CV" "$G/resnet34.pth" --arch resnet18 -o "$OUT"
# same keys, other groups: refused as torch's load_state_dict would
t "pth: resnext50_32x4d weights as resnet50 (grouped shape)" 1 "$G/resnext50_32x4d.pth" \
    "$CV" "$G/resnext50_32x4d.pth" --arch resnet50 -o "$OUT"
t "pth: resnet50 weights as resnext50_32x4d (ungrouped shape)" 1 "$G/resnet50.pth" \
    "$CV" "$G/resnet50.pth" --arch resnext50_32x4d -o "$OUT"
t "pth: r3d_18 weights as resnet18 (3-d kernels)" 1 "$G/r3d_18.pth" "$CV" "$G/r3d_18.pth" --arch resnet18 -o "$OUT"
# committed: wrong state_dicts (tests/data/bad/make_bad.py), and the .pth reader's
# own fixtures, none of which is a resnet18 state_dict
for f in "$FIX"/pth_*.pth tests/data/pth/*.pth; do
    t "pth: $f" 1 "$f" "$CV" "$f" --arch resnet18 -o "$OUT"
done
# a key renamed in the pickle (same length): 'fc.weight' missing, 'fc.weighX' unexpected
off=$(grep -boa 'fc\.weight' "$PTH" | head -n 1 | cut -d: -f1)
if [ -n "$off" ]; then
    cp "$PTH" "$D/renamed_key.pth" && put "$D/renamed_key.pth" $((off + 8)) 88
    t "pth: key renamed in the pickle" 1 "$D/renamed_key.pth" "$CV" "$D/renamed_key.pth" --arch resnet18 -o "$OUT"
fi
# one flipped bit inside tensor data (60 % into the file: archive/data/49), which
# every structural check passes: the zip's CRC-32 catches it
cp "$PTH" "$D/bitflip.pth"
o=$(( $(size "$PTH") * 6 / 10 ))
put "$D/bitflip.pth" "$o" $(( $(u8 "$PTH" "$o") ^ 4 ))
t "pth: one flipped bit in tensor data (CRC-32)" 1 "$D/bitflip.pth" "$CV" "$D/bitflip.pth" --arch resnet18 -o "$OUT"
# labels: the model has 4 classes
printf 'a\nb\nc\n' >"$D/labels3.txt"
t "labels: 3 for 4 classes" 1 "$D/labels3.txt" "$CV" "$PTH" --arch resnet18 --labels "$D/labels3.txt" -o "$OUT"
printf 'a\nb\nc\nd\ne\nf\ng\n' >"$D/labels7.txt"
t "labels: 7 for 4 classes" 1 "$D/labels7.txt" "$CV" "$PTH" --arch resnet18 --labels "$D/labels7.txt" -o "$OUT"
: >"$D/labels0.txt"
t "labels: empty file" 1 "$D/labels0.txt" "$CV" "$PTH" --arch resnet18 --labels "$D/labels0.txt" -o "$OUT"
t "labels: nonexistent" 1 "$D/nolabels.txt" "$CV" "$PTH" --arch resnet18 --labels "$D/nolabels.txt" -o "$OUT"
t "labels: a directory" 1 "$D/dir.pth" "$CV" "$PTH" --arch resnet18 --labels "$D/dir.pth" -o "$OUT"
head -c 5000 /dev/zero | tr '\0' 'x' >"$D/labels_long.txt"
t "labels: a 5000-byte line" 1 "$D/labels_long.txt" "$CV" "$PTH" --arch resnet18 --labels "$D/labels_long.txt" -o "$OUT"
t "output: in a nonexistent directory" 1 "$D/no/such/dir/out.ctx" "$CV" "$PTH" --arch resnet18 -o "$D/no/such/dir/out.ctx"
t "output: a directory" 1 "$D/dir.pth" "$CV" "$PTH" --arch resnet18 -o "$D/dir.pth"
# never name a device directly: a tool that renames its temporary file over the
# target would replace the device node (as root); a symlink to it is harmless
ln -s /dev/null "$D/null.ctx"
t "output: a symlink to /dev/null (not a regular file)" 1 "$D/null.ctx" "$CV" "$PTH" --arch resnet18 -o "$D/null.ctx"

# ============================================================ cortex run / info: .ctx
echo "== cortex: bad .ctx"
CTX=$D/good.ctx
"$CV" "$PTH" --arch resnet18 -o "$CTX" --quiet || { echo "FAIL cannot convert $PTH"; exit 1; }
IN=$D/in.npy
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), }" $((3 * 32 * 32 * 4)) "$IN"
t "sanity: good model, good input" 0 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy"
m=$(size "$CTX")
for L in 0 3 4 8 95 96 200 $((m / 2)) $((m - 64)) $((m - 1)); do
    trunc "$CTX" "$L" "$D/trunc_$L.ctx"
    t "ctx truncated to $L of $m bytes (run)" 1 "$D/trunc_$L.ctx" "$CX" run "$D/trunc_$L.ctx" --input "$IN" --output "$D/o.npy"
done
t "ctx truncated (info)" 1 "$D/trunc_$((m / 2)).ctx" "$CX" info "$D/trunc_$((m / 2)).ctx"
t "ctx truncated (classify)" 1 "$D/trunc_200.ctx" "$CX" classify "$D/trunc_200.ctx" tests/data/image/grad_40x30.png
t "ctx truncated (bench)" 1 "$D/trunc_200.ctx" "$CB" model "$D/trunc_200.ctx" --iters 1 --warmup 0
{ cat "$CTX"; printf 'junk'; } >"$D/trailing.ctx"
t "ctx with 4 trailing bytes" 1 "$D/trailing.ctx" "$CX" info "$D/trailing.ctx"
cp "$CTX" "$D/magic.ctx" && put "$D/magic.ctx" 0 80 75 50 75          # "PK" zip magic
t "ctx: wrong magic" 1 "$D/magic.ctx" "$CX" info "$D/magic.ctx"
cp "$CTX" "$D/v99.ctx" && put "$D/v99.ctx" 4 99
t "ctx: version 99" 1 "$D/v99.ctx" "$CX" info "$D/v99.ctx"
cp "$CTX" "$D/v0.ctx" && put "$D/v0.ctx" 4 0
t "ctx: version 0" 1 "$D/v0.ctx" "$CX" run "$D/v0.ctx" --input "$IN" --output "$D/o.npy"
# header fields: header_size, alignment, file_size, meta_count, meta_offset, meta_size,
# tensor_count, table_offset, table_size, data_offset, flags, checksum (high and low bytes)
for off in 8 12 16 23 24 31 32 40 47 48 55 56 64 72 79 80 87 88 95; do
    flip "$CTX" "$off" "$D/hdr_$off.ctx"
    t "ctx header byte $off flipped" 1 "$D/hdr_$off.ctx" "$CX" run "$D/hdr_$off.ctx" --input "$IN" --output "$D/o.npy"
done
msize=$(u32 "$CTX" 40)
toff=$(u32 "$CTX" 56)
doff=$(u32 "$CTX" 72)
# metadata: first entry's key_len, type, key; tensor table: first entry's fields; padding
for off in 96 100 104 $((96 + msize / 2)) $((toff)) $((toff + 4)) $((toff + 8)) $((toff + 12)) \
           $((toff + 16)) $((toff + 24)) $((toff + 32)) $((toff + 40)) $((toff + 47)) $((toff + 72)) \
           $((doff - 1)); do
    flip "$CTX" "$off" "$D/tab_$off.ctx"
    t "ctx meta/table byte $off flipped" 1 "$D/tab_$off.ctx" "$CX" info "$D/tab_$off.ctx"
done
for off in $doff $((doff + 100)) $((m / 2)) $((m - 1)); do
    flip "$CTX" "$off" "$D/data_$off.ctx"
    t "ctx data byte $off flipped (checksum)" 1 "$D/data_$off.ctx" "$CX" run "$D/data_$off.ctx" --input "$IN" --output "$D/o.npy"
done
t "ctx: a .npy as the model" 1 "$IN" "$CX" run "$IN" --input "$IN" --output "$D/o.npy"
t "ctx: a .pth as the model" 1 "$PTH" "$CX" info "$PTH"
t "ctx: a text file" 1 "$D/text.pth" "$CX" info "$D/text.pth"
t "ctx: empty file" 1 "$D/empty.pth" "$CX" info "$D/empty.pth"
t "ctx: a directory" 1 "$D/dir.pth" "$CX" info "$D/dir.pth"
t "ctx: nonexistent" 1 "$D/nonexistent.ctx" "$CX" run "$D/nonexistent.ctx" --input "$IN" --output "$D/o.npy"
t "bench: nonexistent model" 1 "$D/nonexistent.ctx" "$CB" model "$D/nonexistent.ctx" --iters 1
# committed: well-formed, checksummed .ctx files whose content is wrong for the loader
t "sanity: tiny valid .ctx (ok_tiny.ctx) loads" 0 "" "$CX" run "$FIX/ok_tiny.ctx" --input "$IN" --output "$D/o.npy"
for f in "$FIX"/ctx_*.ctx; do
    t "ctx: $f (run)" 1 "$f" "$CX" run "$f" --input "$IN" --output "$D/o.npy"
    t "ctx: $f (info)" 1 "$f" "$CX" info "$f"
done

# ============================================================ cortex run: bad .npy
echo "== cortex run: bad .npy"
runin() { t "npy: $1" "$2" "$3" "$CX" run "$CTX" --input "$3" --output "$D/o.npy"; }
S='(1, 3, 32, 32)'
npy "{'descr': '<f8', 'fortran_order': False, 'shape': $S, }" $((3 * 32 * 32 * 8)) "$D/f8.npy"
runin "dtype <f8" 1 "$D/f8.npy"
npy "{'descr': '<i4', 'fortran_order': False, 'shape': $S, }" $((3 * 32 * 32 * 4)) "$D/i4.npy"
runin "dtype <i4" 1 "$D/i4.npy"
npy "{'descr': '>f4', 'fortran_order': False, 'shape': $S, }" $((3 * 32 * 32 * 4)) "$D/be.npy"
runin "dtype >f4" 1 "$D/be.npy"
npy "{'descr': '<f4', 'fortran_order': True, 'shape': $S, }" $((3 * 32 * 32 * 4)) "$D/fortran.npy"
runin "fortran order" 1 "$D/fortran.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 32, 32), }" $((3 * 32 * 32 * 4)) "$D/rank3.npy"
runin "rank 3" 1 "$D/rank3.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 4, 32, 32), }" $((3 * 4 * 32 * 32 * 4)) "$D/rank5.npy"
runin "rank 5 for a 2-d model" 1 "$D/rank5.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (), }" 4 "$D/scalar.npy"
runin "0-d" 1 "$D/scalar.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 32, 32), }" $((4 * 32 * 32 * 4)) "$D/c4.npy"
runin "4 channels" 1 "$D/c4.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 0, 32), }" 0 "$D/h0.npy"
runin "H = 0" 1 "$D/h0.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3, 32, 32), }" 0 "$D/n0.npy"
runin "N = 0 (empty batch)" 01 "$D/n0.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 9, 9), }" $((3 * 81 * 4)) "$D/tiny.npy"
runin "9x9 image (small but valid)" 01 "$D/tiny.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 1, 1), }" 12 "$D/one.npy"
runin "1x1 image" 01 "$D/one.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': $S, }" 100 "$D/short.npy"
runin "truncated data" 1 "$D/short.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': $S, }" $((3 * 32 * 32 * 4 + 4)) "$D/long.npy"
runin "trailing data" 1 "$D/long.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (64, 3, 224, 224), }" 1024 "$D/lies.npy"
runin "header lies (shape says more than data)" 1 "$D/lies.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 3, 32, 32), }" 16 "$D/huge.npy"
runin "huge shape (product overflows)" 1 "$D/huge.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 1, 1), }" 16 "$D/huge2.npy"
runin "huge shape (2^64 elements)" 1 "$D/huge2.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 99999999999999999999999, 1), }" 16 "$D/bigint.npy"
runin "dimension beyond int64" 1 "$D/bigint.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, -32, 32), }" 16 "$D/neg.npy"
runin "negative dimension" 1 "$D/neg.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 65536, 65536), }" 16 "$D/bigimg.npy"
runin "65536x65536 declared, 16 bytes" 1 "$D/bigimg.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }" 4 "$D/manydims.npy"
runin "34 dimensions" 1 "$D/manydims.npy"
npy "this is not a python dict at all" 16 "$D/garbage.npy"
runin "garbage header" 1 "$D/garbage.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32)" 16 "$D/unclosed.npy"
runin "unclosed header dict" 1 "$D/unclosed.npy"
npy "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 32, 32), 'extra': 1}" 16 "$D/extrakey.npy"
runin "extra header key" 1 "$D/extrakey.npy"
npy "{'descr': '<f4', 'shape': (1, 3, 32, 32)}" 16 "$D/nofo.npy"
runin "missing fortran_order" 1 "$D/nofo.npy"
cp "$IN" "$D/hlen.npy" && put "$D/hlen.npy" 8 255 255
runin "header length 65535" 1 "$D/hlen.npy"
cp "$IN" "$D/ver.npy" && put "$D/ver.npy" 6 9
runin "version 9.0" 1 "$D/ver.npy"
cp "$IN" "$D/nohdrpad.npy" && put "$D/nohdrpad.npy" 8 3 0
runin "header length 3" 1 "$D/nohdrpad.npy"
for L in 0 5 8 9 10 50 128; do
    trunc "$IN" "$L" "$D/trunc_$L.npy"
    runin "truncated to $L bytes" 1 "$D/trunc_$L.npy"
done
runin "a .pth as input" 1 "$PTH"
runin "a directory" 1 "$D/dir.pth"
runin "nonexistent" 1 "$D/nonexistent.npy"
t "npy: output in a nonexistent directory" 1 "$D/no/such/o.npy" "$CX" run "$CTX" --input "$IN" --output "$D/no/such/o.npy"
t "npy: output is a directory" 1 "$D/dir.pth" "$CX" run "$CTX" --input "$IN" --output "$D/dir.pth"
ln -s /dev/full "$D/full.npy"
t "npy: output disk full (symlink to /dev/full)" 1 "$D/full.npy" "$CX" run "$CTX" --input "$IN" --output "$D/full.npy"
t "npy: output a symlink to /dev/null (allowed)" 01 "" "$CX" run "$CTX" --input "$IN" --output "$D/null.ctx"

# ============================================================ cortex classify: bad images
echo "== cortex classify: bad images"
IM=tests/data/image
cls() { t "image: $1" "$2" "$3" "$CX" classify "$CTX" "$3"; }
js=$(size "$IM/tall_31x50.jpg")
for L in 200 400 $((js / 2)) $((js - 100)); do
    trunc "$IM/tall_31x50.jpg" "$L" "$D/trunc_$L.jpg"; cls "JPEG truncated to $L of $js bytes" 1 "$D/trunc_$L.jpg"
done
trunc "$IM/tall_31x50.jpg" $((js - 2)) "$D/noeoi.jpg"; cls "JPEG without its EOI marker" 01 "$D/noeoi.jpg"
trunc "$IM/tall_31x50.jpg" 20 "$D/trunc20.jpg"; cls "JPEG truncated to 20 bytes" 1 "$D/trunc20.jpg"
trunc "$IM/tall_31x50.jpg" 2 "$D/trunc2.jpg";   cls "JPEG truncated to 2 bytes" 1 "$D/trunc2.jpg"
trunc "$IM/grad_40x30.png" 100 "$D/trunc.png";  cls "PNG truncated to 100 bytes" 1 "$D/trunc.png"
trunc "$IM/grad_40x30.png" 33 "$D/trunc33.png"; cls "PNG truncated after IHDR" 1 "$D/trunc33.png"
trunc "$IM/grad_40x30.png" 8 "$D/trunc8.png";   cls "PNG signature only" 1 "$D/trunc8.png"
ps=$(size "$IM/big_400x280.png")
trunc "$IM/big_400x280.png" $((ps / 2)) "$D/half.png"; cls "PNG truncated to half" 1 "$D/half.png"
bs=$(size "$IM/odd_17x23.bmp")
for L in 20 40 60 $((bs / 2)) $((bs - 1)); do
    trunc "$IM/odd_17x23.bmp" "$L" "$D/trunc_$L.bmp"; cls "BMP truncated to $L of $bs bytes" 1 "$D/trunc_$L.bmp"
done
printf 'I am a text file, not a JPEG\n' >"$D/text.jpg"; cls "text file named .jpg" 1 "$D/text.jpg"
: >"$D/empty.jpg";                               cls "zero-byte file" 1 "$D/empty.jpg"
cls "a directory" 1 "$D/dir.pth"
cls "nonexistent" 1 "$D/nonexistent.jpg"
# PNG declaring 100000x100000 (IHDR with a correct CRC), then an IEND
{ bytes 73 72 68 82; bytes $(be32 100000) $(be32 100000); bytes 8 2 0 0 0; } >"$D/ihdr.bin"
crc=$(crc32 "$D/ihdr.bin")
{ bytes 137 80 78 71 13 10 26 10 0 0 0 13; cat "$D/ihdr.bin"; bytes $(be32 "$crc")
  bytes 0 0 0 0 73 69 78 68 174 66 96 130; } >"$D/huge.png"
cls "PNG declaring 100000x100000" 1 "$D/huge.png"
{ bytes 73 72 68 82; bytes $(be32 20000) $(be32 20000); bytes 8 2 0 0 0; } >"$D/ihdr2.bin"
crc=$(crc32 "$D/ihdr2.bin")
{ bytes 137 80 78 71 13 10 26 10 0 0 0 13; cat "$D/ihdr2.bin"; bytes $(be32 "$crc")
  bytes 0 0 0 0 73 69 78 68 174 66 96 130; } >"$D/huge2.png"
cls "PNG declaring 20000x20000, no data" 1 "$D/huge2.png"
# BMP declaring 60000 x 60000 (BITMAPINFOHEADER, 24 bpp), 4 bytes of pixels
{ bytes 66 77 62 0 0 0 0 0 0 0 54 0 0 0 40 0 0 0 96 234 0 0 96 234 0 0 1 0 24 0 0 0 0 0 4 0 0 0
  bytes 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 2 3 4 5 6 7 8; } >"$D/huge.bmp"
cls "BMP declaring 60000x60000" 1 "$D/huge.bmp"
{ bytes 66 77 62 0 0 0 0 0 0 0 54 0 0 0 40 0 0 0 255 255 255 127 1 0 0 0 1 0 24 0 0 0 0 0 4 0 0 0
  bytes 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 2 3 4 5 6 7 8; } >"$D/wide.bmp"
cls "BMP declaring 2^31-1 x 1" 1 "$D/wide.bmp"
# GIF89a, 1x1 (a valid GIF; the build reads JPEG/PNG/BMP only)
{ printf 'GIF89a'; bytes 1 0 1 0 128 0 0 0 0 0 255 255 255 33 249 4 0 0 0 0 0 44 0 0 0 0 1 0 1 0 0 2 2 68 1 0 59; } >"$D/img.gif"
cls "GIF image" 1 "$D/img.gif"
cp "$IM/grad_40x30.png" "$D/flip.png" && put "$D/flip.png" 16 127 255 255 255
cls "PNG width 2^31-1" 1 "$D/flip.png"
cp "$IM/tall_31x50.jpg" "$D/flip.jpg"
sof=$(grep -boa "$(printf '\377\300')" "$D/flip.jpg" | head -n 1 | cut -d: -f1)
if [ -n "$sof" ]; then
    put "$D/flip.jpg" $((sof + 5)) 255 255 255 255
    cls "JPEG SOF declaring 65535x65535" 1 "$D/flip.jpg"
fi
t "image: good then bad" 1 "$D/trunc8.png" "$CX" classify "$CTX" "$IM/grad_40x30.png" "$D/trunc8.png"
VCTX=$D/video.ctx
if "$CV" "$G/r3d_18.pth" --arch r3d_18 -o "$VCTX" --quiet 2>/dev/null; then
    t "classify with a video model" 1 "$VCTX" "$CX" classify "$VCTX" "$IM/grad_40x30.png"
    t "run a video model on a 4-d input" 1 "$IN" "$CX" run "$VCTX" --input "$IN" --output "$D/o.npy"
fi

# ============================================================ usage errors (exit 2)
echo "== usage errors"
t "cortex: no args" 2 "" "$CX"
t "cortex: unknown command" 2 "" "$CX" frobnicate
t "cortex: unknown option" 2 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy" --frob
t "cortex: missing option value" 2 "" "$CX" run "$CTX" --input "$IN" --output
t "cortex: run without --input" 2 "" "$CX" run "$CTX" --output "$D/o.npy"
t "cortex: run without model" 2 "" "$CX" run
t "cortex: info with two models" 2 "" "$CX" info "$CTX" "$CTX"
t "cortex: classify without images" 2 "" "$CX" classify "$CTX"
for v in 0 -1 abc 1.5 '' 99999999999999999999 2000; do
    t "cortex: --threads '$v'" 2 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy" --threads "$v"
done
for v in 0 -3 x 5k; do
    t "cortex: --topk '$v'" 2 "" "$CX" classify "$CTX" "$IM/grad_40x30.png" --topk "$v"
done
t "cortex: --isa bogus" 2 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy" --isa bogus
t "cortex-convert: no args" 2 "" "$CV"
t "cortex-convert: unknown option" 2 "" "$CV" "$PTH" --arch resnet18 -o "$OUT" --frob
t "cortex-convert: missing --arch" 2 "" "$CV" "$PTH" -o "$OUT"
t "cortex-convert: unknown --arch" 2 "" "$CV" "$PTH" --arch resnet9000 -o "$OUT"
t "cortex-convert: --arch without value" 2 "" "$CV" "$PTH" -o "$OUT" --arch
t "cortex-convert: missing -o" 2 "" "$CV" "$PTH" --arch resnet18
t "cortex-convert: two sources" 2 "" "$CV" "$PTH" "$PTH" --arch resnet18 -o "$OUT"
for v in -0.5 1 abc nan inf ''; do
    t "cortex-convert: --alpha '$v'" 2 "" "$CV" "$PTH" --arch octresnet50 --alpha "$v" -o "$OUT"
done
t "cortex-bench: no args" 2 "" "$CB"
t "cortex-bench: unknown command" 2 "" "$CB" frobnicate
t "cortex-bench: unknown option" 2 "" "$CB" gemm 8 8 8 --frob 1
t "cortex-bench: missing option value" 2 "" "$CB" gemm 8 8 8 --iters
for v in 0 -1 abc; do
    t "cortex-bench: --threads '$v'" 2 "" "$CB" gemm 8 8 8 --threads "$v"
done
t "cortex-bench: --iters 0" 2 "" "$CB" gemm 8 8 8 --iters 0
t "cortex-bench: gemm M N" 2 "" "$CB" gemm 8 8
t "cortex-bench: gemm 0 8 8" 2 "" "$CB" gemm 0 8 8
t "cortex-bench: model without ARCH" 2 "" "$CB" model
t "cortex-bench: --shape 1x3xx4" 2 "" "$CB" model resnet18 --shape 1x3xx4
t "cortex-bench: --shape 0x3x8x8" 2 "" "$CB" model resnet18 --shape 0x3x8x8
t "cortex-bench: conv without --kernel" 2 "" "$CB" conv --shape 1x8x8x8 --out 8
t "cortex-bench: conv --groups 3 of 8" 2 "" "$CB" conv --shape 1x8x8x8 --out 8 --kernel 3x3 --groups 3
for v in 1x0x2 2x x2 1x2x2x2 -1 2.5; do
    t "cortex-bench: conv --stride '$v'" 2 "" "$CB" conv --shape 1x3x4x16x16 --out 8 --kernel 3x3x3 --stride "$v"
done
t "cortex-bench: conv --pad -1" 2 "" "$CB" conv --shape 1x3x4x16x16 --out 8 --kernel 3x3x3 --pad -1
t "cortex-bench: conv 2-D shape, 3-D stride" 2 "" "$CB" conv --shape 1x3x16x16 --out 8 --kernel 3x3 --stride 2x1x1
t "cortex-bench: conv --stride 1x2x2 --pad 1x3x3" 0 "" "$CB" conv --shape 1x3x4x16x16 --out 8 --kernel 3x7x7 --stride 1x2x2 --pad 1x3x3 --iters 1 --warmup 0 --no-peak
t "cortex-bench: conv --preset list" 0 "" "$CB" conv --preset list
t "cortex-bench: conv --preset (one layer)" 0 "" "$CB" conv --preset resnet50/l4.1x1red --iters 1 --warmup 0 --no-peak
t "cortex-bench: conv --preset bogus" 2 "" "$CB" conv --preset bogus
t "cortex-bench: conv --preset resnet50/bogus" 2 "" "$CB" conv --preset resnet50/bogus
t "cortex-bench: conv --preset with --shape" 2 "" "$CB" conv --preset resnet50 --shape 1x8x8x8
t "cortex-bench: --isa bogus" 2 "" "$CB" gemm 8 8 8 --iters 1 --isa bogus
t "cortex-bench: model --isa bogus" 2 "" "$CB" model resnet18 --iters 1 --isa bogus
t "cortex-bench: model unknown ARCH (not a file)" 1 "resnet9000" "$CB" model resnet9000 --iters 1
t "cortex-bench: model shape 1x4x32x32" 1 "$CTX" "$CB" model "$CTX" --shape 1x4x32x32 --iters 1 --warmup 0
t "cortex-bench: model shape 1x3x32" 1 "$CTX" "$CB" model "$CTX" --shape 1x3x32 --iters 1 --warmup 0
# an ISA the CPU (or valgrind's CPU) may lack: 0 where it runs, else exit 1 naming it
for isa in avx2 avx512; do
    t "cortex-bench: --isa $isa (0 if available)" 01 "" "$CB" gemm 8 8 8 --iters 1 --warmup 0 --isa "$isa"
    t "cortex: --isa $isa (0 if available)" 01 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy" --isa "$isa"
    t "cortex-bench: model --isa $isa (0 if available)" 01 "" "$CB" model "$CTX" --shape 1x3x16x16 --iters 1 --warmup 0 --isa "$isa"
done
CORTEX_ISA=bogus; export CORTEX_ISA
t "CORTEX_ISA=bogus" 1 "CORTEX_ISA" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy"
unset CORTEX_ISA
for l2 in abc 12 1M -1 99999999999; do
    CORTEX_L2_KIB=$l2; export CORTEX_L2_KIB
    t "CORTEX_L2_KIB=$l2: cortex run" 1 "CORTEX_L2_KIB" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy"
    t "CORTEX_L2_KIB=$l2: cortex-bench conv" 1 "CORTEX_L2_KIB" "$CB" conv --shape 1x8x8x8 --out 8 --kernel 3x3 --iters 1 --warmup 0
done
CORTEX_L2_KIB=512; export CORTEX_L2_KIB
t "CORTEX_L2_KIB=512: cortex run" 0 "" "$CX" run "$CTX" --input "$IN" --output "$D/o.npy"
unset CORTEX_L2_KIB

echo "bad-inputs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
