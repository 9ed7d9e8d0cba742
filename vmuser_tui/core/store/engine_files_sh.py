"""The busybox ``sh`` scripts :class:`vmuser_tui.core.store.engine_files.EngineFiles` runs in
a workspace helper container, one per operation; see that module for the answer format and
why they are safe. Each is run as ``sh -c SCRIPT sh ARG...``: paths come in as argv words,
never as shell text, and are used as ``./NAME`` (no name reads as an option).
"""

# Shared functions. fail: print the status line and stop; exit 0 for "ok", 3 for a refusal,
# so that an answer the engine lost on the way still says whether the change was made. go TAG DIR: cd into
# /workspace/DIR one component at a time, refusing a link, a missing folder or a non-folder,
# then make sure the physical path is the expected one.
PRELUDE = r"""
W=/workspace
fail() { printf '\n@@VMU %s %s %s\n' "$1" "$2" "$3"; [ "$1" = ok ] && exit 0; exit 3; }
go() {
  cd -P "$W" || fail err 0 "cannot enter $W"
  [ -z "$2" ] && return 0
  i=0; rest=$2
  while :; do
    part=${rest%%/*}; i=$((i+1))
    [ -L "./$part" ] && fail link "$1$i"
    [ -e "./$part" ] || fail missing "$1$i"
    [ -d "./$part" ] || fail notdir "$1$i"
    cd -P "./$part" || fail missing "$1$i"
    case $rest in */*) rest=${rest#*/};; *) break;; esac
  done
  [ "$(pwd -P)" = "$W/$2" ] || fail moved "${1}0"
}
exists() { [ -e "./$1" ] || [ -L "./$1" ]; }
entries() { find . -mindepth 1 -maxdepth 1 ! -name "$1" -print0 2>/dev/null | tr -cd '\000' | wc -c; }
room() {  # room LIMIT PATTERN SKIP WHERE: refuse a new entry past LIMIT or beside look-alikes of PATTERN
  n=$(entries "${3:-/}")
  [ "$n" -ge "$1" ] && fail limit "${4:-0}" "$n"
  if [ -n "$2" ]; then
    c=$(find . -mindepth 1 -maxdepth 1 -name "$2" 2>/dev/null | head -n 1)
    if [ -n "$c" ]; then
      find . -mindepth 1 -maxdepth 1 -name "$2" -print0 2>/dev/null
      fail maybe "${4:-0}"
    fi
  fi
}
show() {  # stat lines of ./NAMEs, a NUL, then (./name, target) pairs of the links among them
  stat -c '%f|%s|%y|%n' "$@" 2>/dev/null
  printf '\000'
  for f; do [ -L "$f" ] && printf '%s\000%s\000' "$f" "$(readlink "$f")"; done
}
"""

LS = PRELUDE + r"""
go '' "$1"
if [ -n "$2" ]; then
  [ -L "./$2" ] && fail notfolder 0
  exists "$2" || fail nofile 0
  [ -d "./$2" ] || fail notfolder 0
  cd -P "./$2" || fail nofile 0
  [ "$(pwd -P)" = "$W/$3" ] || fail moved 0
fi
find . -mindepth 1 -maxdepth 1 ! -name "$4" -exec stat -c '%f|%s|%y|%n' {} + 2>/dev/null
printf '\000'
find . -mindepth 1 -maxdepth 1 -type l ! -name "$4" \
  -exec sh -c 'for f; do printf "%s\000%s\000" "$f" "$(readlink "$f")"; done' sh {} + 2>/dev/null
fail ok 0
"""

STAT = PRELUDE + r"""
go '' "$1"
if [ -n "$2" ]; then
  exists "$2" || fail nofile 0
  show "./$2"
else
  show .
fi
fail ok 0
"""

READ = PRELUDE + r"""
# streamed: the status line is read first; a refusal exits 0 too (a stream may take a
# non-zero exit for a broken exec)
fail() { printf '\n@@VMU %s %s %s\n' "$1" "$2" "$3"; exit 0; }
go '' "$1"
[ -L "./$2" ] && fail islink 0
exists "$2" || fail nofile 0
[ -d "./$2" ] && fail isdir 0
[ -f "./$2" ] || fail special 0
printf '\n@@VMU ok 0 \n'
if [ -n "$3" ]; then exec head -c "$3" "./$2" 2>/dev/null; else exec cat "./$2" 2>/dev/null; fi
"""

WRITE = PRELUDE + r"""
# $1 parent  $2 name  $3 temp name (put in /workspace)  $4 mode  $5 owner  $6 limit  $7 look-alike pattern
tmp=$3
trap 'rm -f "$W/$tmp" "./$tmp" 2>/dev/null' EXIT
go '' "$1"
if [ -n "$1" ]; then
  out=$(mv -f "$W/$tmp" "./$tmp" 2>&1) || fail err 0 "$out"
fi
[ -d "./$2" ] && [ ! -L "./$2" ] && fail isdir 0
if exists "$2"; then created=0; else created=1; room "$6" "$7" "$tmp" 0; fi
# touch: the tar gave whole seconds; the stat cache wants the real time of the change
out=$(chown "$5" "./$tmp" 2>&1 && chmod "$4" "./$tmp" 2>&1 && touch -c "./$tmp" 2>&1) || fail err 0 "$out"
# mv -T refuses a link to a folder as its target (it looks through it): the link goes first
[ -L "./$2" ] && rm -f "./$2"
out=$(mv -f -T "./$tmp" "./$2" 2>&1) || fail err 0 "$out"
trap - EXIT
show "./$2"
fail ok 0 "$created"
"""

MKDIR = PRELUDE + r"""
# $1 owner  $2 limit  $3 parents (1/0)  then NAME PATTERN pairs
owner=$1; limit=$2; parents=$3; shift 3
cd -P "$W" || fail err 0 "cannot enter $W"
i=0; here=$W
while [ $# -gt 0 ]; do
  part=$1; pat=$2; shift 2; i=$((i+1))
  if [ -L "./$part" ]; then
    [ $# -eq 0 ] && fail exists "$i"
    fail link "$i"
  fi
  if [ -e "./$part" ]; then
    if [ ! -d "./$part" ]; then [ $# -eq 0 ] && fail exists "$i"; fail notdir "$i"; fi
  else
    [ "$parents" = 1 ] || [ $# -eq 0 ] || fail missing "$i"
    room "$limit" "$pat" / "$i"
    out=$(mkdir -m 755 "./$part" 2>&1) || fail err "$i" "$out"
    out=$(chown "$owner" "./$part" 2>&1) || fail err "$i" "$out"
  fi
  cd -P "./$part" || fail link "$i"
  here=$here/$part
  [ "$(pwd -P)" = "$here" ] || fail link "$i"
done
show .
fail ok 0
"""

MV = PRELUDE + r"""
# $1 src parent  $2 src name  $3 dst parent  $4 dst name  $5 limit  $6 look-alike pattern
go a "$1"; A=$(pwd -P)
go b "$3"
[ -e "$A/$2" ] || [ -L "$A/$2" ] || fail nofile 0
exists "$4" && fail exists 0
room "$5" "$6" / 0
out=$(mv -n -T "$A/$2" "./$4" 2>&1) || fail err 0 "$out"
[ -e "$A/$2" ] || [ -L "$A/$2" ] && fail exists 0
show "./$4"
fail ok 0
"""

RM = PRELUDE + r"""
# $1 parent  $2 name  $3 recursive (1/0)
go '' "$1"
exists "$2" || fail nofile 0
if [ -d "./$2" ] && [ ! -L "./$2" ]; then
  if [ "$3" = 1 ]; then
    out=$(rm -rf "./$2" 2>&1) || fail err 0 "$out"
  else
    rmdir "./$2" 2>/dev/null || fail notempty 0
  fi
else
  out=$(rm -f "./$2" 2>&1) || fail err 0 "$out"
fi
fail ok 0
"""
