#!/usr/bin/env python3
"""Grapheme-to-phoneme pairs from CMUdict (data/g2p/cmudict.txt, BSD-2-Clause), for
lstm seq2seq train: OUTDIR/train.tsv and OUTDIR/test.tsv, lines "WORD<TAB>PH ON EMES".

    python3 scripts/g2p_data.py data/g2p/cmudict.txt build/g2p

The rule, stated so that every run and the PyTorch twin see the same data:
  - words of the letters A-Z and the apostrophe only (drops "A.", "A42128", "DÉJÀ", ...);
  - one pronunciation per word: the first (entries "WORD(1)", "WORD(2)" are left out);
  - phonemes without their stress digits (AH0 -> AH): CMUdict's 39 phonemes, as in the
    G2P literature (Yao & Zweig 2015 and the work they compare with);
  - a fixed random 90/10 split by word: a word is a test word when the FNV-1a hash of its
    bytes is 0 modulo 10, so the split depends on nothing but the word.
Standard library only; any python3 runs it.
"""
import os
import re
import sys

WORD = re.compile(r"^[A-Z']+$")


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: g2p_data.py CMUDICT.txt OUTDIR")
    source, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    train, test = [], []
    with open(source, "rb") as f:
        for raw in f:
            line = raw.decode("latin-1").rstrip("\r\n")
            if not line or line.startswith(";;;"):
                continue
            word, _, phones = line.partition("  ")
            if not WORD.match(word) or not phones.strip():
                continue
            phonemes = " ".join(re.sub(r"\d", "", p) for p in phones.split())
            (test if fnv1a(word.encode("ascii")) % 10 == 0 else train).append(word + "\t" + phonemes)
    for name, rows in (("train.tsv", train), ("test.tsv", test)):
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(rows) + "\n")
        os.replace(tmp, os.path.join(outdir, name))
    print("%s: %d training and %d test words -> %s" % (source, len(train), len(test), outdir))


if __name__ == "__main__":
    main()
