#!/bin/sh
# The accuracy check of syscall-coverage's static analysis (docs/syscall-coverage.md):
# for real static programs no one here wrote, every call `strace -f` sees on
# the host over a range of runs must be in the static set.
#   tools/syscall-coverage/accuracy.sh [path/to/syscall-coverage]
# Needs: strace, busybox-static, bash-static (cargo xtask setup installs them)
# and the compat binaries (cargo xtask compat --host-only builds them).
set -e
SC=${1:-target/release/syscall-coverage}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
echo hello > in.txt
printf 'b\na\nc\n' > lines.txt
R="$(cd "$OLDPWD" && realpath "$SC")"
echo "== busybox-static"
"$R" /bin/busybox --strace --no-sion \
  --run 'echo hi' --run 'ls -la /' --run 'cat in.txt' --run 'sort lines.txt' --run 'date' --run 'id' \
  --run 'uname -a' --run 'df' --run 'sleep 0.1' --run 'stat /' --run 'md5sum in.txt' --run 'ps' \
  --run 'cp in.txt out.txt' --run 'mkdir -p d/e' --run 'rm -r d out.txt' --run 'tar cf t.tar in.txt' \
  --run 'wc -l lines.txt' --run 'du -s .' --run 'env' --run 'nproc' --run 'free' --run 'uptime' \
  --run 'seq 3' --run 'timeout 1 sleep 0.1' --run 'nc -z 127.0.0.1 1' --run 'touch t' \
  --run 'find . -name "*.txt"' --run 'grep -r hello .' --run 'sed s/a/b/ lines.txt' \
  --run "awk '{print \$1}' lines.txt" --run 'gzip -k in.txt' --run 'ln -s in.txt l' --run 'readlink l' \
  --run 'chmod 600 in.txt' --run 'head -1 lines.txt' --run 'xxd in.txt' --run 'ping -c 1 127.0.0.1' \
  --run "sh -c 'echo a | cat; x=\$(echo y); test \$x = y; trap \"echo t\" EXIT; kill -0 \$\$'" \
  | grep -E '^(/|verdict|sites|strace)'
echo "== bash-static"
"$R" /bin/bash-static --strace --no-sion \
  --run '--version' --run '-c "echo hi"' --run '-c "for i in 1 2 3; do echo \$i; done | cat"' \
  --run '-c "x=\$(echo y); echo \${#x}"' --run '-c "read a < in.txt; echo \$a"' --run '-c "ulimit -a"' \
  --run '-c "trap \"echo t\" EXIT; kill -0 \$\$"' --run '-c "sleep 0.1 & wait"' --run '-c "cd /tmp && pwd"' \
  --run '-c "printf %s\\\\n *"' --run '-c "echo > out.txt; [ -f out.txt ]"' --run '-c "type ls; hash -r"' \
  --run '-c "time true"' --run '-c "exec 3<in.txt; read -u 3 l; echo \$l"' --run '-c "echo \$RANDOM > /dev/null"' \
  --run '-c "set -o pipefail; false | true"' --run '-c "echo \$(( 6 * 7 ))"' --run '-c "umask 022; umask"' \
  --run '-c "kill -l > /dev/null"' --run '-c "times"' --run '-c "ls /nonexistent 2>/dev/null; echo \$?"' \
  | grep -E '^(/|verdict|sites|strace)'
cd "$OLDPWD"
for b in i386 glibc musl; do
  echo "== compat tests, $b"
  "$R" --accuracy $b | tail -1
done
