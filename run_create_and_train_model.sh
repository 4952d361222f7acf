#!/bin/sh
# Train a model definition on an index file: models/<SEGDEFNAME>_<DEF>/ (never overwritten).
# Extra arguments after the three are passed to the definition script (e.g. --epochs 1),
# except --overwrite: a wrapper never replaces a model.
usage() {
    cat >&2 <<'USAGE'
usage: sh ./run_create_and_train_model.sh SEGLEN SEGDEFNAME DEF [OPTIONS...]
  SEGLEN      segment length the index file was drawn with, e.g. 256
  SEGDEFNAME  index file stem: indices_files/SEGDEFNAME.txt
  DEF         model definition: runs create_and_train_model_DEF.py
example:
  sh ./run_create_and_train_model.sh 256 set00001_256_40000 def001
USAGE
}
fail() { echo "$(basename "$0"): error: $*" >&2; exit 1; }

[ $# -ge 3 ] || { usage; exit 1; }
seglen=$1 segdefname=$2 def=$3
shift 3
case $seglen in ''|*[!0-9]*|0*) fail "SEGLEN must be a positive integer without leading zeros, got '$seglen'" ;; esac
case $def in ''|*[!A-Za-z0-9_]*) fail "DEF '$def' must be letters, digits or '_' (e.g. def001)" ;; esac
for option in "$@"; do
    [ "$option" = "--overwrite" ] && fail "the wrappers never overwrite a model; to replace one, run create_and_train_model_$def.py --overwrite yourself"
done

here=$(cd "$(dirname "$0")" && pwd)
script=$here/create_and_train_model_$def.py
[ -f "$script" ] || fail "no model definition '$def': $script does not exist"
python=${PYTHON:-}
if [ -z "$python" ]; then
    if [ -x "$here/.venv/bin/python" ]; then python=$here/.venv/bin/python; else python=python3; fi
fi
exec "$python" "$script" \
    --number_of_consecutive_samples "$seglen" --segdefname "$segdefname" ${SEISCLIP_SBRL:+--sbrl} "$@"
