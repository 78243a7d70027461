"""A set of model files to deploy, completed with what it names but lacks from the latest versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}
FORM_PROPERTIES = ("formJsonSchemaFilename", "formUiSchemaFilename")
ALLOWED_SUFFIXES = (".bpmn", ".dmn", ".json")
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    """Why a deployment was refused: which file, which element, what is wrong."""

    file: str
    element: str
    reason: str
    line: int | None = None

    def describe(self) -> str:
        where = self.file or "(deployment)"
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" element '{self.element}'"
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict:
        return {"file": self.file, "element": self.element, "line": self.line, "reason": self.reason}


class BundleError(Exception):
    """A bundle refused whole."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.describe() for p in problems))


@dataclass(frozen=True)
class ModelFile:
    """One file as uploaded: a relative path and its bytes."""

    filename: str
    content: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8-sig")

    @property
    def basename(self) -> str:
        return self.filename.rsplit("/", 1)[-1]

    @property
    def kind(self) -> str:
        return self.filename.rsplit(".", 1)[-1].lower()


def parse_xml(f: ModelFile) -> etree._Element:
    """Parse XML, refusing it with the line number of the first syntax error."""
    try:
        return etree.fromstring(f.content, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        raise BundleError([Problem(f.filename, "", f"not well-formed XML: {exc.msg}", exc.lineno)]) from None


def references(root: etree._Element) -> tuple[set[str], set[str], set[str]]:
    """Forms, called processes and DMN decisions a BPMN document names."""
    forms = {
        p.get("value") for name in FORM_PROPERTIES
        for p in root.iterfind(f".//spiffworkflow:property[@name='{name}']", NS) if p.get("value")
    }
    called = {c.get("calledElement") for c in root.iterfind(".//bpmn:callActivity", NS) if c.get("calledElement")}
    decisions = {d.text.strip() for d in root.iterfind(".//spiffworkflow:calledDecisionId", NS) if d.text}
    return forms, called, decisions


def defined_processes(root: etree._Element) -> set[str]:
    return {p.get("id") for p in root.iterfind(".//bpmn:process", NS)}


def defined_decisions(root: etree._Element) -> set[str]:
    return {d.get("id") for d in root.iter() if isinstance(d.tag, str) and d.tag.endswith("}decision")}


@dataclass
class ModelBundle:
    """The files being deployed plus those inherited from the latest deployed versions."""

    files: dict[str, ModelFile]
    inherited: set[str] = field(default_factory=set)
    xml: dict[str, etree._Element] = field(default_factory=dict)

    def all_files(self) -> list[ModelFile]:
        return list(self.files.values())

    def find(self, name: str) -> ModelFile | None:
        """A file by exact path, else by base name."""
        if name in self.files:
            return self.files[name]
        base = name.rsplit("/", 1)[-1]
        return next((f for f in self.files.values() if f.basename == base), None)

    @classmethod
    def build(cls, files: list[ModelFile], pool: dict[str, ModelFile]) -> ModelBundle:
        """Check names and sizes, parse the XML, then pull in what the models name but lack."""
        problems = [p for f in files for p in _file_problems(f)]
        names = [f.filename for f in files]
        problems += [Problem(n, "", "file given twice") for n in sorted({n for n in names if names.count(n) > 1})]
        if problems:
            raise BundleError(problems)
        bundle = cls({f.filename: f for f in files})
        bundle._parse_xml(files)
        bundle._inherit(pool)
        return bundle

    def _parse_xml(self, files: list[ModelFile]) -> None:
        problems = []
        for f in files:
            if f.kind in ("bpmn", "dmn"):
                try:
                    self.xml[f.filename] = parse_xml(f)
                except BundleError as exc:
                    problems += exc.problems
        if problems:
            raise BundleError(problems)

    def _defined(self, kind: str) -> set[str]:
        finder = defined_processes if kind == "bpmn" else defined_decisions
        return {i for name, root in self.xml.items() if name.endswith("." + kind) for i in finder(root)}

    def _missing(self) -> tuple[set[str], set[str], set[str]]:
        forms, called, decisions = set(), set(), set()
        for name, root in self.xml.items():
            if name.endswith(".bpmn"):
                f, c, d = references(root)
                forms |= f
                called |= c
                decisions |= d
        return ({f for f in forms if self.find(f) is None}, called - self._defined("bpmn"),
                decisions - self._defined("dmn"))

    def _inherit(self, pool: dict[str, ModelFile]) -> None:
        """Add forms, called processes and DMN tables from the pool until nothing more can be found."""
        pool = {n: f for n, f in pool.items() if n not in self.files}
        while pool:
            forms, called, decisions = self._missing()
            wanted = [f for f in pool.values() if self._provides(f, forms, called, decisions)]
            if not wanted:
                return
            for f in wanted:
                self.files[f.filename] = f
                self.inherited.add(f.filename)
                pool.pop(f.filename)
                if f.kind in ("bpmn", "dmn"):
                    self.xml[f.filename] = parse_xml(f)

    @staticmethod
    def _provides(f: ModelFile, forms: set[str], called: set[str], decisions: set[str]) -> bool:
        if f.kind == "json":
            return f.filename in forms or f.basename in {n.rsplit("/", 1)[-1] for n in forms}
        if f.kind == "bpmn" and called:
            return bool(defined_processes(parse_xml(f)) & called)
        if f.kind == "dmn" and decisions:
            return bool(defined_decisions(parse_xml(f)) & decisions)
        return False


def _file_problems(f: ModelFile) -> list[Problem]:
    name = f.filename
    if not name or name.startswith("/") or ".." in name.split("/") or "\x00" in name:
        return [Problem(name.replace("\x00", "\\0"), "", "file name must be a relative path")]
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        return [Problem(name, "", "only .bpmn, .dmn and .json files can be deployed")]
    if len(f.content) > MAX_FILE_BYTES:
        return [Problem(name, "", f"file larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")]
    try:
        f.content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Problem(name, "", "file is not UTF-8 text")]
    if b"\x00" in f.content or (f.kind == "json" and b"\\u0000" in f.content):
        # PostgreSQL text and JSON cannot hold NUL: refuse it here, by file, not as a database error later.
        return [Problem(name, "", "file contains a NUL character (\\u0000)")]
    return []
