#!/usr/bin/env bash
# Builds the Debian package target/debian/odbcd_VERSION_ARCH.deb: odbcd, odbcsh and
# odbcd-loadtest in /usr/bin, their manual pages (generated from the command-line
# definitions), the configuration in /etc/odbcd (conffiles), the systemd unit, the system
# user (sysusers.d, or useradd where systemd-sysusers is missing), and dependencies computed
# from the binaries by dpkg-shlibdeps (unixODBC's libodbc2, libc).
#
#   scripts/package-deb.sh            release build (what to install)
#   scripts/package-deb.sh --debug    the debug build cargo test made (the suite's package test)
set -euo pipefail
cd "$(dirname "$0")/.."

profile=release
cargo_profile=(--release)
if [ "${1:-}" = "--debug" ]; then
    profile=debug
    # The features `cargo test --all-features` built with: its binaries are reused.
    cargo_profile=(--all-features)
fi
cargo build --locked "${cargo_profile[@]}" -p odbcd --bin odbcd --bin odbcsh -p odbcd-loadtest --bin odbcd-loadtest

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
bin=target/$profile
root=target/debian/odbcd_${version}_${arch}
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" "$root/etc/odbcd" \
    "$root/lib/systemd/system" "$root/usr/lib/sysusers.d" "$root/usr/share/doc/odbcd/examples"

for b in odbcd odbcsh odbcd-loadtest; do
    install -m 0755 "$bin/$b" "$root/usr/bin/$b"
    strip --strip-unneeded "$root/usr/bin/$b"
done

# Manual pages from the clap definitions.
"$bin/odbcd" man "$root/usr/share/man/man1"
"$bin/odbcsh" --man-page >"$root/usr/share/man/man1/odbcsh.1"
"$bin/odbcd-loadtest" --man-page >"$root/usr/share/man/man1/odbcd-loadtest.1"
gzip -9n "$root"/usr/share/man/man1/*.1

# The configuration: the examples, with the files odbcd writes where the unit lets it write.
sed -e 's|^# pid_file = server.pid$|pid_file = /run/odbcd/odbcd.pid|' \
    -e 's|^# log_file = server.log$|log_file = /var/log/odbcd/server.log|' \
    config/server-config.ini >"$root/etc/odbcd/server-config.ini"
grep -q '^pid_file = /run/odbcd/odbcd.pid$' "$root/etc/odbcd/server-config.ini"
grep -q '^log_file = /var/log/odbcd/server.log$' "$root/etc/odbcd/server-config.ini"
install -m 0644 config/client-config.ini "$root/etc/odbcd/client-config.ini"
chmod 0644 "$root/etc/odbcd/server-config.ini"
# Examples only: an odbc.ini beside the server's configuration would be the driver manager's.
for f in odbc.ini odbcinst.ini haproxy.cfg secure-server-config.ini secure-client-config.ini \
    authorized-users-example.txt; do
    install -m 0644 "config/$f" "$root/usr/share/doc/odbcd/examples/$f"
done
install -m 0644 config/odbcd.service "$root/lib/systemd/system/odbcd.service"
install -m 0644 config/odbcd.sysusers "$root/usr/lib/sysusers.d/odbcd.conf"
install -m 0644 README.md "$root/usr/share/doc/odbcd/README.md"
cat >"$root/usr/share/doc/odbcd/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: odbcd

Files: *
License: MIT or Apache-2.0
EOF

# Dependencies from the binaries' shared libraries.
shlibs=$(mktemp -d)
mkdir "$shlibs/debian"
printf 'Source: odbcd\n\nPackage: odbcd\nArchitecture: any\n' >"$shlibs/debian/control"
depends=$(cd "$shlibs" && dpkg-shlibdeps -O "$OLDPWD/$root/usr/bin/odbcd" "$OLDPWD/$root/usr/bin/odbcsh" \
    "$OLDPWD/$root/usr/bin/odbcd-loadtest" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
rm -rf "$shlibs"
[ -n "$depends" ] || { echo "dpkg-shlibdeps found no dependencies" >&2; exit 1; }

cat >"$root/DEBIAN/control" <<EOF
Package: odbcd
Version: $version
Architecture: $arch
Maintainer: odbcd developers <odbcd@example.invalid>
Section: database
Priority: optional
Depends: $depends
Recommends: odbcinst
Suggests: libsqliteodbc, odbc-postgresql
Installed-Size: $(du -sk --exclude=DEBIAN "$root" | cut -f1)
Description: networked ODBC server and fail-over client
 odbcd runs next to ODBC drivers and lets client applications reach any ODBC
 data source over TCP, with compression, TLS, authentication, limits, session
 resume and fail-over across several servers. The package holds the server
 (odbcd, a systemd unit), the shell odbcsh and the load generator
 odbcd-loadtest.
EOF
printf '/etc/odbcd/server-config.ini\n/etc/odbcd/client-config.ini\n' >"$root/DEBIAN/conffiles"

cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if command -v systemd-sysusers >/dev/null 2>&1; then
        systemd-sysusers /usr/lib/sysusers.d/odbcd.conf
    elif ! getent passwd odbcd >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/odbcd --no-create-home \
            --shell /usr/sbin/nologin --comment "odbcd networked ODBC server" odbcd
    fi
    install -d -o odbcd -g odbcd -m 0750 /var/lib/odbcd /var/log/odbcd
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload >/dev/null || true
    fi
fi
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
    systemctl stop odbcd.service >/dev/null 2>&1 || true
fi
EOF
cat >"$root/DEBIAN/postrm" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = purge ]; then
    rm -rf /var/log/odbcd /var/lib/odbcd
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

dpkg-deb --root-owner-group -Zxz --build "$root" "target/debian/" >/dev/null
echo "target/debian/odbcd_${version}_${arch}.deb"
