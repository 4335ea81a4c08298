"""The phantom's knowledge: disease concepts, regions, case types, wording pools, anatomy.

Everything here is read from the TOML data files beside this module
(``diseases.toml``, ``findings.toml``, ``cases.toml``, ``styles.toml``, ``words.toml``,
``anatomy.toml``) and pre-compiled once into :class:`Pool` objects (items with cumulative
weights), so that drawing a word or a template costs one ``random()`` and one bisection.

Wording that names a finding or symptom carries it as a slot, ``[[surface|concept|status]]``
(:func:`parse_slots`): the catalog strips the brackets once and keeps, per plain string,
the mentions it holds (:attr:`Catalog.slots`), so the writer records them in the truth.
"""

from __future__ import annotations

import random
import re
import tomllib
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Sequence

__all__ = ["Pool", "Concept", "Region", "CaseType", "Catalog", "catalog", "load_data", "parse_slots"]

_SLOT = re.compile(r"\[\[([^\]|]+)(?:\|([^\]|]*))?(?:\|([^\]|]+))?\]\]")
STATUSES = ("present", "absent", "uncertain", "historical")


def parse_slots(text: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """``"No [[free air|pneumoperitoneum|absent]]."`` -> ``("No free air.", (("free air",
    "pneumoperitoneum", "absent"),))``: the plain text and its (surface, concept, status)
    slots (concept defaults to the surface, status to "present")."""
    slots = []
    for m in _SLOT.finditer(text):
        surface, concept, status = m.group(1), m.group(2) or m.group(1), m.group(3) or "present"
        if status not in STATUSES:
            raise ValueError(f"slot {m.group(0)!r}: status must be one of {', '.join(STATUSES)}")
        slots.append((surface, concept, status))
    plain = _SLOT.sub(lambda m: m.group(1), text)
    if "[[" in plain or "]]" in plain:
        raise ValueError(f"malformed slot in {text!r}")
    return plain, tuple(slots)


def contradicts(ruled_out: str, present: set[str] | frozenset[str]) -> bool:
    """Whether saying ``ruled_out`` is absent contradicts a report whose concepts are
    ``present``: it is one of them, or a more general name inside one of them
    ("pleural effusion" inside "malignant pleural effusion")."""
    words = f" {ruled_out} "
    return any(ruled_out == c or words in f" {c} " for c in present)


def load_data(name: str) -> dict[str, Any]:
    """One of the package's TOML data files (``"cases"`` -> ``cases.toml``)."""
    return tomllib.loads(resources.files(__package__).joinpath(f"{name}.toml").read_text("utf-8"))


class Pool:
    """Items with cumulative weights; ``draw(rnd)`` takes one with ``rnd = rng.random``.

    ``zipf=True`` weights the i-th item by 1/(i+1) (the first items are the common ones),
    which is what gives word pools their long tail.
    """

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: Sequence[Any], weights: Sequence[float] | None = None, zipf: bool = False):
        if not items:
            raise ValueError("a pool needs at least one item")
        self.items = list(items)
        if weights is None:
            weights = [1.0 / (i + 1) for i in range(len(self.items))] if zipf else [1.0] * len(self.items)
        cum, total = [], 0.0
        for w in weights:
            total += float(w)
            cum.append(total)
        self.cum = cum
        self.total = total

    def draw(self, rnd: Callable[[], float]) -> Any:
        return self.items[bisect_right(self.cum, rnd() * self.total)]

    def __len__(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Concept:
    """A disease concept (a Disease Ontology name) and how it is written and drawn."""

    name: str
    surfaces: tuple[str, ...]
    organ: str
    tissue: str
    shape: str
    size_mm: tuple[float, float]
    kind: str
    metastatic: bool
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Region:
    name: str
    names: tuple[str, ...]
    body_part: str
    locations: dict[str, tuple[str, ...]]
    negatable: tuple[str, ...]
    normal: tuple[str, ...]
    symptoms: tuple[str, ...]


@dataclass(frozen=True)
class CaseType:
    name: str  # "chest/lung_metastasis"
    region: str
    main: str
    secondary: tuple[tuple[str, float], ...]
    oncologic: bool
    weight: float


class Catalog:
    """All data files, compiled. Built once per process (see :func:`catalog`)."""

    def __init__(self) -> None:
        diseases = load_data("diseases")["concepts"]
        self.concepts: dict[str, Concept] = {
            name: Concept(
                name=name,
                surfaces=tuple(spec["surfaces"]),
                organ=spec["organ"],
                tissue=spec["tissue"],
                shape=spec["shape"],
                size_mm=(float(spec["size_mm"][0]), float(spec["size_mm"][1])),
                kind=spec["kind"],
                metastatic=bool(spec.get("metastatic", False)),
                names=tuple(spec.get("names", ())),
            )
            for name, spec in diseases.items()
        }
        # Every concept the truth may name: its family (disease / finding / symptom) and the
        # other names it goes by (truth/mentions.parquet `family`, `names`).
        self.findings: dict[str, dict[str, Any]] = load_data("findings")["concepts"]
        self.family: dict[str, str] = {name: "disease" for name in self.concepts}
        self.names: dict[str, tuple[str, ...]] = {name: c.names for name, c in self.concepts.items()}
        for name, spec in self.findings.items():
            self.family.setdefault(name, spec["family"])
            self.names.setdefault(name, tuple(spec.get("names", ())))
        # plain wording -> the (surface, concept, status) slots it holds
        self.slots: dict[str, tuple[tuple[str, str, str], ...]] = {}
        cases = self._strip_slots(load_data("cases"))
        self.regions: dict[str, Region] = {
            name: Region(
                name=name,
                names=tuple(spec["names"]),
                body_part=spec["body_part"],
                locations={k: tuple(v) for k, v in spec["locations"].items()},
                negatable=tuple(spec["negatable"]),
                normal=tuple(spec["normal"]),
                symptoms=tuple(spec["symptoms"]),
            )
            for name, spec in cases["regions"].items()
        }
        self.region_weights: dict[str, dict[str, float]] = cases["region_weights"]
        self.case_types: dict[str, CaseType] = {}
        for name, spec in cases["cases"].items():
            self.case_types[name] = CaseType(
                name=name,
                region=name.split("/", 1)[0],
                main=spec["main"],
                secondary=tuple((c, float(p)) for c, p in spec.get("secondary", [])),
                oncologic=bool(spec.get("oncologic", False)),
                weight=float(spec["weight"]),
            )
        self.oncologic_history: tuple[str, ...] = tuple(cases["history"]["oncologic"])
        # Case types of each region, drawn by weight.
        self.case_pools: dict[str, Pool] = {}
        for region in self.regions:
            types = [c for c in self.case_types.values() if c.region == region]
            self.case_pools[region] = Pool([c.name for c in types], [c.weight for c in types])
        # Concepts a hedge may offer in a region: those drawn in the region's organs.
        self.hedge_concepts: dict[str, tuple[str, ...]] = {
            region: tuple(sorted(c.name for c in self.concepts.values() if c.organ in spec.locations))
            for region, spec in self.regions.items()
        }
        self.styles = self._strip_slots(load_data("styles"))
        self.words = self._strip_slots(load_data("words"))
        self.anatomy = load_data("anatomy")

    # ------------------------------------------------------------------ helpers

    def _strip_slots(self, data: Any) -> Any:
        """``data`` with every slot's brackets removed; the slots go to :attr:`slots`."""
        if isinstance(data, str):
            if "[[" not in data:
                return data
            plain, slots = parse_slots(data)
            self.slots[plain] = slots
            return plain
        if isinstance(data, list):
            return [self._strip_slots(x) for x in data]
        if isinstance(data, dict):
            return {k: self._strip_slots(v) for k, v in data.items()}
        return data

    def style_pool(self, items: Sequence[Any], style: int, salt: int) -> Pool:
        """A Zipf pool whose order (and so whose favourite items) depends on the style."""
        order = list(items)
        random.Random(7919 * (style + 1) + salt).shuffle(order)
        return Pool(order, zipf=True)

    def check(self) -> list[str]:
        """Consistency problems of the data files (empty list when all is well)."""
        problems = []
        for case in self.case_types.values():
            for concept in (case.main, *(c for c, _ in case.secondary)):
                if concept not in self.concepts:
                    problems.append(f"{case.name}: unknown concept {concept!r}")
            if case.region not in self.regions:
                problems.append(f"{case.name}: unknown region {case.region!r}")
        for region in self.regions.values():
            for concept in region.negatable:
                if concept not in self.concepts:
                    problems.append(f"{region.name}: unknown negatable concept {concept!r}")
            organs = {o[0] for o in self.anatomy["regions"][region.name]["organs"]}
            for organ in region.locations:
                if organ not in organs:
                    problems.append(f"{region.name}: locations for {organ!r}, which anatomy.toml lacks")
        for concept in self.oncologic_history:
            if concept not in self.concepts:
                problems.append(f"history: unknown concept {concept!r}")
        for plain, slots in self.slots.items():
            for surface, concept, _ in slots:
                if concept not in self.family:
                    problems.append(f"{plain!r}: slot {surface!r} names {concept!r}, which no catalog holds")
        tissues = self.anatomy["tissues"]
        for concept in self.concepts.values():
            if concept.tissue not in tissues:
                problems.append(f"{concept.name}: unknown tissue {concept.tissue!r}")
        return problems


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    """The compiled catalog (read once per process)."""
    return Catalog()
