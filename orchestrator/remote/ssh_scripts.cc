#include "orchestrator/remote/ssh_scripts.h"

#include "orchestrator/remote/ssh_process.h"

namespace orchard::remote::scripts {

std::string Command(const std::string& script, const std::vector<std::string>& args) {
  std::string cmd = "exec sh -c " + ShQuote(script) + " orchard";
  for (const auto& a : args) cmd += " " + ShQuote(a);
  return cmd;
}

const char* const kSetup = R"sh(W=$1; shift
for t; do pkill -f "^cat - $t\$" 2>/dev/null; done
case $W in "~") W=$HOME ;; "~/"*) W=$HOME/${W#"~/"} ;; /*) ;; *) W=$HOME/$W ;; esac
for t in setsid tar find; do
  command -v $t >/dev/null 2>&1 || { echo "orchard: '$t' is missing on $(hostname) (util-linux, tar, findutils)" >&2; exit 3; }
done
mkdir -p "$W/blobs" "$W/code" "$W/runs" "$W/home" "$W/tmp" || exit 3
cd "$W" || exit 3
echo "ok $(pwd -P) $(hostname)"
)sh";

const char* const kShipCheck = R"sh(W=$1 S=$2
if [ -d "$W/$S" ]; then echo READY; exit 0; fi
while IFS= read -r h; do [ -f "$W/blobs/$h" ] || echo "$h"; done
echo END
)sh";

const char* const kShipReceive = R"sh(set -e
W=$1 S=$2 HOW=$3
T=$(mktemp -d "$W/tmp/ship.XXXXXX")
trap 'rm -rf "$T"' EXIT
tar -xf - -C "$T"
if [ -d "$T/blobs" ]; then find "$T/blobs" -type f -exec sh -c 'mv -f "$@" "$0"' "$W/blobs" {} +; fi
[ -f "$T/manifest" ] || exit 0
[ -d "$W/$S" ] && exit 0
D=$T/dest
mkdir "$D"
while read -r m h p; do
  case $p in */*) mkdir -p "$D/${p%/*}" ;; esac
  if [ "$HOW" = link ] && [ "$m" = 644 ]; then
    ln "$W/blobs/$h" "$D/$p" 2>/dev/null || cp "$W/blobs/$h" "$D/$p"
  else
    cp "$W/blobs/$h" "$D/$p"
    [ "$m" = 644 ] || chmod "$m" "$D/$p"
  fi
done < "$T/manifest"
mkdir -p "$(dirname "$W/$S")"
[ -d "$W/$S" ] || mv "$D" "$W/$S"
)sh";

namespace {

// Runs before the exports: a profile may set what the exports extend.
const char* const kJobHead = R"sh(W=$1 R=$2 C=$3 G=$4 SRC=$5 XP=$6; shift 6
D=$W/runs/$R
if [ -n "$SRC" ]; then
  case $SRC in "~/"*) SRC=$HOME/${SRC#"~/"} ;; esac
  . "$SRC" </dev/null >/dev/null 2>&1 || echo "orchard: sourcing $SRC failed on $(hostname)" >&2
fi
if [ -n "$XP" ]; then PATH=$XP:$PATH; export PATH; fi
)sh";

// The trainer runs in its own session (setsid): one kill reaches it and its
// children. The watcher reads the channel's stdin; EOF means nobody is
// listening any more, so the group gets SIGTERM, then SIGKILL after the grace.
const char* const kJobBody = R"sh(export ORCHARD_RUN_DIR="$D" ORCHARD_HOME="$W/home"
mkdir -p "$D" || { echo "orchard: cannot create $D on $(hostname)" >&2; exit 126; }
rm -f "$D.status" "$D.pgid"
cd "${C:-$W}" || { echo "orchard: cannot enter ${C:-$W} on $(hostname)" >&2; exit 126; }
case $1 in
  */*) [ -x "$1" ] || { echo "orchard: cannot execute $1 on $(hostname) (in $(pwd))" >&2; exit 127; } ;;
  *) command -v "$1" >/dev/null 2>&1 || { echo "orchard: command not found on $(hostname): $1 (PATH=$PATH)" >&2; exit 127; } ;;
esac
exec 3<&0
setsid -w sh -c 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec "$@"' "$D.pgid" "$@" </dev/null 3<&- &
T=$!
( while IFS= read -r _; do :; done <&3
  [ -e "$D.status" ] && exit 0
  P=$(cat "$D.pgid" 2>/dev/null) || P=$T
  kill -TERM -"$P"
  i=0; while [ $i -lt $((G * 10)) ] && kill -0 -"$P"; do sleep 0.1; i=$((i + 1)); done
  kill -KILL -"$P" ) >/dev/null 2>&1 &
K=$!
exec 3<&-
wait "$T"; rc=$?
P=$(cat "$D.pgid" 2>/dev/null) && kill -KILL -"$P" 2>/dev/null
echo "$rc" > "$D.status.tmp" && mv "$D.status.tmp" "$D.status"
kill "$K" 2>/dev/null
exit "$rc"
)sh";

}  // namespace

std::string JobScript(const std::map<std::string, std::string>& env) {
  std::string s = kJobHead;
  for (const auto& [k, v] : env) s += "export " + k + "=" + ShQuote(v) + "\n";
  return s + kJobBody;
}

const char* const kSignal = R"sh(D=$1/runs/$2; i=0
while [ ! -s "$D.pgid" ] && [ ! -e "$D.status" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -e "$D.status" ] && exit 0
P=$(cat "$D.pgid") && kill -"$3" -"$P"
)sh";

const char* const kStatus = R"sh(cat "$1/runs/$2.status" 2>/dev/null || echo none
)sh";

const char* const kPackRun = R"sh(W=$1 R=$2 F=$3; shift 3
for o; do D=$W/runs/$o; rm -rf "$D" "$D.status" "$D.pgid" "$D.status.tmp" "$D.pgid.tmp"; done
cd "$W/runs/$R" || exit 1
[ -n "$F" ] || exec tar -cf - .
L=$(mktemp "$W/tmp/fetch.XXXXXX") || exit 1
printf '%s\n' "$F" | while IFS= read -r f; do if [ -e "$f" ]; then printf '%s\n' "$f"; fi; done > "$L"
tar -cf - -T "$L"; rc=$?
rm -f "$L"
exit $rc
)sh";

const char* const kRemoveRuns = R"sh(W=$1; shift
for o; do D=$W/runs/$o; rm -rf "$D" "$D.status" "$D.pgid" "$D.status.tmp" "$D.pgid.tmp"; done
)sh";

const char* const kReap = R"sh(W=$1; shift
for R in "$@"; do
  D=$W/runs/$R
  [ -e "$D.status" ] && continue
  P=$(cat "$D.pgid" 2>/dev/null) && kill -KILL -"$P" 2>/dev/null && echo "reaped $R"
done
exit 0
)sh";

}  // namespace orchard::remote::scripts
