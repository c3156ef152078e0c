"""A department's read-only view of the store: its own published products, nothing else.

The view lists products from the catalogue only, so it never shows a product whose
publication has not committed. Asking it for another department's product, or for a path
outside its own ``products/<department>/`` folder, raises ``PermissionError``. This is a
guard in the API (one process, one file system), not an operating-system boundary: give a
department's tools only its reader, or only its folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from storage.catalogue import Catalogue
from storage.files import MANIFEST_NAME

_REVISION_DIR = re.compile(r"r([1-9][0-9]*)")
_ANNEX_DIR = re.compile(r"r([1-9][0-9]*)\.case")


@dataclass(frozen=True, slots=True)
class Product:
    """A published product as a department sees it. ``path`` is absolute."""

    department: str
    project_id: str
    revision: int
    path: Path
    manifest_sha256: str
    file_count: int
    size: int
    published_at: str
    status: str


@dataclass(frozen=True, slots=True)
class Annex:
    """A document sealed beside a product (``r<N>.case/<name>``): the combined opinion of
    the revision's acceptance case. ``path`` is the annex folder, absolute."""

    department: str
    project_id: str
    revision: int
    name: str
    path: Path
    sha256: str
    size: int
    annexed_at: str
    status: str

    @property
    def file(self) -> Path:
        """The document itself."""
        return self.path / self.name


class StoreLike(Protocol):
    """What a reader uses of :class:`storage.store.Store` (which it never imports)."""

    products_dir: Path
    catalogue: Catalogue

    def products(
        self, department: str | None = None, project_id: str | None = None
    ) -> list[Product]: ...

    def annexes(
        self, department: str | None = None, project_id: str | None = None
    ) -> list[Annex]: ...


class DepartmentReader:
    """Lists and opens one department's products.

    Parameters
    ----------
    store
        The store.
    department
        The department whose products this view shows.
    """

    def __init__(self, store: StoreLike, department: str) -> None:
        self._store = store
        self._department = department
        self._root = (store.products_dir / department).resolve()

    @property
    def department(self) -> str:
        """The department this view belongs to."""
        return self._department

    def __repr__(self) -> str:
        return f"DepartmentReader({self._department!r}, {self._store!r})"

    def _own(self, product: Product) -> Product:
        if product.department != self._department:
            raise PermissionError(
                f"{self._department} may not read {product.department}'s products"
            )
        return product

    def _inside(self, path: Path) -> Path:
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self._root):
            raise PermissionError(f"{path} is not a {self._department} product")
        return resolved

    def products(self, project_id: str | None = None) -> list[Product]:
        """This department's published products (of one project, or all)."""
        return self._store.products(self._department, project_id)

    def latest(self, project_id: str) -> Product | None:
        """The product of the project's highest published revision, or None."""
        found = self.products(project_id)
        return found[-1] if found else None

    def product(self, project_id: str, revision: int) -> Product:
        """One published product.

        Raises
        ------
        LookupError
            If this department has no such product.
        """
        for product in self.products(project_id):
            if product.revision == revision:
                return product
        raise LookupError(f"no {self._department} product for {project_id} r{revision}")

    def annexes(self, project_id: str | None = None) -> list[Annex]:
        """The documents annexed to this department's products (of one project, or all):
        the combined opinions of their acceptance cases."""
        return self._store.annexes(self._department, project_id)

    def open_annex(self, annex: Annex) -> BinaryIO:
        """Open one of this department's annexed documents for reading (binary).

        Raises
        ------
        PermissionError
            If the annex is another department's.
        """
        if annex.department != self._department:
            raise PermissionError(f"{self._department} may not read {annex.department}'s annexes")
        return open(self._inside(annex.file), "rb")

    def files(self, product: Product) -> list[str]:
        """The product's file names as recorded at publication (the manifest excluded)."""
        self._own(product)
        recorded = self._store.catalogue.product_files(
            product.department, product.project_id, product.revision
        )
        return sorted(recorded)

    def open(self, product: Product, name: str) -> BinaryIO:
        """Open one file of one of this department's products for reading (binary).

        Raises
        ------
        PermissionError
            If the product is another department's, or ``name`` leads out of it.
        FileNotFoundError
            If the product has no such file.
        """
        self._own(product)
        path = self._inside(product.path / name)
        if name != MANIFEST_NAME and name not in self.files(product):
            raise FileNotFoundError(f"{product.path} has no file {name}")
        return open(path, "rb")

    def open_path(self, path: Path | str) -> BinaryIO:
        """Open a file by path, if it lies in one of this department's published products.

        Raises
        ------
        PermissionError
            If the path is outside this department's products folder.
        FileNotFoundError
            If it is not a file of a published product.
        """
        resolved = self._inside(Path(path))
        parts = resolved.relative_to(self._root).parts
        annexed = _ANNEX_DIR.fullmatch(parts[1]) if len(parts) == 3 else None
        if annexed is not None:
            for annex in self.annexes():
                if annex.path.resolve() == resolved.parent and annex.name == parts[2]:
                    return self.open_annex(annex)
            raise FileNotFoundError(f"{path} is not an annexed document")
        m = _REVISION_DIR.fullmatch(parts[1]) if len(parts) >= 3 else None
        if m is None:
            raise FileNotFoundError(f"{path} is not a file of a published product")
        try:
            product = self.product(parts[0], int(m.group(1)))
        except LookupError as exc:
            raise FileNotFoundError(f"{path} is not in a published product") from exc
        return self.open(product, "/".join(parts[2:]))
