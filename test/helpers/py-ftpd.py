"""The Python-run FTP servers of the interop tests (test/helpers/ftp-servers.ts starts this script
with Debian's /usr/bin/python3, where python3-pyftpdlib and python3-twisted install).

  py-ftpd.py pyftpdlib|twisted HOST PORT ROOT PASV_MIN PASV_MAX MAX_SESSIONS BANNER RATE DIR
      Serves ROOT read-only to anonymous users on HOST:PORT, passive data ports in
      [PASV_MIN, PASV_MAX], at most MAX_SESSIONS control connections (0: no limit), RATE bytes/s
      per transfer (0: no limit; pyftpdlib only), greeting with BANNER.
  py-ftpd.py inetd HOST PORT DIR COMMAND...
      inetd for one service: accepts on HOST:PORT and execs COMMAND for each connection with the
      socket as its fd 0 and 1 (inetutils ftpd and BSD ftpd run so).

DIR is the caller's temp dir: it only marks the processes as the caller's. Each prints "ready" on
stdout once it listens, and exits when it cannot bind.
"""
import logging
import os
import signal
import socket
import sys


def pyftpdlib_server(host, port, root, pasv, max_sessions, banner, rate):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler, ThrottledDTPHandler
    from pyftpdlib.servers import FTPServer

    # Every command and reply on stdout (the server's log).
    logging.basicConfig(stream=sys.stdout, level=logging.DEBUG, format="%(message)s")
    authorizer = DummyAuthorizer()
    authorizer.add_anonymous(root, perm="elr")
    handler = type("Handler", (FTPHandler,), {})
    handler.authorizer = authorizer
    handler.banner = banner
    handler.passive_ports = range(pasv[0], pasv[1] + 1)
    if rate > 0:
        dtp = type("DTP", (ThrottledDTPHandler,), {})
        dtp.write_limit = rate
        handler.dtp_handler = dtp
    server = FTPServer((host, port), handler)
    # pyftpdlib counts its own listening socket among the connections (servers.py,
    # _accept_new_cons), so a max_cons of N admits N - 1 sessions.
    server.max_cons = max_sessions + 1 if max_sessions > 0 else 0
    print("ready", flush=True)
    server.serve_forever(handle_exit=False)


def twisted_server(host, port, root, pasv, max_sessions, banner):
    from twisted.cred.checkers import AllowAnonymousAccess
    from twisted.cred.portal import Portal
    from twisted.internet import reactor
    from twisted.protocols.ftp import FTP, FTPFactory, FTPRealm
    from twisted.python import log

    class LoggedFTP(FTP):
        """Every command and reply on stdout (the server's log)."""

        def lineReceived(self, line):
            print("<-", line.decode("latin-1"), flush=True)
            return super().lineReceived(line)

        def sendLine(self, line):
            print("->", line.decode("latin-1") if isinstance(line, bytes) else line, flush=True)
            return super().sendLine(line)

    log.startLogging(sys.stdout, setStdout=False)
    portal = Portal(FTPRealm(anonymousRoot=root), [AllowAnonymousAccess()])
    factory = FTPFactory(portal)
    factory.protocol = LoggedFTP
    factory.welcomeMessage = banner
    factory.passivePortRange = range(pasv[0], pasv[1] + 1)
    # FTPFactory is a policies.LimitTotalConnectionsFactory: past connectionLimit it greets 421
    # (FTPOverflowProtocol) and closes.
    if max_sessions > 0:
        factory.connectionLimit = max_sessions
    reactor.listenTCP(port, factory, interface=host)
    reactor.callWhenRunning(lambda: print("ready", flush=True))
    reactor.run()


def inetd(host, port, command):
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the sessions
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, port))
    listener.listen(64)
    print("ready", flush=True)
    while True:
        conn, peer = listener.accept()
        pid = os.fork()
        if pid == 0:
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.dup2(conn.fileno(), 0)
            os.dup2(conn.fileno(), 1)
            conn.close()
            os.execv(command[0], command)
        print(f"connection from {peer[0]}:{peer[1]}: pid {pid}", flush=True)
        conn.close()


def main():
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "inetd":
        inetd(host, port, sys.argv[5:])
        return
    root, pasv_min, pasv_max, max_sessions, banner, rate = sys.argv[4:10]
    pasv = (int(pasv_min), int(pasv_max))
    if kind == "pyftpdlib":
        pyftpdlib_server(host, port, root, pasv, int(max_sessions), banner, int(rate))
    elif kind == "twisted":
        twisted_server(host, port, root, pasv, int(max_sessions), banner)
    else:
        sys.exit(f"unknown server {kind}")


if __name__ == "__main__":
    main()
