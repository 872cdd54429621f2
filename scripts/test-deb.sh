#!/usr/bin/env bash
# The Debian package as an operator meets it: build it (from the debug build the tests made),
# check its contents and dependencies, install it with dpkg -i, run the installed server as
# the package's system user on the installed configuration, query it with the installed
# odbcsh, stop it with SIGTERM, and purge the package. Needs root (or sudo) for dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
fail() { echo "test-deb: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' odbcd 2>/dev/null | grep -q "install ok installed"; then
    fail "an odbcd package is installed on this machine already; not touching it"
fi
deb=$(scripts/package-deb.sh --debug | tail -1)
echo "built $deb"

# Contents: binaries, manual pages, configuration, unit, user.
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}')
for f in ./usr/bin/odbcd ./usr/bin/odbcsh ./usr/bin/odbcd-loadtest \
    ./usr/share/man/man1/odbcd.1.gz ./usr/share/man/man1/odbcd-run.1.gz \
    ./usr/share/man/man1/odbcd-reload.1.gz ./usr/share/man/man1/odbcsh.1.gz \
    ./usr/share/man/man1/odbcd-loadtest.1.gz ./etc/odbcd/server-config.ini \
    ./etc/odbcd/client-config.ini ./lib/systemd/system/odbcd.service \
    ./usr/lib/sysusers.d/odbcd.conf ./usr/share/doc/odbcd/copyright \
    ./usr/share/doc/odbcd/examples/odbc.ini; do
    grep -qxF "$f" <<<"$contents" || fail "$f is not in the package"
done
if grep -q '^./etc/odbcd/odbc' <<<"$contents"; then
    fail "ODBC ini files beside the server's configuration would replace the system's"
fi
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libodbc2' <<<"$depends" || fail "Depends lacks unixODBC's libodbc2: $depends"
grep -q 'libc6' <<<"$depends" || fail "Depends lacks libc6: $depends"
control=$(mktemp -d)
trap 'rm -rf "$control"' EXIT
dpkg-deb -e "$deb" "$control/DEBIAN"
diff <(sort "$control/DEBIAN/conffiles") <(printf '/etc/odbcd/client-config.ini\n/etc/odbcd/server-config.ini\n') \
    || fail "conffiles"
echo "contents, Depends ($depends) and conffiles as expected"

# Install.
work=$(mktemp -d)
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then $sudo kill -9 "$server_pid" 2>/dev/null || true; fi
    $sudo dpkg --purge odbcd >/dev/null 2>&1 || true
    $sudo rm -rf "$work" "$control"
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive $sudo dpkg -i "$deb"
getent passwd odbcd >/dev/null || fail "no odbcd system user"
[ "$(stat -c %U /var/log/odbcd)" = odbcd ] || fail "/var/log/odbcd is not odbcd's"
zcat /usr/share/man/man1/odbcd-run.1.gz | grep -q '^\.TH odbcd-run 1' || fail "odbcd-run.1"
man -w odbcsh >/dev/null 2>&1 || zcat /usr/share/man/man1/odbcsh.1.gz | grep -q '^\.TH odbcsh'
/usr/bin/odbcd check-config --config /etc/odbcd/server-config.ini >/dev/null \
    || fail "the installed configuration does not check"

# The installed server, as the package's user, on the installed configuration (what the unit
# runs), with a demo SQLite data source in the operator's odbc.ini.
if (exec 3<>/dev/tcp/127.0.0.1/6632) 2>/dev/null; then
    fail "port 6632 (the installed configuration's) is taken"
fi
chmod 0755 "$work"
sqlite3 "$work/demo.db" "CREATE TABLE greeting (id INTEGER, text TEXT); INSERT INTO greeting VALUES (1, 'hello from the package');"
printf '[demo]\nDriver = SQLite3\nDatabase = %s\nStepAPI = 1\n' "$work/demo.db" >"$work/odbc.ini"
$sudo chown -R odbcd:odbcd "$work"
$sudo install -d -o odbcd -g odbcd /run/odbcd
$sudo runuser -u odbcd -- env ODBCINI="$work/odbc.ini" /usr/bin/odbcd run \
    --config /etc/odbcd/server-config.ini >"$work/stderr.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
    if [ -s /run/odbcd/odbcd.pid ]; then break; fi
    sleep 0.1
done
[ -s /run/odbcd/odbcd.pid ] || { cat "$work/stderr.log" >&2; fail "the server did not start"; }
out=$(/usr/bin/odbcsh --port 6632 --connect "DSN=demo" --format csv -e "SELECT id, text FROM greeting")
[ "$out" = $'id,text\n1,hello from the package' ] || fail "odbcsh said: $out"
echo "the installed odbcsh read from the installed server: $out"
grep -q "session opened" /var/log/odbcd/server.log || fail "nothing in /var/log/odbcd/server.log"
$sudo kill -TERM "$(cat /run/odbcd/odbcd.pid)"
wait "$server_pid" || fail "the server did not exit cleanly ($?)"
server_pid=""
[ ! -e /run/odbcd/odbcd.pid ] || fail "the PID file stayed"

# Purge: the files and the package's folders go (the system user stays, as Debian does).
DEBIAN_FRONTEND=noninteractive $sudo dpkg --purge odbcd
for f in /usr/bin/odbcd /usr/bin/odbcsh /etc/odbcd /lib/systemd/system/odbcd.service /var/log/odbcd; do
    [ ! -e "$f" ] || fail "$f is still there after the purge"
done
echo "installed, served, queried, stopped and purged"
