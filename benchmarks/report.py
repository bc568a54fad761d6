"""Writing benchmark results: one Markdown section per device kind, the others kept.

``RESULTS.md`` leads with ``bench_calls.py`` (fnnet against the hand-written limit,
per call); ``RESULTS_PEERS.md`` holds ``bench_fit.py``'s peer tables and
``RESULTS_SWEEP.md`` ``bench_sweep.py``'s.
"""


def write_section(path, title, kind, section, intro=""):
    """Replace the ``## {kind}`` section of the Markdown file at ``path``.

    A new file starts with ``# {title}`` and ``intro``; an existing file keeps its header.
    """
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = f"# {title}\n" + (f"\n{intro.strip()}\n" if intro else "")
    parts = text.split("\n## ")
    kept = [part for part in parts[1:] if not part.startswith(kind)]
    open(path, "w").write("\n## ".join([parts[0].rstrip("\n") + "\n", *kept, section.removeprefix("## ")]) + "\n")
