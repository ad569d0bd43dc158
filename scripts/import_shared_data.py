"""Copy the documentation corpora of ``../shared/data`` into ``corpora/apis`` as apipilot records.

Run once by a developer when the shared data changes:
    .venv/bin/python scripts/import_shared_data.py ../shared/data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from apipilot.indexes.corpora import corpora_dir
from apipilot.indexes.readers.jsonl import read_jsonl

POOLS = ("torchdata", "monkey", "beatnum", "pandas", "numpy")
POOL_VERSION = "pool"
DOC_VERSIONS = ("0.4.1", "0.5.1", "0.6.1", "0.7.1")


def main(shared: Path) -> None:
    out = corpora_dir() / "apis"
    out.mkdir(parents=True, exist_ok=True)
    jobs = [
        (shared / "torchdata-docs" / f"torchdata_v{v}_api_docs.jsonl", "torchdata", v)
        for v in DOC_VERSIONS
    ] + [(shared / "api-corpora" / f"{lib}_api.json", lib, POOL_VERSION) for lib in POOLS]
    for path, library, version in jobs:
        report = read_jsonl(
            path, library, version, source=f"shared/data/{path.parent.name}/{path.name}"
        )
        target = out / f"{library}@{version}.jsonl"
        with target.open("w", encoding="utf-8") as handle:
            for record in report.records:
                handle.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        print(f"{target.name}: {len(report.records)} records")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
