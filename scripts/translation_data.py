#!/usr/bin/env python3
"""English-French pairs from the message catalogues Debian installs
(/usr/share/locale/fr/LC_MESSAGES/*.mo: program messages, and with iso-codes the names of
countries, regions, languages and currencies), for lstm seq2seq train: OUTDIR/train.tsv and
OUTDIR/test.tsv, lines "english tokens<TAB>french tokens".

    python3 scripts/translation_data.py /usr/share/locale/fr/LC_MESSAGES build/translation

The catalogues are GPL or LGPL (each package's copyright file says which): they are read where
Debian put them, at run time, and nothing made from them is committed. The rule, stated so that
every run and the PyTorch twin see the same data:
  - every message with a translation, read by Python's gettext module: not the header, not
    plural forms (a .mo file holds no fuzzy entry), its context (msgctxt) dropped;
  - one line on each side (no newline or tab), and English with at least one letter;
  - tokens: format directives kept whole (%s, %d, %-10s, %1$s, %(name)s, {0}, {name}),
    runs of letters and digits, and every other character alone (punctuation); the pair
    written as its tokens joined by single spaces, so that BLEU counts the same tokens lstm
    and the twin see;
  - 1 to 12 tokens on each side;
  - each English message once (the first catalogue in file-name order wins);
  - a fixed random 90/10 split by message: a message is a test message when the FNV-1a hash
    of its English text is 0 modulo 10, so the split depends on nothing but the message.
Standard library only; any python3 runs it.
"""
import gettext
import os
import re
import sys

DIRECTIVE = r"%(?:\d+\$)?[-+ #0']*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcspn%]" \
            r"|%\([A-Za-z_]\w*\)[sdif]|\{[A-Za-z_0-9]*\}"
TOKEN = re.compile(DIRECTIVE + r"|\w+|[^\w\s]")
MAX_TOKENS = 12


def fnv1a(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def tokens(text):
    return TOKEN.findall(text)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: translation_data.py LC_MESSAGES_DIR OUTDIR")
    source, outdir = sys.argv[1], sys.argv[2]
    names = sorted(n for n in os.listdir(source) if n.endswith(".mo"))
    if not names:
        sys.exit("%s holds no .mo catalogue: install some French translations "
                 "(scripts/install-deps.sh translation installs iso-codes and libc-l10n)" % source)
    seen, train, test, catalogues = set(), [], [], 0
    for name in names:
        try:
            with open(os.path.join(source, name), "rb") as f:
                catalogue = gettext.GNUTranslations(f)
        except (OSError, UnicodeDecodeError, ValueError, KeyError) as e:  # a damaged catalogue
            print("skipping %s: %s" % (name, e), file=sys.stderr)
            continue
        catalogues += 1
        for key, french in catalogue._catalog.items():
            if not isinstance(key, str) or not key or not french:  # plural entries are tuples
                continue
            english = key.split("\x04", 1)[-1]  # drop msgctxt
            if any(c in english or c in french for c in "\n\r\t") or not re.search(r"[A-Za-z]", english):
                continue
            en, fr = tokens(english), tokens(french)
            if not (1 <= len(en) <= MAX_TOKENS and 1 <= len(fr) <= MAX_TOKENS):
                continue
            en_text, fr_text = " ".join(en), " ".join(fr)
            if en_text in seen:
                continue
            seen.add(en_text)
            line = en_text + "\t" + fr_text
            (test if fnv1a(en_text.encode("utf-8")) % 10 == 0 else train).append(line)
    os.makedirs(outdir, exist_ok=True)
    for name, rows in (("train.tsv", train), ("test.tsv", test)):
        tmp = os.path.join(outdir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(rows) + "\n")
        os.replace(tmp, os.path.join(outdir, name))
    print("%s: %d catalogues, %d training and %d test pairs -> %s" % (source, catalogues, len(train), len(test), outdir))


if __name__ == "__main__":
    main()
