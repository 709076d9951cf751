#!/usr/bin/env bash
# `mldeploy completion bash|zsh|fish` in the real shells: bash's script sourced
# and asked what <TAB> offers (COMPREPLY), fish's asked with `complete -C`, zsh's
# parsed and loaded; and the man page the build made from the commands' help.
# Needs no engine.
source "$(dirname "$0")/../e2e/lib.sh"
BUILD=${BUILD:?set BUILD to the build folder}
trap 'rm -rf "$WORK"' EXIT
cd "$REPO"

"$MLDEPLOY" completion bash >"$WORK/mldeploy.bash"
"$MLDEPLOY" completion zsh >"$WORK/_mldeploy"
"$MLDEPLOY" completion fish >"$WORK/mldeploy.fish"

# What bash offers for a line whose last word is being completed: one per line, sorted.
tab() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _mldeploy
           printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$WORK/mldeploy.bash" "$MLDEPLOY" "$@"
}
lines() { printf '%s\n' "$@" | sort; }

check "bash: the script registers itself" contains "$(bash -c 'source "$1"; complete -p mldeploy' _ "$WORK/mldeploy.bash")" \
  "complete -F _mldeploy mldeploy"
check "bash: mldeploy sca<TAB> is scale" eq "$(tab sca)" scale
check "bash: mldeploy sc<TAB> is scale and schema" eq "$(tab sc | tr "\n" " ")" "scale schema "
check "bash: mldeploy up --dr<TAB> is --drain and --dry-run" eq "$(tab up --dr)" "$(lines --drain --dry-run)"
check "bash: mldeploy up --dry<TAB> is --dry-run" eq "$(tab up --dry)" --dry-run
commands=$("$MLDEPLOY" --help | awk '/^[A-Za-z]+:$/ { s = ($0 ~ /^SUBCOMMANDS:$|^Subcommands:$/); next } s && /^  [a-z]/ { print $1 }' | sort)
check "bash: mldeploy <TAB> is every command of --help" eq "$(tab '')" "$commands"
check "bash: global options after the command" contains "$(tab scale --)" "--replicas"
check "bash: global options after the command (2)" contains "$(tab scale --)" "--stack"
check "bash: logs -f is --follow, and takes no value" eq "$(tab logs -f --ta)" --tail
check "bash: -f before a command takes a file" contains "$(tab -f stacks/mo)" stacks/movies.toml
check "bash: --format's choices" eq "$(tab --format '')" "$(lines json text)"
check "bash: completion's shells" eq "$(tab completion '')" "$(lines bash fish zsh)"
check "bash: --replicas takes a number, nothing to offer" eq "$(tab scale --replicas '')" ""
check "bash: up's STACK_FILE is a file" contains "$(tab up stacks/e)" stacks/echo.toml
check "bash: SERVICE from the stack file given with -f" eq "$(tab -f stacks/movies.toml scale '')" recommender
check "bash: SERVICE from --file after the command" eq "$(tab logs --file stacks/echo.toml -f '')" echo

# fish answers `complete -C LINE` with "word<TAB>description" lines. The line's
# `mldeploy` is the binary under test.
PATH=$(dirname "$MLDEPLOY"):$PATH
fish_tab() { fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$WORK/mldeploy.fish" "$1" | cut -f1 | sort; }
check "fish: mldeploy sca<TAB> is scale" eq "$(fish_tab "mldeploy sca")" scale
check "fish: mldeploy up --dr<TAB> is --drain and --dry-run" eq "$(fish_tab 'mldeploy up --dr')" "$(lines --drain --dry-run)"
check "fish: SERVICE from the stack file given with -f" eq "$(fish_tab 'mldeploy -f stacks/movies.toml scale ')" recommender
check "fish: SERVICE from --file, with logs' own -f" eq "$(fish_tab 'mldeploy logs -f --file stacks/echo.toml ')" echo
check "fish: --format's choices" eq "$(fish_tab 'mldeploy ps --format ')" "$(lines json text)"
check "fish: logs -f is --follow" contains "$(fish --no-config -c 'source $argv[1]; complete -C "mldeploy logs -"' "$WORK/mldeploy.fish")" \
  $'-f\tKeep following new lines'

check "zsh: the script parses" zsh -n "$WORK/_mldeploy"
check "zsh: loads with compinit and registers _mldeploy" eq \
  "$(zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D; print -r -- $_comps[mldeploy]' _ "$WORK")" _mldeploy

# The man page: help2man's output on the binary, with a section per command.
man=$BUILD/share/mldeploy.1
check "man page was built" test -s "$man" -a -s "$man.gz"
for c in $commands; do
  check "man page: section for $c" grep -q "^\\.SS \"$c\"" "$man"
done
check "man page: global options" grep -q -- 'stack NAME' "$man"
check "man page: renders without groff warnings" eq "$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l "$man" 2>&1 >/dev/null)" ""
check "completion with no shell: exit 2" eq "$("$MLDEPLOY" completion >/dev/null 2>&1; echo $?)" 2
finish
