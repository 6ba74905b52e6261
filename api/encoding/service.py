"""Encode demands and provider documents once, in the worker, and read the stored vectors back.

Intake and provider writes only store text; the worker (``encode_pending``, between rounds) finds
what has no vectors of the current model, or whose text changed since, and encodes it in batches. A
row whose text did not change (a status change also touches ``updated_at``) only has its vectors'
timestamp renewed. Matching reads the vectors with ``load_chunks``; whatever is still pending is ranked
by its sparse scores alone and the page says so (``EncodingStatus``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.models import Demand
from api.encoding.models import OwnerKind, TextVector
from api.providers.models import Branch, Expert, Society
from api.providers.profiles import branch_own_documents, expert_own_documents, society_own_documents
from api.settings import get_settings
from features.encoder import E5Encoder, Encoder, NullEncoder, load_encoder
from matcher.dense import EncodedChunk, encode_demands, encode_documents, source_hash

OwnerModel = type[Demand] | type[Society] | type[Branch] | type[Expert]
MODELS: dict[OwnerKind, OwnerModel] = {
    OwnerKind.DEMAND: Demand,
    OwnerKind.SOCIETY: Society,
    OwnerKind.BRANCH: Branch,
    OwnerKind.EXPERT: Expert,
}
# Owners encoded per transaction: about 5-30 s of encoding on two cores, short enough for progress.
BATCH = 32
ENCODER_OFF_NOTICE = "语义匹配暂不可用（句向量模型未加载），匹配度仅按关键词计算。"
PENDING_NOTICE = "部分文本的语义向量仍在计算中，这些需求暂按关键词匹配。"
DEMAND_PENDING_NOTICE = "该需求的语义向量仍在计算中，本列表暂按关键词排序，稍后刷新即可。"
PROVIDERS_PENDING_NOTICE = "匹配对象的语义向量仍在计算中，本列表暂按关键词排序，稍后刷新即可。"


def encoder(enabled: bool | None = None) -> E5Encoder | NullEncoder:
    """The process's encoder (loaded once); the null one when switched off or not loadable.

    ``enabled`` None follows the environment's settings (``HUIQI_ENCODER``).
    """
    return _encoder(get_settings().encoder if enabled is None else enabled)


@cache
def _encoder(enabled: bool) -> E5Encoder | NullEncoder:
    return load_encoder(enabled)


@dataclass(frozen=True)
class EncodingStatus:
    """How many owners still wait for vectors of the current model, per kind."""

    available: bool
    model: str
    pending: dict[str, int]

    @property
    def total_pending(self) -> int:
        """Owners of every kind still waiting."""
        return sum(self.pending.values())

    @property
    def progress(self) -> str:
        """How far encoding is, in one sentence for staff (the import page and its answer show it)."""
        if not self.available:
            return ENCODER_OFF_NOTICE
        if not self.total_pending:
            return "全部文本的语义向量均已计算完毕。"
        demands = self.pending.get(OwnerKind.DEMAND.value, 0)
        providers = self.total_pending - demands
        parts = [f"{demands} 条需求"] if demands else []
        parts += [f"{providers} 个学会、分支机构或专家"] if providers else []
        return (
            f"尚有 {'、'.join(parts)}的文本在后台计算语义向量；"
            "完成前这些需求按关键词匹配，可稍后刷新本页查看进度。"
        )

    @property
    def notice(self) -> str | None:
        """The sentence shown to staff when ranking is not fully semantic, or None."""
        if not self.available:
            return ENCODER_OFF_NOTICE
        return PENDING_NOTICE if self.total_pending else None


def _owner_texts(row: Any) -> list[str]:
    """What an owner is encoded from: a demand's title, description and keywords; a provider's name
    (its chunks' prefix; none for an expert, whose name says nothing of the field) then documents."""
    if isinstance(row, Demand):
        return [row.title, row.description or "", "、".join(row.keywords or ())]
    if isinstance(row, Society):
        return [row.name, *society_own_documents(row)]
    if isinstance(row, Branch):
        return [f"{row.society.name}{row.name}", *branch_own_documents(row)]
    return ["", *expert_own_documents(row)]


def _pending_query(kind: OwnerKind, checksum: str) -> Any:
    model = MODELS[kind]
    vectors = TextVector.__table__.alias("v")
    joined = and_(
        vectors.c.owner_kind == kind.value,
        vectors.c.owner_id == model.id,
        vectors.c.position == 0,
        vectors.c.checksum == checksum,
    )
    stale = or_(vectors.c.id.is_(None), model.updated_at > vectors.c.encoded_at)
    return select(model.id).outerjoin(vectors, joined).where(stale)


def status(session: Session, enc: Encoder | None = None) -> EncodingStatus:
    """Owners waiting for vectors of the current model, per kind."""
    current = enc or encoder()
    if not current.available:
        return EncodingStatus(False, current.identity.name, {})
    pending = {}
    for kind in OwnerKind:
        query = _pending_query(kind, current.identity.checksum).subquery()
        pending[kind.value] = session.scalar(select(func.count()).select_from(query)) or 0
    return EncodingStatus(True, current.identity.name, pending)


def _encode(enc: Encoder, kind: OwnerKind, texts: Sequence[list[str]]) -> list[list[EncodedChunk]]:
    if kind is OwnerKind.DEMAND:
        triples = [(t[0], t[1], [t[2]] if t[2] else []) for t in texts]
        return [[chunk] for chunk in encode_demands(enc, triples)]
    return encode_documents(enc, [(t[0], t[1:]) for t in texts])


def _write(
    session: Session,
    enc: Encoder,
    kind: OwnerKind,
    owner_id: int,
    digest: str,
    chunks: Sequence[EncodedChunk],
) -> None:
    session.execute(delete(TextVector).where(TextVector.owner_kind == kind, TextVector.owner_id == owner_id))
    identity = enc.identity
    # An owner without text keeps one empty marker row, so it is not pending forever.
    rows = chunks or [EncodedChunk(0, "", b"")]
    session.add_all(
        TextVector(
            owner_kind=kind,
            owner_id=owner_id,
            position=position,
            document=chunk.document,
            text=chunk.text,
            model=identity.name,
            checksum=identity.checksum,
            dim=identity.dim if chunk.vector else 0,
            source_hash=digest,
            vector=chunk.vector,
        )
        for position, chunk in enumerate(rows)
    )


def _stored_hashes(session: Session, kind: OwnerKind, ids: Sequence[int], checksum: str) -> dict[int, str]:
    query = select(TextVector.owner_id, TextVector.source_hash).where(
        TextVector.owner_kind == kind,
        TextVector.owner_id.in_(ids),
        TextVector.position == 0,
        TextVector.checksum == checksum,
    )
    return {row.owner_id: row.source_hash for row in session.execute(query)}


@dataclass(frozen=True)
class _Batch:
    """Owners read for one batch: their texts, and which of them need encoding."""

    kind: OwnerKind
    texts: dict[int, list[str]]
    digests: dict[int, str]
    changed: list[int]


def _read_batch(session: Session, enc: Encoder, kind: OwnerKind, limit: int) -> _Batch | None:
    """Up to ``limit`` pending owners of ``kind``; those whose text is unchanged are marked fresh here."""
    ids = list(
        session.scalars(_pending_query(kind, enc.identity.checksum).order_by(MODELS[kind].id).limit(limit))
    )
    if not ids:
        return None
    rows: Sequence[Any] = session.scalars(select(MODELS[kind]).where(MODELS[kind].id.in_(ids))).all()
    texts: dict[int, list[str]] = {row.id: _owner_texts(row) for row in rows}
    digests = {key: source_hash(value) for key, value in texts.items()}
    stored = _stored_hashes(session, kind, ids, enc.identity.checksum)
    unchanged = [key for key in texts if stored.get(key) == digests[key]]
    if unchanged:
        session.execute(
            update(TextVector)
            .where(TextVector.owner_kind == kind, TextVector.owner_id.in_(unchanged))
            .values(encoded_at=utcnow())
        )
    return _Batch(kind, texts, digests, [key for key in texts if key not in unchanged])


def _store_batch(
    session: Session, enc: Encoder, batch: _Batch, encoded: Sequence[Sequence[EncodedChunk]]
) -> None:
    """Write the batch's vectors, skipping owners deleted or edited while they were being encoded."""
    rows: Sequence[Any] = session.scalars(
        select(MODELS[batch.kind]).where(MODELS[batch.kind].id.in_(batch.changed))
    ).all()
    current = {row.id: source_hash(_owner_texts(row)) for row in rows}
    for key, chunks in zip(batch.changed, encoded, strict=True):
        if current.get(key) == batch.digests[key]:
            _write(session, enc, batch.kind, key, batch.digests[key], chunks)
    session.flush()


def remove_orphans(session: Session) -> int:
    """Delete vectors whose owner no longer exists; returns the rows deleted."""
    removed = 0
    for kind, model in MODELS.items():
        result = session.execute(
            delete(TextVector)
            .where(TextVector.owner_kind == kind, TextVector.owner_id.not_in(select(model.id)))
            .execution_options(synchronize_session=False)
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def encode_pending(
    factory: Callable[[], Any],
    enc: Encoder | None = None,
    *,
    limit: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Encode every pending owner (or ``limit`` of them): per batch, read, encode, then write.

    ``progress(done, remaining)`` is called after each batch. Returns the number of owners handled.
    """
    current = enc or encoder()
    if not current.available:
        return 0
    done = 0
    with factory() as session, session.begin():
        remove_orphans(session)
    for kind in OwnerKind:
        while limit is None or done < limit:
            size = BATCH if limit is None else min(BATCH, limit - done)
            with factory() as session, session.begin():
                batch = _read_batch(session, current, kind, size)
            if batch is None:
                break
            # The model runs outside any transaction: on SQLite a transaction holds the database's
            # write lock, and a batch takes seconds to encode while requests wait for that lock.
            encoded = _encode(current, kind, [batch.texts[key] for key in batch.changed])
            with factory() as session, session.begin():
                _store_batch(session, current, batch, encoded)
            done += len(batch.texts)
            if progress is not None:
                with factory() as session:
                    progress(done, status(session, current).total_pending)
    return done


@dataclass(frozen=True)
class StoredChunk:
    """A stored chunk: its text and vector bytes."""

    text: str
    vector: bytes


def load_chunks(
    session: Session, kind: OwnerKind, ids: Sequence[int], enc: Encoder | None = None
) -> dict[int, list[StoredChunk]]:
    """Stored chunks of the current model for the owners ``ids`` (owners without vectors are absent)."""
    current = enc or encoder()
    if not current.available or not ids:
        return {}
    found: dict[int, list[StoredChunk]] = {}
    for start in range(0, len(ids), 2000):
        query = (
            select(TextVector.owner_id, TextVector.text, TextVector.vector)
            .where(
                TextVector.owner_kind == kind,
                TextVector.owner_id.in_(ids[start : start + 2000]),
                TextVector.checksum == current.identity.checksum,
            )
            .order_by(TextVector.owner_id, TextVector.position)
        )
        for owner, text, vector in session.execute(query):
            chunks = found.setdefault(owner, [])
            if vector:
                chunks.append(StoredChunk(text, vector))
    return found


def demand_vectors(session: Session, ids: Sequence[int], enc: Encoder | None = None) -> dict[int, bytes]:
    """The stored vector of each demand of ``ids`` that has one of the current model."""
    return {
        owner: chunks[0].vector
        for owner, chunks in load_chunks(session, OwnerKind.DEMAND, ids, enc).items()
        if chunks
    }


def owner_chunks(
    session: Session, owners: Sequence[tuple[str, int]], enc: Encoder | None = None
) -> dict[tuple[str, int], list[tuple[str, bytes]]]:
    """Stored chunks (text, vector) of provider rows given as (kind, id), of the current model."""
    found: dict[tuple[str, int], list[tuple[str, bytes]]] = {}
    for kind in (OwnerKind.SOCIETY, OwnerKind.BRANCH, OwnerKind.EXPERT):
        ids = sorted({owner_id for k, owner_id in owners if k == kind.value})
        for owner_id, chunks in load_chunks(session, kind, ids, enc).items():
            found[(kind.value, owner_id)] = [(c.text, c.vector) for c in chunks]
    return found


def dense_notice(components: Sequence[str], demand_encoded: bool, enc: Encoder | None = None) -> str | None:
    """Why a ranking ran without its dense part, for staff; None when it used it.

    ``components`` are the names of the index's fused components.
    """
    if not (enc or encoder()).available:
        return ENCODER_OFF_NOTICE
    if "sentence_encoder" not in components:
        return PROVIDERS_PENDING_NOTICE
    return None if demand_encoded else DEMAND_PENDING_NOTICE
