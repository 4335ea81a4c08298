"""pacsmine.lazy: stage packages export names without importing their heavy engines."""

import subprocess
import sys
import types

import pytest

from pacsmine.lazy import lazy_exports


def test_a_name_is_imported_from_its_module_on_first_use():
    getattr_ = lazy_exports("pacsmine", {"Workspace": ".workspace"})
    from pacsmine.workspace import Workspace

    assert getattr_("Workspace") is Workspace


def test_an_unknown_name_is_an_attribute_error():
    getattr_ = lazy_exports("pacsmine", {"Workspace": ".workspace"})
    with pytest.raises(AttributeError, match="'pacsmine' has no attribute 'Nothing'"):
        getattr_("Nothing")


def test_importing_the_stage_packages_loads_no_engine():
    code = ("import sys, pacsmine.images, pacsmine.vectors, pacsmine.topics, pacsmine.cli; "
            "print(sorted(m for m in ('torch', 'gensim', 'tomotopy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_stage_packages_resolve_their_exports():
    import pacsmine.images
    import pacsmine.vectors

    assert isinstance(pacsmine.images.run_images, types.FunctionType)
    assert isinstance(pacsmine.vectors.load_vectors, types.FunctionType)
