"""``python -m fnnet.playground [--port N] [--open]``: serve the Playground on http://127.0.0.1:N/.

The server binds to 127.0.0.1 only. Another ``--host`` is refused unless
``--allow-remote`` is given too, and then a warning says that anyone who can
reach the address can train on this machine (there is no login). Needs the
optional extra: ``pip install 'fnnet[playground]'`` (without it, running this
module says so and exits).

Ctrl+C stops it: it prints ``Playground stopped (Ctrl+C).`` and exits with
status 0, without a traceback. With ``--open``, when no web browser can be
opened it says so and prints the address to open by hand.
"""

import argparse
import ipaddress
import sys
import threading
import webbrowser

try:  # the optional extra (the server is built on Starlette): without it, say what to install
    import starlette  # noqa: F401
    import uvicorn
except ImportError:
    sys.exit("the Playground needs Starlette and uvicorn: pip install 'fnnet[playground]'")

from fnnet.compilation import enable_compilation_cache
from fnnet.playground import server as playground_server


def _is_loopback(host) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fnnet.playground", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="the port to listen on (default 8000; 0 picks one)")
    parser.add_argument("--open", action="store_true", help="open the page in the default web browser")
    parser.add_argument("--host", default="127.0.0.1", help="the address to bind (default 127.0.0.1, loopback)")
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a --host other than loopback (anyone who reaches it can use the server)",
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port must be in [0, 65535], got {args.port}")
    if not _is_loopback(args.host) and not args.allow_remote:
        parser.error(
            f"--host {args.host} is not a loopback address; the Playground serves 127.0.0.1 only "
            "unless --allow-remote is given too"
        )
    return args


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the default web browser; when none opens, print the address to open by hand."""
    try:
        opened = webbrowser.open(url)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"No web browser could be opened: open {url} by hand.", flush=True)
    return opened


def main(argv=None):
    args = parse_args(argv)
    enable_compilation_cache()  # the next start loads the programs this one compiles

    remote = not _is_loopback(args.host)
    if remote:
        print(
            f"WARNING: serving on {args.host}, not loopback: anyone who can reach this address can start "
            "training runs on this machine; there is no login.",
            file=sys.stderr,
        )
    app = playground_server.create_app(allowed_hosts=["*"] if remote else playground_server.LOOPBACK_HOSTS)
    config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning")
    server = uvicorn.Server(config)

    def announce():  # once listening: print the address (the port chosen when --port 0) and open it
        while not server.started:
            if server.should_exit:
                return
            threading.Event().wait(0.05)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else args.port
        url = f"http://{args.host if remote else '127.0.0.1'}:{port}/"
        print(f"fnnet Playground: {url}  (Ctrl+C stops it)", flush=True)
        if args.open:
            open_in_browser(url)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()  # uvicorn shuts down on Ctrl+C, then raises the interrupt again
    except KeyboardInterrupt:
        print("Playground stopped (Ctrl+C).", flush=True)
        return
    print("Playground stopped.", flush=True)


if __name__ == "__main__":
    main()
