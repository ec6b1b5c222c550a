# report.sh - a bash script for the compat suite: functions, recursion through
# command substitution, associative arrays, pipelines between subshells,
# redirections, here-documents, traps on EXIT, and exit statuses.
# Only bash builtins: the job's file tree has no other programs.
set -u
declare -A count
for w in apple banana apple cherry banana apple; do
  count[$w]=$(( ${count[$w]:-0} + 1 ))
done
for k in apple banana cherry; do printf '%-7s %d\n' "$k" "${count[$k]}"; done

fact() { local n=$1; if (( n <= 1 )); then echo 1; else echo $(( n * $(fact $((n - 1))) )); fi; }
echo "fact 8 = $(fact 8)"

# A pipeline of three subshells; the last counts lines.
n=$(printf '%s\n' one two three four | while read -r l; do echo "${l^^}"; done | { c=0; while read -r _; do c=$((c + 1)); done; echo $c; })
echo "lines through the pipeline: $n"

# Redirections and a here-document.
{ echo first; echo second; } > lines.txt
echo third >> lines.txt
while read -r l; do echo "read: $l"; done < lines.txt
cat_builtin() { while IFS= read -r l; do echo "| $l"; done; }
cat_builtin <<END
here $((6 * 7))
END

# Exit statuses of subshells and pipelines.
(exit 4) || echo "subshell status $?"
set -o pipefail
( echo x | (exit 3) ) || echo "pipefail status $?"
trap 'echo "EXIT trap ran"' EXIT
exit 6
