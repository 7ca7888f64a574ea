#!/usr/bin/env bash
# Writes a program's man page (gzip -9n) from its own --help, at build time, so
# the page cannot drift from the program (packaging/CMakeLists.txt runs it).
#
#   gen_manpage.sh PROGRAM VERSION "ONE-LINE NAME" INCLUDE.h2m OUT.1.gz [--commands]
#
# help2man turns `PROGRAM --help` into the page; INCLUDE.h2m adds the sections
# --help does not have (environment, files, see also). With --commands the
# program has git-style subcommands (CLI11): each one's --help, recursively,
# becomes a subsection of COMMANDS. SOURCE_DATE_EPOCH fixes the page's date.
set -euo pipefail

program="$1" version="$2" name="$3" include="$4" out="$5"
commands="${6:-}"
work="$(mktemp -d)"
# No display, no GPU and no log output may change the page: --help is printed
# before any of them is looked at, but make sure.
unset DISPLAY WAYLAND_DISPLAY
export QT_QPA_PLATFORM=offscreen SC_LOG_LEVEL=error
trap 'rm -rf "${work}"' EXIT

# roff-escapes one line of plain text: backslashes, hyphens (so options
# copy-paste as ASCII), and a leading dot or quote that roff would read as a request.
roff_escape() {
  sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

# One CLI11 help text (stdin) as roff: the usage line as the subsection title,
# the description as a paragraph, every positional and option as a tagged
# paragraph (name in bold, type after it). -h/--help, the subcommand list
# (each subcommand has its own subsection) and the footer are left out.
command_section() {
  awk '
    function esc(s) {
      gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s)
      if (s ~ /^[.\047]/) s = "\\&" s
      return s
    }
    NR == 1 { description = $0; next }
    /^Usage: / {
      sub(/^Usage: /, ""); printf ".SS \"%s\"\n%s\n", esc($0), esc(description); next
    }
    /^(Positionals|Options|Subcommands):$/ { section = $0; next }
    /^\[Option Group: / { section = "Options:"; next }
    /^Run `/ || /^$/ { next }
    section == "Subcommands:" { next }
    /^  [^ ]/ {
      line = substr($0, 3)
      split_at = match(line, /   */)
      if (split_at) { spec = substr(line, 1, split_at - 1); text = substr(line, split_at + RLENGTH) }
      else { spec = line; text = "" }
      if (spec ~ /^-h,--help$/) { skipping = 1; next }
      skipping = 0
      n = index(spec, " ")
      if (n) { names = substr(spec, 1, n - 1); type = substr(spec, n + 1) } else { names = spec; type = "" }
      printf ".TP\n\\fB%s\\fR%s\n", esc(names), type == "" ? "" : " \\fI" esc(type) "\\fR"
      if (text != "") print esc(text)
      next
    }
    /^   */ { if (!skipping) { sub(/^ */, ""); print esc($0) }; next }
    { print esc($0) }
  '
}

# The subcommand names listed in a CLI11 help text (stdin).
subcommands() {
  awk '/^Subcommands:$/ { on = 1; next } on && /^  [^ ]/ { print $1; next } on { on = 0 }'
}

# Depth first, in the order --help lists them.
walk() {
  local help sub
  help="$("${program}" "$@" --help)"
  command_section <<<"${help}"
  while read -r sub; do
    [[ -n "${sub}" ]] && walk "$@" "${sub}"
  done < <(subcommands <<<"${help}")
}

includes=(--include="${include}")
if [[ "${commands}" == "--commands" ]]; then
  {
    echo "[COMMANDS]"
    echo "Each command's options; \\fB$(basename "${program}" | roff_escape) COMMAND \\-\\-help\\fR prints the same."
    while read -r sub; do
      [[ -n "${sub}" ]] && walk "${sub}"
    done < <("${program}" --help | subcommands)
  } >"${work}/commands.h2m"
  includes+=(--include="${work}/commands.h2m")
fi

help2man --no-info --no-discard-stderr --section=1 --version-string="${version}" \
  --source="StreamCanvas ${version}" --manual="User Commands" --name="${name}" \
  "${includes[@]}" --output="${work}/page.1" "${program}"
# help2man reads the program's help only; check it produced a real page.
grep -q '^\.SH OPTIONS' "${work}/page.1" || {
  echo "gen_manpage: ${program} --help gave no options; is the program broken?" >&2
  exit 1
}
gzip -9n <"${work}/page.1" >"${out}.tmp"
mv "${out}.tmp" "${out}"
