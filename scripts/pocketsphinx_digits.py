#!/usr/bin/python3
"""The classic anchor of issue 16: Debian's pocketsphinx (CMU Sphinx, a GMM-HMM recogniser) with
its US English acoustic model and a digits grammar, on the same recordings as lstm speech
evaluate; prints the same word and character error rates.

    scripts/install-deps.sh speech-anchors          # pocketsphinx, pocketsphinx-en-us, sox
    /usr/bin/python3 scripts/pocketsphinx_digits.py DATA/real-digits.tsv [DATA/real-strings.tsv ...]

How it is run, the best of the set-ups tried (docs/speech.md has the others): each recording
resampled to the model's 16 kHz with sox (the acoustic model's filterbank reaches 6.8 kHz, so
8 kHz audio cannot be fed to it as it is), decoded whole by pocketsphinx_batch (no voice activity
splitting, which cut strings into pieces) with the JSGF grammar <digit>+ over the ten words
zero..nine and their pronunciations from the model's own CMUdict, and a word insertion penalty
(-wip) of 3e-3 instead of its default 0.65: with the default, strings of digits came out with
extra digits (word error rate 0.81 on real-strings); 3e-3 was the best of 0.1, 0.01, 3e-3, 1e-3,
3e-4, 1e-4 and 1e-5 on real-strings itself (0.41), so the anchor is tuned on the test, in its
favour. Change it with --wip X.
"""
import os
import re
import subprocess
import sys
import tempfile

from edit_distance import edit_distance

MODEL = "/usr/share/pocketsphinx/model/en-us"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def main():
    args = sys.argv[1:]
    wip = "3e-3"
    if len(args) >= 2 and args[0] == "--wip":
        wip, args = args[1], args[2:]
    if not args:
        sys.exit(__doc__)
    for tool in ("pocketsphinx_batch", "sox"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            sys.exit(f"{tool} is missing: run scripts/install-deps.sh speech-anchors")
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "digits.gram"), "w") as f:
            f.write("#JSGF V1.0;\ngrammar digits;\npublic <digits> = <digit>+;\n<digit> = " + " | ".join(WORDS) + ";\n")
        with open(os.path.join(MODEL, "cmudict-en-us.dict")) as f, open(os.path.join(tmp, "digits.dic"), "w") as out:
            for line in f:
                if line.split(" ", 1)[0] in WORDS:
                    out.write(line)
        for tsv in args:
            base = os.path.dirname(os.path.abspath(tsv))
            rows = []
            with open(tsv) as f:
                for k, line in enumerate(l for l in f if l.strip()):
                    path, text = line.rstrip("\n").split("\t")
                    name = f"u{k:05d}"
                    subprocess.run(["sox", "-R", os.path.join(base, path), "-r", "16000", "-b", "16", "-c", "1",
                                    os.path.join(tmp, name + ".wav")], check=True)
                    rows.append((name, path, " ".join(text.lower().split())))
            with open(os.path.join(tmp, "ctl"), "w") as f:
                f.write("".join(r[0] + "\n" for r in rows))
            hyp = os.path.join(tmp, "hyp.txt")
            subprocess.run(["pocketsphinx_batch", "-ctl", os.path.join(tmp, "ctl"), "-adcin", "yes", "-cepdir", tmp,
                            "-cepext", ".wav", "-hyp", hyp, "-jsgf", os.path.join(tmp, "digits.gram"), "-dict",
                            os.path.join(tmp, "digits.dic"), "-hmm", os.path.join(MODEL, "en-us"), "-wip", wip],
                           check=True, capture_output=True)
            found = {}
            with open(hyp) as f:
                for line in f:
                    m = re.match(r"(.*)\((\S+) [-0-9]+\)\s*$", line)
                    if m:
                        found[m.group(2)] = " ".join(m.group(1).split())
            we = wn = ce = cn = right = 0
            for name, path, ref in rows:
                h = found.get(name, "")
                we += edit_distance(ref.split(), h.split())
                wn += len(ref.split())
                ce += edit_distance(list(ref), list(h))
                cn += len(ref)
                right += h == ref
            print(f"pocketsphinx (wip {wip}) {os.path.basename(tsv)}: {len(rows)} recordings, word error rate {we / wn:.4f}, "
                  f"character error rate {ce / cn:.4f}, sentences right {right / len(rows):.4f}", flush=True)


if __name__ == "__main__":
    main()
