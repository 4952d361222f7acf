#!/bin/sh
# Point the symbolic link `outfiles` at the folder holding the waveform files, so index
# files can name `outfiles/<file>` whatever the archive's real location.
#   sh linker.sh                      # the demo bank (demo_bank/)
#   sh linker.sh /data/borovoye/ascii # your own archive
# An existing link is replaced; a real file or folder named outfiles is never touched.
fail() { echo "linker.sh: error: $*" >&2; exit 1; }

[ $# -le 1 ] || fail "usage: sh linker.sh [TARGET_FOLDER]"
target=${1:-demo_bank}
[ -d "$target" ] || fail "$target is not a folder (for the demo bank run 'make demo' or 'seisclip demo-bank demo_bank')"
if [ -L outfiles ]; then
    rm outfiles || fail "cannot remove the old outfiles link"
elif [ -e outfiles ]; then
    fail "outfiles exists and is not a symbolic link; it is left untouched (move it away first)"
fi
ln -s "$target" outfiles || fail "cannot create the outfiles link"
echo "outfiles -> $target"
