"""Writing benchmark results: one Markdown section per device kind, the others kept."""


def write_section(path, title, kind, section):
    """Replace the ``## {kind}`` section of the Markdown file at ``path`` (created with ``title``)."""
    try:
        text = open(path).read()
    except FileNotFoundError:
        text = f"# {title}\n"
    parts = text.split("\n## ")
    kept = [part for part in parts[1:] if not part.startswith(kind)]
    open(path, "w").write("\n## ".join([parts[0].rstrip("\n") + "\n", *kept, section.removeprefix("## ")]) + "\n")
