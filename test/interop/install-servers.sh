#!/usr/bin/env bash
# Installs the FTP servers the interop tests start (test/helpers/ftp-servers.ts), from Debian's
# packages. Idempotent: a server already there is left alone. Run as root, by .ci/run and by a
# developer once.
#
# vsftpd, pyftpdlib and Twisted install as usual. pure-ftpd, proftpd, inetutils-ftpd and BSD ftpd
# (ftpd-ssl) each Provide and Conflict ftp-server, so apt would remove vsftpd for them: they are
# downloaded and unpacked (dpkg -x) under $SMARTFTP_FTPDS (default /opt/smartftp-ftpds) and run from
# there with the tests' own config. Their shared libraries install as ordinary packages. Nothing is
# enabled or started here. tmux, for the terminal tests (test/tty), comes along.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
DEST="${SMARTFTP_FTPDS:-/opt/smartftp-ftpds}"

# Ordinary packages: the servers that do not conflict, and the unpacked ones' libraries.
PACKAGES=(
  vsftpd python3-pyftpdlib python3-twisted
  libcap2 libcrypt1 libpam0g libsodium23 libssl3                      # pure-ftpd
  libacl1 libhiredis0.14 libidn2-0 libmemcached11 libmemcachedutil2   # proftpd
  libncursesw6 libpcre2-8-0 libpcre2-posix3 libtinfo6 zlib1g
  libwrap0                                                            # inetutils-ftpd
  libpam-modules                                                      # BSD ftpd
  tmux                                                                # test/tty: the terminal tests
)
# Unpacked: package and the binary it must leave under $DEST/<package>.
UNPACK=(
  "pure-ftpd:usr/sbin/pure-ftpd"
  "proftpd-core:usr/sbin/proftpd"
  "inetutils-ftpd:usr/sbin/ftpd"
  "ftpd-ssl:usr/sbin/in.ftpd"
)

missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
done
todo=()
for u in "${UNPACK[@]}"; do
  [ -x "$DEST/${u%%:*}/${u#*:}" ] || todo+=("$u")
done
if [ ${#missing[@]} -eq 0 ] && [ ${#todo[@]} -eq 0 ]; then
  echo "install-servers: every FTP server is in place"
  exit 0
fi

apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-servers: apt-get install ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ${#todo[@]} -gt 0 ]; then
  work="$(mktemp -d)"
  chmod 755 "$work"; chown _apt "$work" 2>/dev/null || true # apt-get download fetches as the _apt user
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$DEST"
  for u in "${todo[@]}"; do
    pkg="${u%%:*}"
    echo "install-servers: unpacking $pkg into $DEST/$pkg"
    (cd "$work" && apt-get download -qq "$pkg")
    rm -rf "$DEST/$pkg.tmp"
    dpkg -x "$work/${pkg}"_*.deb "$DEST/$pkg.tmp"
    rm -rf "$DEST/$pkg"
    mv "$DEST/$pkg.tmp" "$DEST/$pkg"
    [ -x "$DEST/$pkg/${u#*:}" ] || { echo "install-servers: $pkg has no ${u#*:}" >&2; exit 1; }
  done
fi
echo "install-servers: done"
