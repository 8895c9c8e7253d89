"""Retrieved documents in one shape: a bounded list of ``{id, score, content, metadata}``.

Recognised shapes: strings; dicts; objects with ``page_content`` (LangChain), ``text`` /
``get_content()`` (LlamaIndex nodes), ``content`` or ``document``; ``(doc, score)`` tuples;
``NodeWithScore``-like wrappers (``.node`` + ``.score``); and result containers holding such a
list under ``documents``/``matches``/``results``/``hits``/``points`` (Chroma's nested lists
included). Reading a document never calls user code other than attribute access.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brokle_trace.llm._usage import read

__all__ = ["MAX_CONTENT_CHARS", "MAX_DOCUMENTS", "documents_of", "normalize_document"]

#: Documents kept in a span's output (the count attribute still says how many came back).
MAX_DOCUMENTS = 50
#: Characters of each document's content kept.
MAX_CONTENT_CHARS = 2_000

_ID_KEYS = ("id", "_id", "doc_id", "document_id", "node_id", "id_")
_SCORE_KEYS = ("score", "similarity", "relevance_score", "distance", "_score")
_CONTENT_KEYS = ("page_content", "content", "text", "document", "chunk", "body")
_CONTAINER_KEYS = ("documents", "matches", "results", "hits", "points", "nodes")


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _truncate(text: str) -> str:
    if len(text) <= MAX_CONTENT_CHARS:
        return text
    return text[:MAX_CONTENT_CHARS] + f"...[{len(text) - MAX_CONTENT_CHARS} more chars]"


def normalize_document(doc: Any) -> dict[str, Any] | None:
    """One retrieved item as ``{id, score, content, metadata}`` (keys only when known).

    Example:
        >>> normalize_document(({"id": "a", "text": "refunds within 30 days"}, 0.92))
        {'id': 'a', 'score': 0.92, 'content': 'refunds within 30 days'}
    """
    if isinstance(doc, str):
        return {"content": _truncate(doc)}
    if isinstance(doc, tuple) and len(doc) == 2 and _number(doc[1]) is not None:
        inner = normalize_document(doc[0])
        if inner is None:
            return None
        inner = {k: v for k, v in inner.items() if k != "score"}
        out: dict[str, Any] = {}
        if "id" in inner:
            out["id"] = inner.pop("id")
        out["score"] = _number(doc[1])
        out.update(inner)
        return out
    node = read(doc, "node")
    if node is not None and not isinstance(doc, Mapping):
        inner = normalize_document(node)  # LlamaIndex NodeWithScore
        score = _number(read(doc, "score"))
        if inner is not None and score is not None:
            inner = (
                {"id": inner["id"], "score": score, **inner}
                if "id" in inner
                else {"score": score, **inner}
            )
        return inner
    return _from_fields(doc)


def _from_fields(doc: Any) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key in _ID_KEYS:
        value = read(doc, key)
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            out["id"] = value
            break
    for key in _SCORE_KEYS:
        value = _number(read(doc, key))
        if value is not None:
            out["score"] = value
            break
    content = None
    for key in _CONTENT_KEYS:
        value = read(doc, key)
        if isinstance(value, str):
            content = value
            break
    if content is None and not isinstance(doc, Mapping):
        getter = getattr(type(doc), "get_content", None)
        if callable(getter):
            try:
                value = getter(doc)
            except Exception:
                value = None
            if isinstance(value, str):
                content = value
    if content is not None:
        out["content"] = _truncate(content)
    metadata = read(doc, "metadata")
    if isinstance(metadata, Mapping) and metadata:
        out["metadata"] = dict(list(metadata.items())[:20])
    if "content" not in out and "id" not in out:
        return None
    return out


def _items_of(result: Any) -> list[Any] | None:
    if isinstance(result, (list, tuple)):
        return list(result)
    for key in _CONTAINER_KEYS:
        value = read(result, key)
        if isinstance(value, (list, tuple)):
            if isinstance(result, Mapping) and value and isinstance(value[0], list):
                return _chroma(result)
            return list(value)
    return None


def _chroma(result: Mapping[str, Any]) -> list[Any]:
    # Chroma's query(): parallel lists of lists, one inner list per query; take the first.
    def first(key: str) -> list[Any]:
        value = result.get(key) or [[]]
        return list(value[0]) if value and isinstance(value[0], list) else []

    docs, ids, dists, metas = (
        first("documents"),
        first("ids"),
        first("distances"),
        first("metadatas"),
    )
    rows = []
    for i, text in enumerate(docs):
        row: dict[str, Any] = {"content": text}
        if i < len(ids):
            row["id"] = ids[i]
        if i < len(dists):
            row["distance"] = dists[i]
        if i < len(metas):
            row["metadata"] = metas[i]
        rows.append(row)
    return rows


def documents_of(result: Any) -> tuple[int, list[dict[str, Any]]] | None:
    """(how many items came back, up to :data:`MAX_DOCUMENTS` normalised ones), or None.

    Example:
        >>> documents_of(["a", "b"])
        (2, [{'content': 'a'}, {'content': 'b'}])
    """
    items = _items_of(result)
    if items is None:
        return None
    docs = []
    for item in items[:MAX_DOCUMENTS]:
        doc = normalize_document(item)
        if doc is None:
            return None  # not a list of documents after all: keep the default capture
        docs.append(doc)
    return len(items), docs
