"""Provider indexes on disk: a restart reads them back instead of refitting, and stale files are refitted."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from api.matching import index as index_module
from api.matching.index import clear_cache, provider_index, use_store
from api.matching.index_store import index_key, load_index
from api.providers.models import Society
from matcher import ProviderIndex
from matcher.index import CharacterComponent
from tests.api.matching_helpers import add_societies

pytestmark = pytest.mark.db
Factory = sessionmaker[Session]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "index"
    use_store(directory)
    clear_cache()
    yield directory
    use_store(None)
    clear_cache()


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Levels fitted from the database (the real build still runs)."""
    fitted: list[str] = []
    real = index_module.fit_index

    def counting(*args: Any, **kwargs: Any) -> ProviderIndex:
        fitted.append("society")
        return real(*args, **kwargs)

    monkeypatch.setattr(index_module, "fit_index", counting)
    return fitted


def _index(db: Factory) -> ProviderIndex:
    with db() as session:
        return provider_index(session, "society")


def _same(a: ProviderIndex, b: ProviderIndex) -> bool:
    first, second = a.components[0], b.components[0]
    assert isinstance(first, CharacterComponent)
    assert isinstance(second, CharacterComponent)
    return (
        a.names == b.names
        and (a.matrix != b.matrix).nnz == 0
        and np.array_equal(first.coef_t, second.coef_t)
        and first.vectorizer.vocabulary_ == second.vectorizer.vocabulary_
    )


def test_a_restarted_process_reads_the_index_back_instead_of_refitting(
    db: Factory, store: Path, builds: list[str]
) -> None:
    add_societies(db)
    built = _index(db)
    clear_cache()  # what a restart loses
    assert _same(_index(db), built)
    assert builds == ["society"]
    assert (store / "society.joblib").is_file()


def test_a_changed_provider_makes_the_stored_index_stale(db: Factory, store: Path, builds: list[str]) -> None:
    ids = add_societies(db)
    _index(db)
    with db.begin() as session:
        society = session.get(Society, next(iter(ids.values())))
        assert society is not None
        society.scope += "、新型显示材料"
    clear_cache()
    _index(db)
    clear_cache()
    _index(db)
    assert builds == ["society", "society"]


def test_a_torn_file_costs_a_refit_not_a_failed_request(db: Factory, store: Path, builds: list[str]) -> None:
    add_societies(db)
    _index(db)
    (store / "society.joblib").write_bytes(b"\x80\x04 torn")
    clear_cache()
    assert _index(db).fused
    clear_cache()
    _index(db)
    assert builds == ["society", "society"]  # the torn file was replaced by the refit


def test_an_unwritable_store_keeps_the_index_in_memory(db: Factory, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the directory should be", encoding="utf-8")
    use_store(blocked / "index")
    clear_cache()
    try:
        add_societies(db)
        assert _index(db).fused
    finally:
        use_store(None)
        clear_cache()


def test_the_key_separates_databases_levels_and_signatures(db: Factory, store: Path) -> None:
    add_societies(db)
    _index(db)
    with db() as session:
        signature = index_module.provider_signature(session)
        database = session.get_bind().engine.url.render_as_string(hide_password=True)
    assert load_index(store, "society", index_key(database, "society", signature)) is not None
    assert load_index(store, "society", index_key(database + "-other", "society", signature)) is None
    assert load_index(store, "society", index_key(database, "society", (*signature, "x"))) is None
    assert load_index(store, "expert", index_key(database, "expert", signature)) is None
