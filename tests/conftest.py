import os

from hypothesis import settings

# Gradient property tests compile a fresh function per drawn shape; keep the
# example count modest so the suite stays within minutes on 2 cores. CI runs
# derandomized so a red build is always reproducible.
settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
