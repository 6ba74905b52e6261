"""A process that only solves loads numpy, scipy and the kernel: never the text stack.

scikit-learn alone takes about a second to import, more than the solver's cold-start budget; jieba
and the tokenizer's dictionaries are slower still. ``import matcher`` (which ``matcher.solver`` runs
first) must therefore import them only where a function needs them (fitting an index, tokenizing).
"""

import subprocess
import sys

import pytest

HEAVY = ("sklearn", "jieba", "joblib", "pandas")
PROBE = """
import sys
{statement}
print(" ".join(sorted({{name.split(".")[0] for name in sys.modules}})))
"""


@pytest.mark.parametrize(
    "statement",
    ["import matcher.solver", "from matcher import assign", "import matcher", "from matcher import match"],
)
def test_solving_does_not_load_the_text_stack(statement: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement=statement)], capture_output=True, text=True, check=True
    )
    loaded = set(out.stdout.split())
    assert "matcher" in loaded
    assert not loaded & set(HEAVY), f"{statement!r} imported {sorted(loaded & set(HEAVY))}"


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself can fail: fitting an index's vectorizer does load scikit-learn."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(statement="import features.vectorize")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "sklearn" in out.stdout.split()
