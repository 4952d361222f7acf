#!/bin/sh
# Draw a training set: indices_files/<SETID>_<SEGLEN>_<NUMSEG>.txt and its manifest (.json).
# The seed is derived from the file name, so the same SETID, SEGLEN and NUMSEG on the same
# metadata give the same set again. An existing set is never overwritten.
usage() {
    cat >&2 <<'USAGE'
usage: sh ./run_select_training_samples.sh SEGLEN NUMSEG SETID
  SEGLEN  samples per segment (positive integer), e.g. 256 = 6.4 s at 40 Hz
  NUMSEG  number of segments (positive integer)
  SETID   set name: letters, digits, '.', '_' or '-', not starting with '.'
examples:
  sh ./run_select_training_samples.sh 256  40000 set00001
  sh ./run_select_training_samples.sh 256 100000 set00003
USAGE
}
fail() { echo "run_select_training_samples.sh: error: $*" >&2; exit 1; }

[ $# -eq 3 ] || { usage; exit 1; }
seglen=$1 numseg=$2 setid=$3
for pair in "SEGLEN:$seglen" "NUMSEG:$numseg"; do
    name=${pair%%:*} value=${pair#*:}
    case $value in
        ''|*[!0-9]*|0*) fail "$name must be a positive integer without leading zeros, got '$value'" ;;
    esac
done
case $setid in
    ''|.*|*[!A-Za-z0-9._-]*) fail "SETID '$setid' must be letters, digits, '.', '_' or '-' and not start with '.'" ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x "$here/.venv/bin/python" ]; then python=$here/.venv/bin/python; else python=python3; fi
fi

output=indices_files/${setid}_${seglen}_${numseg}.txt
mkdir -p indices_files || fail "cannot create indices_files/"
# A hidden manifest temporary means a run is writing the set, or was killed while naming it:
# the Python script, holding the set's lock, reports the first and finishes the second.
interrupted=
for leftover in "indices_files/.${setid}_${seglen}_${numseg}.json."*.tmp; do
    [ -e "$leftover" ] && interrupted=yes
done
if [ -z "$interrupted" ]; then
    [ -e "$output" ] && fail "$output already exists; it is kept untouched (choose another SETID, or move it away to draw it again)"
    [ -e "${output%.txt}.json" ] && fail "${output%.txt}.json already exists; it is kept untouched"
fi

exec "$python" "$here/select_training_samples.py" \
    --number_of_consecutive_samples "$seglen" \
    --number_of_training_segments "$numseg" \
    --ASCII_file_dir outfiles \
    --metadata_file outfiles_contents_reordered.txt \
    --output_file "$output"
