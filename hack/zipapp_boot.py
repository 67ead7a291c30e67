"""Start-up of the kubectl-ds zipapp (stored in the archive as `_kubectl_ds_boot.py`).

Python imports modules from a zip without ever caching their bytecode, so every run would compile
what it imports: 0.3 s for `--help`, 3-4 s once the kubernetes client is imported. So the first
run unpacks the payload into a per-build cache directory (as shiv does), imports write their
bytecode there once, and every later run imports from there. When the cache cannot be written,
it runs from the zip (slower, still correct).

Cache: $KUBECTL_DS_CACHE_DIR, else $XDG_CACHE_HOME/kubectl-ds/zipapp, else ~/.cache/kubectl-ds/zipapp;
one directory per build (named by the payload's hash), older builds are removed.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
import zipfile

BUILD_ID = "@BUILD_ID@"  # replaced by hack/dist.py with the payload's sha256
_DONE = ".complete"
_SITE_DIRS = ("site-packages", "dist-packages")


def cache_root() -> str:
    explicit = os.environ.get("KUBECTL_DS_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kubectl-ds", "zipapp")


def unpacked(archive: str) -> str | None:
    """The directory holding this build's payload, unpacked; None if it cannot be written."""
    root = cache_root()
    target = os.path.join(root, BUILD_ID)
    if os.path.exists(os.path.join(target, _DONE)):
        return target
    tmp = None
    try:
        os.makedirs(root, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".unpacking-", dir=root)
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp, [n for n in zf.namelist() if n not in ("__main__.py", "_kubectl_ds_boot.py")])
        open(os.path.join(tmp, _DONE), "w").close()
        try:
            os.rename(tmp, target)
            tmp = None
        except OSError:  # another run got there first: use its copy
            if not os.path.exists(os.path.join(target, _DONE)):
                return None
        _remove_other_builds(root)
        return target
    except OSError:
        return None
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_other_builds(root: str) -> None:
    for entry in os.listdir(root):
        if entry != BUILD_ID and not entry.startswith(".unpacking-"):
            shutil.rmtree(os.path.join(root, entry), ignore_errors=True)


def run(module: str, archive: str | None = None) -> None:
    """Import `module` from the unpacked payload (or the zip itself) and call its main()."""
    archive = archive or os.path.dirname(os.path.abspath(__file__))
    where = unpacked(archive) if zipfile.is_zipfile(archive) else None
    # self-contained: no site-packages, no editable-install finders (a pip-installed kubectl-ds,
    # an older urllib3...) between the zipapp and its own modules
    sys.path[:] = [where or archive] + [p for p in sys.path if os.path.abspath(p) != archive
                                        and os.path.basename(p.rstrip(os.sep)) not in _SITE_DIRS]
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
    if where:
        # bytecode is what the cache is for: write it there even under PYTHONDONTWRITEBYTECODE
        sys.dont_write_bytecode = False
    # urllib3 2 warns at import on LibreSSL (macOS's /usr/bin/python3): not the user's concern
    import warnings
    warnings.filterwarnings("ignore", message="urllib3 v2 only supports OpenSSL")
    importlib.import_module(module).main()
